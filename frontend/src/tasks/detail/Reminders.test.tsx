import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { json, makeTask } from "../../test/fixtures";
import Reminders, { type Reminder } from "./Reminders";
import { renderWithClient, routeFetch } from "./testing";

function reminder(overrides: Partial<Reminder>): Reminder {
  return {
    id: "r1",
    task_id: makeTask().id,
    at: null,
    offset_minutes: null,
    fire_at: null,
    fired_at: null,
    outcome: null,
    created_at: "2026-11-20T10:00:00Z",
    ...overrides,
  };
}

describe("Reminders", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("lists reminders and adds one some minutes before the due", async () => {
    const task = makeTask({ due: "2026-12-01T16:00:00Z" });
    let items = [
      reminder({ id: "r1", at: "2026-11-30T08:00:00Z", fire_at: "2026-11-30T08:00:00Z" }),
    ];
    const { calls } = routeFetch([
      ["GET", /\/reminders$/, () => json({ items, next_cursor: null })],
      [
        "POST",
        /\/reminders$/,
        async (request) => {
          const body = (await request.json()) as { offset_minutes: number };
          const created = reminder({
            id: "r2",
            offset_minutes: body.offset_minutes,
            fire_at: "2026-12-01T15:00:00Z",
          });
          items = [...items, created];
          return json(created, 201);
        },
      ],
    ]);
    renderWithClient(<Reminders task={task} timeZone="Europe/Berlin" />);
    const list = await screen.findByRole("list", { name: "Reminders" });
    expect(within(list).getByText(/At Mon, 30 Nov 2026, 09:00/)).toBeInTheDocument();
    await userEvent.selectOptions(screen.getByLabelText("How long before the due"), "60");
    await userEvent.click(screen.getByRole("button", { name: "Add reminder" }));
    expect(await within(list).findByText(/1 h before due/)).toBeInTheDocument();
    const post = calls.find((call) => call.method === "POST")!;
    expect(await post.json()).toEqual({ offset_minutes: 60 });
  });

  it("offers only an absolute time when the task has no due", async () => {
    const task = makeTask({ due: null });
    const { calls } = routeFetch([
      ["GET", /\/reminders$/, () => json({ items: [], next_cursor: null })],
      ["POST", /\/reminders$/, async () => json(reminder({ at: "2026-12-02T07:30:00Z" }), 201)],
    ]);
    renderWithClient(<Reminders task={task} timeZone="Europe/Berlin" />);
    expect(await screen.findByText("No reminders.")).toBeInTheDocument();
    expect(screen.getByRole("radio", { name: "Before the due" })).toBeDisabled();
    expect(screen.getByText("Set a due date to be reminded before it.")).toBeInTheDocument();
    const day = screen.getByLabelText("Reminder date");
    await userEvent.clear(day);
    await userEvent.type(day, "2026-12-02");
    const time = screen.getByLabelText("Reminder time");
    await userEvent.clear(time);
    await userEvent.type(time, "08:30");
    await userEvent.click(screen.getByRole("button", { name: "Add reminder" }));
    await waitFor(() => expect(calls.some((call) => call.method === "POST")).toBe(true));
    const post = calls.find((call) => call.method === "POST")!;
    // 08:30 in Berlin is 07:30 UTC.
    expect(await post.json()).toEqual({ at: "2026-12-02T08:30:00+01:00" });
  });

  it("deletes a reminder and shows a refusal next to the form", async () => {
    const task = makeTask({ due: "2026-12-01" });
    let items = [reminder({ id: "r1", offset_minutes: 0 })];
    routeFetch([
      ["GET", /\/reminders$/, () => json({ items, next_cursor: null })],
      [
        "DELETE",
        /\/reminders\/r1$/,
        () => {
          items = [];
          return new Response(null, { status: 204 });
        },
      ],
      [
        "POST",
        /\/reminders$/,
        () =>
          json(
            {
              title: "Unprocessable",
              status: 422,
              detail: "the request is not valid",
              errors: [{ loc: ["body", "offset_minutes"], msg: "a task has at most 20 reminders" }],
            },
            422,
            "application/problem+json",
          ),
      ],
    ]);
    renderWithClient(<Reminders task={task} timeZone="Europe/Berlin" />);
    await userEvent.click(
      await screen.findByRole("button", { name: "Delete reminder: At the due time" }),
    );
    expect(await screen.findByText("No reminders.")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Add reminder" }));
    const error = await screen.findByText("a task has at most 20 reminders");
    expect(screen.getByLabelText("How long before the due")).toHaveAttribute(
      "aria-describedby",
      error.id,
    );
  });
});
