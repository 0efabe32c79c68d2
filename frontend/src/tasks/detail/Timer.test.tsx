import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { json, makeTask } from "../../test/fixtures";
import Timer, { type TimeLog } from "./Timer";
import { renderWithClient, routeFetch } from "./testing";

const ME = "0193a000-0000-7000-8000-0000000000bb";
const A = makeTask({ id: "0193a000-0000-7000-8000-00000000000a", title: "Write report" });
const B = makeTask({ id: "0193a000-0000-7000-8000-00000000000b", title: "Read mail" });

function log(overrides: Partial<TimeLog>): TimeLog {
  return {
    id: "l1",
    task_id: A.id,
    user_id: ME,
    started_at: "2026-11-29T08:00:00Z",
    stopped_at: "2026-11-29T08:45:00Z",
    duration_seconds: 2700,
    note: "",
    ...overrides,
  };
}

const me = () => json({ id: ME, timezone: "Europe/Berlin" });

describe("Timer", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("lists time logs with their total and ticks while running", async () => {
    const startedAt = new Date(Date.now() - 65_000).toISOString();
    routeFetch([
      ["GET", /^\/me$/, me],
      [
        "GET",
        /\/time-logs/,
        () =>
          json({
            items: [
              log({ id: "l1" }),
              log({ id: "l2", started_at: startedAt, stopped_at: null, duration_seconds: null }),
            ],
            next_cursor: null,
          }),
      ],
    ]);
    renderWithClient(<Timer task={A} timeZone="Europe/Berlin" />);
    expect(await screen.findByRole("button", { name: "Stop timer" })).toBeInTheDocument();
    const clock = screen.getByRole("timer", { name: "Running time" });
    expect(clock).toHaveTextContent(/^0:01:0[56]$/);
    await waitFor(() => expect(clock).toHaveTextContent(/^0:01:0[78]$/), { timeout: 2500 });
    expect(screen.getByRole("list", { name: "Time logs" })).toHaveTextContent(
      "Sun, 29 Nov 2026, 09:00–09:4545 min",
    );
    expect(screen.getByText(/^46 min$/)).toBeInTheDocument();
  });

  it("says which timer a start stopped elsewhere", async () => {
    let running: TimeLog | null = log({
      id: "la",
      stopped_at: null,
      duration_seconds: null,
      started_at: new Date().toISOString(),
    });
    const { calls } = routeFetch([
      ["GET", /^\/me$/, me],
      [
        "GET",
        /\/tasks\/([^/]+)\/time-logs/,
        (_request, match) =>
          json({
            items: running && running.task_id === match[1] ? [running] : [],
            next_cursor: null,
          }),
      ],
      [
        "POST",
        /\/tasks\/([^/]+)\/timer\/start$/,
        (_request, match) => {
          running = log({
            id: "lb",
            task_id: match[1],
            stopped_at: null,
            duration_seconds: null,
            started_at: new Date().toISOString(),
          });
          return json(running, 201);
        },
      ],
    ]);
    renderWithClient(
      <>
        <Timer task={A} timeZone="Europe/Berlin" />
        <Timer task={B} timeZone="Europe/Berlin" />
      </>,
    );
    await screen.findByRole("button", { name: "Stop timer" });
    await userEvent.click(screen.getByRole("button", { name: "Start timer" }));
    expect(await screen.findByRole("status")).toHaveTextContent(
      "Your timer on “Write report” was stopped",
    );
    expect(calls.filter((call) => call.method === "POST").map((call) => call.url)).toEqual([
      expect.stringMatching(/\/tasks\/0193a000-0000-7000-8000-00000000000b\/timer\/start$/),
    ]);
    // Task A's panel reloads its logs and no longer shows a running timer.
    await waitFor(() =>
      expect(screen.getAllByRole("button", { name: "Start timer" })).toHaveLength(1),
    );
    expect(screen.getAllByRole("button", { name: "Stop timer" })).toHaveLength(1);
  });

  it("explains a 409 on stop (the timer had already stopped)", async () => {
    let stopped = false;
    routeFetch([
      ["GET", /^\/me$/, me],
      [
        "GET",
        /\/time-logs/,
        () =>
          json({
            items: [log(stopped ? {} : { stopped_at: null, duration_seconds: null })],
            next_cursor: null,
          }),
      ],
      [
        "POST",
        /\/timer\/stop$/,
        () => {
          stopped = true;
          return json(
            { title: "Conflict", status: 409, detail: "you have no running timer on this task" },
            409,
            "application/problem+json",
          );
        },
      ],
    ]);
    renderWithClient(<Timer task={A} timeZone="Europe/Berlin" />);
    await userEvent.click(await screen.findByRole("button", { name: "Stop timer" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("This timer had already stopped");
    expect(await screen.findByRole("button", { name: "Start timer" })).toBeInTheDocument();
  });
});
