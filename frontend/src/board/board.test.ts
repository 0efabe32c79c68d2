import type { SensorContext } from "@dnd-kit/core";
import { describe, expect, it } from "vitest";
import { makeTask } from "../test/fixtures";
import { announcements, columnCoordinates, groupByStatus, moveTask, nextColumn } from "./board";

const a = makeTask({ id: "a", title: "Dig", status: "todo" });
const b = makeTask({ id: "b", title: "Plant", status: "in_progress" });
const c = makeTask({ id: "c", title: "Water", status: "todo" });

describe("board logic", () => {
  it("groups tasks into one column per API status, keeping their order", () => {
    const columns = groupByStatus([a, b, c]);
    expect(Object.keys(columns)).toEqual(["todo", "in_progress", "blocked", "done", "cancelled"]);
    expect(columns.todo.map((t) => t.id)).toEqual(["a", "c"]);
    expect(columns.in_progress.map((t) => t.id)).toEqual(["b"]);
    expect(columns.done).toEqual([]);
  });

  it("moves a card to the top of its new column and leaves a same-column drop alone", () => {
    const moved = moveTask([a, b, c], "c", "in_progress");
    expect(groupByStatus(moved).in_progress.map((t) => t.id)).toEqual(["c", "b"]);
    expect(moved.find((t) => t.id === "c")?.status).toBe("in_progress");
    const same = [a, b, c];
    expect(moveTask(same, "a", "todo")).toBe(same);
  });

  it("moves a keyboard drag a whole column per arrow key, and stops at the edges", () => {
    expect(nextColumn("todo", "ArrowRight")).toBe("in_progress");
    expect(nextColumn("in_progress", "ArrowLeft")).toBe("todo");
    expect(nextColumn("todo", "ArrowLeft")).toBeNull();
    expect(nextColumn("cancelled", "ArrowRight")).toBeNull();
    expect(nextColumn("todo", "ArrowDown")).toBeNull();

    const rect = (left: number) => ({
      left,
      top: 10,
      width: 280,
      height: 600,
      right: left + 280,
      bottom: 610,
    });
    const context = {
      over: { id: "todo" },
      active: { data: { current: { status: "todo" } } },
      droppableRects: new Map([
        ["todo", rect(0)],
        ["in_progress", rect(300)],
      ]),
    } as unknown as SensorContext;
    const key = (code: string) => new KeyboardEvent("keydown", { code });
    const args = { active: "a", currentCoordinates: { x: 0, y: 0 }, context };
    expect(columnCoordinates(key("ArrowRight"), args)).toEqual({ x: 308, y: 18 });
    expect(columnCoordinates(key("ArrowLeft"), args)).toBeUndefined();
  });

  it("says in words where the card is while it is dragged", () => {
    const spoken = announcements([a, b]);
    const active = { id: "a", data: { current: { status: "todo" } } } as never;
    expect(spoken.onDragStart({ active })).toMatch(/^Picked up “Dig” in To do\./);
    expect(spoken.onDragOver({ active, over: { id: "blocked" } as never })).toBe(
      "“Dig” is over Blocked.",
    );
    expect(spoken.onDragEnd({ active, over: { id: "done" } as never })).toBe(
      "“Dig” was dropped in Done.",
    );
    expect(spoken.onDragCancel({ active, over: null })).toBe(
      "Moving “Dig” was cancelled; it stays in To do.",
    );
  });
});
