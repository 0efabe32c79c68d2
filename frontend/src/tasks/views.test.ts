import { describe, expect, it } from "vitest";
import { makeTask } from "../test/fixtures";
import { listSpec } from "./views";

// 23:30 UTC on Tuesday 24 November is already Wednesday the 25th in Berlin.
const now = new Date("2026-11-24T23:30:00Z");
const context = { workspaceId: "ws", timeZone: "Europe/Berlin", now };

describe("listSpec", () => {
  it("Today is everything open due before tomorrow starts in the user's zone", () => {
    const today = listSpec({ kind: "view", view: "today" }, context);
    expect(today.query).toMatchObject({
      workspace_id: "ws",
      status: ["todo", "in_progress", "blocked"],
      parent_id: "none",
      due_before: "2026-11-26T00:00:00+01:00",
    });
    expect(today.defaults).toEqual({ workspace_id: "ws", due: "2026-11-25" });
  });

  it("Upcoming starts tomorrow", () => {
    expect(listSpec({ kind: "view", view: "upcoming" }, context).query.due_after).toBe(
      "2026-11-26T00:00:00+01:00",
    );
  });

  it("Overdue keeps a timed due that passed but not a date-only due of today", () => {
    const overdue = listSpec({ kind: "view", view: "overdue" }, context);
    const keep = overdue.keep!;
    expect(keep(makeTask({ due: "2026-11-24T20:00:00Z" }), now, "Europe/Berlin")).toBe(true);
    expect(keep(makeTask({ due: "2026-11-25" }), now, "Europe/Berlin")).toBe(false);
    expect(keep(makeTask({ due: "2026-11-24" }), now, "Europe/Berlin")).toBe(true);
  });

  it("a project or tag list files quick-added tasks there", () => {
    expect(listSpec({ kind: "project", projectId: "p1" }, context).defaults).toEqual({
      workspace_id: "ws",
      project_id: "p1",
    });
    expect(listSpec({ kind: "tag", tag: "home" }, context)).toMatchObject({
      title: "#home",
      query: { tag: "home" },
      defaults: { tags: ["home"] },
    });
  });
});
