import { describe, expect, it } from "vitest";
import { describeActor, describeEntry, type HistoryEntry } from "./historyText";

function entry(type: string, data: Record<string, unknown>): HistoryEntry {
  return {
    specversion: "1.0",
    id: "e1",
    type,
    source: "haven",
    subject: "tasks/t1",
    time: "2026-11-29T09:00:00Z",
    haven_actor: "users/u1",
    haven_version: 2,
    haven_position: 1,
    data,
  };
}

const ctx = {
  timeZone: "Europe/Berlin",
  taskTitle: (id: string) => (id === "b1" ? "Buy paint" : undefined),
};
const updated = (changes: Record<string, [unknown, unknown]>) =>
  describeEntry(entry("haven.task.updated", { task: {}, changes }), ctx);

describe("describeEntry", () => {
  it("reads field changes", () => {
    expect(updated({ priority: ["low", "high"] })).toEqual(["Priority changed from low to high"]);
    expect(updated({ status: ["todo", "in_progress"] })).toEqual([
      "Status changed from To do to In progress",
    ]);
    expect(updated({ title: ["a", "b"] })).toEqual(["Renamed from “a” to “b”"]);
    expect(updated({ progress: [0, 50] })).toEqual(["Progress changed from 0% to 50%"]);
    expect(updated({ due: [null, "2026-12-01"] })).toEqual(["Due date set to Tue, 1 Dec 2026"]);
    expect(updated({ due: ["2026-12-01", "2026-12-01T16:00:00Z"] })).toEqual([
      "Due date changed from Tue, 1 Dec 2026 to Tue, 1 Dec 2026, 17:00",
    ]);
    expect(updated({ due: ["2026-12-01", null] })).toEqual(["Due date removed"]);
    expect(updated({ tags: [["home"], ["work", "urgent"]] })).toEqual([
      "Tags “work”, “urgent” added, tag “home” removed",
    ]);
    expect(updated({ recurrence: [null, { rule: "FREQ=WEEKLY;BYDAY=MO", mode: "due" }] })).toEqual([
      "Repeat set to Every week on Monday",
    ]);
    expect(updated({ recurrence: [{ rule: "FREQ=DAILY" }, null] })).toEqual(["Stopped repeating"]);
    expect(
      updated({
        recurrence: [
          { rule: "FREQ=DAILY", mode: "due" },
          { rule: "FREQ=DAILY", mode: "completion" },
        ],
      }),
    ).toEqual(["Repeat now counts from completion"]);
    expect(updated({ description: ["", "notes"], version: [1, 2] })).toEqual(["Description added"]);
    expect(updated({ completed_at: [null, "2026-11-29T09:00:00Z"] })).toEqual(["Edited"]);
  });

  it("reads the other events", () => {
    expect(describeEntry(entry("haven.task.created", { task: {} }), ctx)).toEqual(["Created"]);
    expect(describeEntry(entry("haven.task.completed", { next_id: null }), ctx)).toEqual([
      "Completed",
    ]);
    expect(describeEntry(entry("haven.task.completed", { next_id: "t2" }), ctx)).toEqual([
      "Completed; the next occurrence was created",
    ]);
    expect(
      describeEntry(entry("haven.task.dependency_added", { depends_on_id: "b1" }), ctx),
    ).toEqual(["Now blocked by “Buy paint”"]);
    expect(
      describeEntry(entry("haven.task.dependency_removed", { depends_on_id: "x" }), ctx),
    ).toEqual(["No longer blocked by another task"]);
    expect(
      describeEntry(entry("haven.timer.stopped", { time_log: { duration_seconds: 2700 } }), ctx),
    ).toEqual(["Tracked 45 min"]);
    expect(
      describeEntry(
        entry("haven.reminder.created", { reminder: { offset_minutes: 15, at: null } }),
        ctx,
      ),
    ).toEqual(["Reminder added: 15 min before due"]);
    expect(describeEntry(entry("haven.task.deleted", {}), ctx)).toEqual(["Moved to the trash"]);
    expect(describeEntry(entry("haven.task.archived_forever", {}), ctx)).toEqual([
      "Archived forever",
    ]);
  });

  it("names who did it", () => {
    const names = new Map([["u2", "Ada"]]);
    expect(describeActor("users/u1", "u1", names)).toBe("You");
    expect(describeActor("users/u2", "u1", names)).toBe("Ada");
    expect(describeActor("users/u3", "u1", names)).toBe("Someone");
    expect(describeActor("system/recurrence", "u1", names)).toBe("Haven");
  });
});
