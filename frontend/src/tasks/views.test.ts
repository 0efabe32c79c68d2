import { describe, expect, it } from "vitest";
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

  it("Overdue asks for a timed due that passed, or a whole day before today", () => {
    const overdue = listSpec({ kind: "view", view: "overdue" }, context);
    expect(overdue.query).toMatchObject({
      due_before: "2026-11-24T23:30:00.000Z",
      whole_day_due_before: "2026-11-25T00:00:00+01:00",
    });
    // The API says it all: the list and its count (GET /tasks/count) are of the same tasks.
    expect(overdue.keep).toBeUndefined();
  });

  it("a saved search lists its query in its workspace", () => {
    const search = {
      id: "s1",
      workspace_id: "w2",
      user_id: "u",
      name: "Paint",
      query: { q: "paint", project_id: "p1" },
      created_at: "",
      updated_at: "",
      version: 3,
    };
    expect(listSpec({ kind: "search", search }, context)).toMatchObject({
      key: "search:s1:3",
      title: "Paint",
      query: { q: "paint", project_id: "p1", workspace_id: "w2" },
      defaults: { workspace_id: "w2", project_id: "p1" },
    });
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
