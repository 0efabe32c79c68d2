import type { components } from "./schema";

type Schemas = components["schemas"];

export type Task = Schemas["TaskOut"];
export type TaskUpdate = Schemas["TaskUpdate"];
export type TaskCreate = Schemas["TaskCreate"];
export type Project = Schemas["ProjectOut"];
export type Tag = Schemas["TagOut"];
export type SavedSearch = Schemas["SavedSearchOut"];
export type SavedSearchQuery = Schemas["SavedSearchQuery"];
export type Workspace = Schemas["WorkspaceRead"];
export type User = Schemas["UserRead"];
export type Status = Task["status"];
export type Priority = Task["priority"];

/** The sign-in answer; with `?transport=cookie` its refresh_token is null (the token is the
 * HttpOnly haven_refresh cookie). */
export type AuthResponse = Schemas["AuthResponse"];

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

export const STATUSES: readonly Status[] = ["todo", "in_progress", "blocked", "done", "cancelled"];
export const PRIORITIES: readonly Priority[] = ["none", "low", "medium", "high", "urgent"];
export const OPEN_STATUSES: readonly Status[] = ["todo", "in_progress", "blocked"];

export const STATUS_LABEL: Record<Status, string> = {
  todo: "To do",
  in_progress: "In progress",
  blocked: "Blocked",
  done: "Done",
  cancelled: "Cancelled",
};

export const PRIORITY_LABEL: Record<Priority, string> = {
  none: "No priority",
  low: "Low",
  medium: "Medium",
  high: "High",
  urgent: "Urgent",
};
