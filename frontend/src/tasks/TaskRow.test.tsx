import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { makeTask } from "../test/fixtures";
import { TaskRow } from "./TaskRow";

const now = new Date("2026-11-25T09:00:00Z");

describe("TaskRow", () => {
  it("shows due, priority, tags and repeat in words a person (and a screen reader) reads", () => {
    const task = makeTask({
      due: "2026-11-22",
      priority: "urgent",
      tags: ["home"],
      recurrence: { rule: "FREQ=WEEKLY", mode: "due", text: "every week" },
    });
    render(
      <TaskRow
        task={task}
        selected={false}
        now={now}
        timeZone="Europe/Berlin"
        onComplete={vi.fn()}
        onOpen={vi.fn()}
        onSelect={vi.fn()}
      />,
    );
    expect(screen.getByText("3 days overdue")).toHaveClass("text-red-700");
    expect(screen.getByRole("img", { name: "Urgent priority" })).toBeInTheDocument();
    expect(screen.getByRole("img", { name: "Repeats every week" })).toBeInTheDocument();
    expect(screen.getByText("#home")).toBeInTheDocument();
  });

  it("shows how many of its subtasks are done, and nothing without subtasks", () => {
    const props = {
      selected: false,
      now,
      timeZone: "UTC",
      onComplete: vi.fn(),
      onOpen: vi.fn(),
      onSelect: vi.fn(),
    };
    const { rerender } = render(
      <TaskRow task={makeTask({ subtask_count: 5, subtasks_done: 2 })} {...props} />,
    );
    expect(screen.getByRole("img", { name: "2 of 5 subtasks done" })).toHaveTextContent("2/5");
    rerender(<TaskRow task={makeTask()} {...props} />);
    expect(screen.queryByRole("img", { name: /subtasks done/ })).not.toBeInTheDocument();
  });

  it("completes from its checkbox and opens from its title", async () => {
    const task = makeTask();
    const onComplete = vi.fn();
    const onOpen = vi.fn();
    render(
      <TaskRow
        task={task}
        selected={false}
        now={now}
        timeZone="UTC"
        onComplete={onComplete}
        onOpen={onOpen}
        onSelect={vi.fn()}
      />,
    );
    await userEvent.click(screen.getByRole("checkbox", { name: "Complete “Water the plants”" }));
    expect(onComplete).toHaveBeenCalledWith(task);
    await userEvent.click(screen.getByRole("button", { name: "Water the plants" }));
    expect(onOpen).toHaveBeenCalledWith(task);
  });
});
