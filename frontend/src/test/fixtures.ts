import type { Task } from "../api/types";

export function makeTask(overrides: Partial<Task> = {}): Task {
  return {
    id: "0193a000-0000-7000-8000-000000000001",
    workspace_id: "0193a000-0000-7000-8000-0000000000aa",
    project_id: null,
    parent_id: null,
    title: "Water the plants",
    description: "",
    status: "todo",
    priority: "none",
    progress: 0,
    due: null,
    start: null,
    timezone: "Europe/Berlin",
    tags: [],
    depends_on: [],
    assignee_id: null,
    estimate_minutes: null,
    recurrence: null,
    series_id: null,
    occurrence_number: 1,
    completed_at: null,
    deleted_at: null,
    created_by: null,
    created_at: "2026-11-20T10:00:00Z",
    updated_at: "2026-11-20T10:00:00Z",
    version: 1,
    subtask_count: 0,
    subtasks_done: 0,
    ...overrides,
  };
}

export function json(body: unknown, status = 200, type = "application/json"): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}
