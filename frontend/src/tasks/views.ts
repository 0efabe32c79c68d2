import type { operations } from "../api/schema";
import type { SavedSearch, Task, TaskCreate } from "../api/types";
import { OPEN_STATUSES } from "../api/types";
import { addDays, dayInZone, startOfDay } from "../lib/dates";

export type ListQuery = NonNullable<
  operations["list_tasks_api_v1_tasks_get"]["parameters"]["query"]
>;

export type SmartView = "inbox" | "today" | "upcoming" | "overdue";
export const SMART_VIEWS: { id: SmartView; title: string }[] = [
  { id: "inbox", title: "Inbox" },
  { id: "today", title: "Today" },
  { id: "upcoming", title: "Upcoming" },
  { id: "overdue", title: "Overdue" },
];

export type Selection =
  | { kind: "view"; view: SmartView }
  | { kind: "project"; projectId: string; name?: string }
  | { kind: "tag"; tag: string }
  | { kind: "search"; search: SavedSearch };

export interface ListSpec {
  /** Part of the query key: lists with the same key share a cache. */
  key: string;
  title: string;
  query: ListQuery;
  /** What the empty list says to do next. */
  empty: string;
  /** Fields a quick-added task gets in this list. */
  defaults: Partial<TaskCreate>;
  /** A rule the API's filters cannot say exactly (a date-only due today is not overdue). */
  keep?: (task: Task, now: Date, timeZone: string) => boolean;
}

/** What a list shows, as GET /tasks filters, for the user's zone and the present moment. */
export function listSpec(
  selection: Selection,
  { workspaceId, timeZone, now }: { workspaceId?: string; timeZone: string; now: Date },
): ListSpec {
  const today = dayInZone(now, timeZone);
  const base: ListQuery = {
    workspace_id: workspaceId,
    status: [...OPEN_STATUSES],
    parent_id: "none",
  };
  const ws = workspaceId ? { workspace_id: workspaceId } : {};
  if (selection.kind === "project") {
    return {
      key: `project:${selection.projectId}`,
      title: selection.name ?? "Project",
      query: { ...base, project_id: selection.projectId, sort: "due,-priority,created_at" },
      empty: "This project has no open tasks — press q to add one.",
      defaults: { ...ws, project_id: selection.projectId },
    };
  }
  if (selection.kind === "search") {
    const { search } = selection;
    // The API answers unset filters as null; a list query leaves them out.
    const saved = Object.fromEntries(
      Object.entries(search.query).filter(([, value]) => value !== null && value !== undefined),
    ) as ListQuery;
    return {
      key: `search:${search.id}:${search.version}`,
      title: search.name,
      query: { ...saved, workspace_id: search.workspace_id },
      empty: "No tasks match this saved search.",
      defaults: {
        workspace_id: search.workspace_id,
        ...(saved.project_id && saved.project_id !== "none"
          ? { project_id: saved.project_id }
          : {}),
      },
    };
  }
  if (selection.kind === "tag") {
    return {
      key: `tag:${selection.tag}`,
      title: `#${selection.tag}`,
      query: { ...base, tag: selection.tag, sort: "due,-priority,created_at" },
      empty: `No open tasks tagged #${selection.tag} — press q to add one.`,
      defaults: { ...ws, tags: [selection.tag] },
    };
  }
  const tomorrow = startOfDay(addDays(today, 1), timeZone);
  switch (selection.view) {
    case "today":
      return {
        key: `today:${today}`,
        title: "Today",
        query: { ...base, due_before: tomorrow, sort: "due,-priority" },
        empty: "No tasks due today — press q to add one.",
        defaults: { ...ws, due: today },
      };
    case "upcoming":
      return {
        key: `upcoming:${today}`,
        title: "Upcoming",
        query: { ...base, due_after: tomorrow, sort: "due,-priority" },
        empty: "Nothing scheduled after today. Add a task with a date, e.g. “Call mum fri”.",
        defaults: { ...ws, due: addDays(today, 1) },
      };
    case "overdue":
      return {
        key: `overdue:${today}`,
        title: "Overdue",
        // A timed due before now, or a whole day before today (a date-only due of today
        // is not overdue yet): said to the API, so the sidebar's count is of this list.
        query: {
          ...base,
          due_before: now.toISOString(),
          whole_day_due_before: startOfDay(today, timeZone),
          sort: "due,-priority",
        },
        empty: "Nothing overdue. Nicely done.",
        defaults: { ...ws, due: today },
      };
    case "inbox":
      return {
        key: "inbox",
        title: "Inbox",
        // Tasks in no project, newest first: what still needs a home.
        query: { ...base, project_id: "none", sort: "-created_at" },
        empty: "Your inbox is empty — press q to add one.",
        defaults: { ...ws },
      };
  }
}
