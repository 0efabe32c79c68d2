import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Task } from "../../api/types";
import { json, makeTask } from "../../test/fixtures";
import TaskDetail from "../TaskDetail";
import { renderWithClient, routeFetch } from "./testing";

const empty = () => json({ items: [], next_cursor: null });

function setup(task: Task, patch: (body: unknown) => Response) {
  let current = task;
  return routeFetch([
    ["GET", /^\/tasks\/[^/]+$/, () => json(current)],
    [
      "PATCH",
      /^\/tasks\/[^/]+$/,
      async (request) => {
        const answer = patch(await request.json());
        if (answer.ok) current = (await answer.clone().json()) as Task;
        return answer;
      },
    ],
    ["GET", /^\/me$/, () => json({ id: "u1", timezone: "Europe/Berlin" })],
    ["GET", /./, empty],
  ]);
}

function renderDetail(task: Task) {
  return renderWithClient(
    <TaskDetail taskId={task.id} timeZone="Europe/Berlin" onClose={vi.fn()} />,
  );
}

describe("Recurrence", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("saves a preset with If-Match and shows its summary", async () => {
    // 2026-11-30 is a Monday.
    const task = makeTask({ due: "2026-11-30", version: 3 });
    const { calls } = setup(task, () =>
      json(
        makeTask({
          ...task,
          version: 4,
          recurrence: { rule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", mode: "due", text: null },
        }),
      ),
    );
    renderDetail(task);
    await userEvent.selectOptions(await screen.findByLabelText("Repeat"), "biweekly");
    expect(await screen.findByText(/Every 2 weeks on Monday/)).toBeInTheDocument();
    const patch = calls.find((call) => call.method === "PATCH")!;
    expect(patch.headers.get("If-Match")).toBe('"3"');
    expect(await patch.json()).toEqual({
      recurrence: { rule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", mode: "due" },
    });
    expect(screen.getByRole("checkbox", { name: "Monday" })).toBeChecked();
  });

  it("sends weekday choices and the mode", async () => {
    const task = makeTask({
      due: "2026-11-30",
      recurrence: { rule: "FREQ=WEEKLY;BYDAY=MO", mode: "due", text: null },
    });
    const bodies: unknown[] = [];
    setup(task, (body) => {
      bodies.push(body);
      const recurrence = (body as { recurrence: { rule: string; mode: "due" | "completion" } })
        .recurrence;
      return json({
        ...task,
        version: task.version + bodies.length,
        recurrence: { ...recurrence, text: null },
      });
    });
    renderDetail(task);
    expect(await screen.findByText(/Every week on Monday/)).toBeInTheDocument();
    await userEvent.click(screen.getByRole("checkbox", { name: "Thursday" }));
    await screen.findByText(/Every week on Monday and Thursday/);
    await userEvent.click(screen.getByRole("radio", { name: "From completion" }));
    await screen.findByText(/counted from completion/);
    expect(bodies).toEqual([
      { recurrence: { rule: "FREQ=WEEKLY;BYDAY=MO,TH", mode: "due" } },
      { recurrence: { rule: "FREQ=WEEKLY;BYDAY=MO,TH", mode: "completion" } },
    ]);
  });

  it("shows the API's 422 next to the custom rule and keeps the text", async () => {
    const task = makeTask({ due: "2026-11-30" });
    setup(task, () =>
      json(
        {
          title: "Unprocessable",
          status: 422,
          detail: "the request is not valid",
          errors: [
            { loc: ["body", "recurrence", "rule"], msg: "FREQ=MINUTELY is more often than hourly" },
          ],
        },
        422,
        "application/problem+json",
      ),
    );
    renderDetail(task);
    await userEvent.selectOptions(await screen.findByLabelText("Repeat"), "custom");
    const field = screen.getByLabelText("Custom rule");
    await userEvent.type(field, "FREQ=MINUTELY{Enter}");
    const error = await screen.findByText("FREQ=MINUTELY is more often than hourly");
    expect(field).toHaveAttribute("aria-invalid", "true");
    expect(field).toHaveAttribute("aria-describedby", error.id);
    expect(field).toHaveValue("FREQ=MINUTELY");
  });

  it("sends a phrase as text and clears with Does not repeat", async () => {
    const task = makeTask({ due: "2026-11-30" });
    const bodies: unknown[] = [];
    setup(task, (body) => {
      bodies.push(body);
      const recurrence =
        bodies.length === 1
          ? { rule: "FREQ=MONTHLY;BYDAY=2MO", mode: "due", text: "every 2nd monday" }
          : null;
      return json({ ...task, version: task.version + bodies.length, recurrence });
    });
    renderDetail(task);
    await userEvent.selectOptions(await screen.findByLabelText("Repeat"), "custom");
    await userEvent.type(screen.getByLabelText("Custom rule"), "every 2nd monday");
    await userEvent.tab();
    expect(await screen.findByText(/Every month on the 2nd Monday/)).toBeInTheDocument();
    await userEvent.selectOptions(screen.getByLabelText("Repeat"), "none");
    await waitFor(() => expect(bodies).toHaveLength(2));
    expect(bodies).toEqual([
      { recurrence: { text: "every 2nd monday", mode: "due" } },
      { recurrence: null },
    ]);
  });
});
