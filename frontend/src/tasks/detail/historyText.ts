/** A task's events (CloudEvents from GET /tasks/{id}/history) as sentences a person reads:
 * "Priority changed from low to high", "Completed", "Tracked 45 min". */
import type { components } from "../../api/schema";
import { PRIORITY_LABEL, STATUS_LABEL, type Priority, type Status } from "../../api/types";
import { isDateOnly } from "../../lib/dates";
import { describeOffset, formatDuration, formatInstant } from "./format";
import { rruleToText } from "./rruleText";

export type HistoryEntry = components["schemas"]["HistoryEntry"];

export interface Context {
  timeZone: string;
  /** A task's title by id, when known (for dependency events). */
  taskTitle?: (id: string) => string | undefined;
}

type Value = unknown;

function str(value: Value): string {
  return typeof value === "string" ? value : "";
}

function formatWhen(value: Value, timeZone: string): string {
  const text = str(value);
  if (!text) return "";
  if (isDateOnly(text)) {
    return new Intl.DateTimeFormat("en-GB", {
      timeZone: "UTC",
      weekday: "short",
      day: "numeric",
      month: "short",
      year: "numeric",
    }).format(new Date(`${text}T12:00:00Z`));
  }
  return formatInstant(text, timeZone);
}

function statusName(value: Value): string {
  return STATUS_LABEL[value as Status] ?? str(value);
}

function priorityName(value: Value): string {
  return (PRIORITY_LABEL[value as Priority] ?? str(value)).toLowerCase();
}

function quoteList(names: string[]): string {
  return names.map((name) => `“${name}”`).join(", ");
}

function recurrenceText(value: Value): string | null {
  if (!value || typeof value !== "object") return null;
  const rule = str((value as { rule?: unknown }).rule);
  return rule ? (rruleToText(rule) ?? rule) : null;
}

/** One changed field as a sentence, or null for bookkeeping fields nobody needs to read. */
export function describeChange(
  field: string,
  before: Value,
  after: Value,
  ctx: Context,
): string | null {
  switch (field) {
    case "title":
      return `Renamed from “${str(before)}” to “${str(after)}”`;
    case "status":
      return `Status changed from ${statusName(before)} to ${statusName(after)}`;
    case "priority":
      return `Priority changed from ${priorityName(before)} to ${priorityName(after)}`;
    case "progress":
      return `Progress changed from ${Number(before)}% to ${Number(after)}%`;
    case "description":
      if (!before) return "Description added";
      if (!after) return "Description removed";
      return "Description edited";
    case "due":
    case "start": {
      const name = field === "due" ? "Due date" : "Start date";
      if (!after) return `${name} removed`;
      if (!before) return `${name} set to ${formatWhen(after, ctx.timeZone)}`;
      return `${name} changed from ${formatWhen(before, ctx.timeZone)} to ${formatWhen(after, ctx.timeZone)}`;
    }
    case "tags": {
      const old = Array.isArray(before) ? before.map(String) : [];
      const now = Array.isArray(after) ? after.map(String) : [];
      const added = now.filter((tag) => !old.includes(tag));
      const removed = old.filter((tag) => !now.includes(tag));
      const parts = [];
      if (added.length)
        parts.push(`${added.length > 1 ? "Tags" : "Tag"} ${quoteList(added)} added`);
      if (removed.length) {
        parts.push(`${removed.length > 1 ? "tags" : "tag"} ${quoteList(removed)} removed`);
      }
      const sentence = parts.join(", ");
      return sentence ? sentence.charAt(0).toUpperCase() + sentence.slice(1) : null;
    }
    case "project_id":
      if (!after) return "Moved out of its project";
      return before ? "Moved to another project" : "Moved to a project";
    case "parent_id":
      if (!after) return "No longer a subtask";
      return before ? "Moved under another task" : "Made a subtask";
    case "assignee_id":
      if (!after) return "Unassigned";
      return before ? "Reassigned" : "Assigned";
    case "estimate_minutes":
      if (after === null || after === undefined) return "Estimate removed";
      return `Estimate set to ${formatDuration(Number(after) * 60)}`;
    case "recurrence": {
      const text = recurrenceText(after);
      if (!text) return "Stopped repeating";
      const mode = (value: Value) => (value as { mode?: unknown } | null)?.mode;
      if (recurrenceText(before) === text && mode(before) !== mode(after)) {
        return mode(after) === "completion"
          ? "Repeat now counts from completion"
          : "Repeat now counts from the due date";
      }
      return `Repeat set to ${text}`;
    }
    default:
      return null;
  }
}

function changes(data: Record<string, unknown>, ctx: Context): string[] {
  const all = data.changes;
  if (!all || typeof all !== "object") return [];
  const out: string[] = [];
  for (const [field, pair] of Object.entries(all as Record<string, unknown>)) {
    if (!Array.isArray(pair)) continue;
    const sentence = describeChange(field, pair[0], pair[1], ctx);
    if (sentence) out.push(sentence);
  }
  return out;
}

function blockerName(id: Value, ctx: Context): string {
  const title = ctx.taskTitle?.(str(id));
  return title ? `“${title}”` : "another task";
}

/** The sentences for one event (at least one). */
export function describeEntry(entry: HistoryEntry, ctx: Context): string[] {
  const data = entry.data;
  switch (entry.type) {
    case "haven.task.created":
      return [data.previous_id ? "Created as the next occurrence of the series" : "Created"];
    case "haven.task.updated": {
      const lines = changes(data, ctx);
      return lines.length ? lines : ["Edited"];
    }
    case "haven.task.completed":
      return [data.next_id ? "Completed; the next occurrence was created" : "Completed"];
    case "haven.task.reopened":
      return ["Reopened"];
    case "haven.task.skipped":
      return ["Skipped this occurrence"];
    case "haven.task.deleted":
      return ["Moved to the trash"];
    case "haven.task.restored":
      return ["Restored from the trash"];
    case "haven.task.dependency_added":
      return [`Now blocked by ${blockerName(data.depends_on_id, ctx)}`];
    case "haven.task.dependency_removed":
      return [`No longer blocked by ${blockerName(data.depends_on_id, ctx)}`];
    case "haven.timer.started":
      return ["Timer started"];
    case "haven.timer.stopped": {
      const log = data.time_log as { duration_seconds?: unknown } | undefined;
      const seconds = Number(log?.duration_seconds);
      return [Number.isFinite(seconds) ? `Tracked ${formatDuration(seconds)}` : "Timer stopped"];
    }
    case "haven.reminder.created": {
      const reminder = data.reminder as { at?: unknown; offset_minutes?: unknown } | undefined;
      if (typeof reminder?.offset_minutes === "number") {
        const when = describeOffset(reminder.offset_minutes);
        return [
          `Reminder added: ${reminder.offset_minutes === 0 ? when.toLowerCase() : `${when} due`}`,
        ];
      }
      if (reminder?.at)
        return [`Reminder added for ${formatInstant(str(reminder.at), ctx.timeZone)}`];
      return ["Reminder added"];
    }
    case "haven.reminder.deleted":
      return ["Reminder removed"];
    case "haven.reminder.due":
      return ["Reminder sent"];
    default: {
      // haven.<entity>.<what> -> "What (entity)" for anything newer than this list.
      const [, entity = "", what = entry.type] = entry.type.split(".");
      const words = what.replace(/_/g, " ");
      return [
        `${words[0]?.toUpperCase() ?? ""}${words.slice(1)}${entity && entity !== "task" ? ` (${entity})` : ""}`,
      ];
    }
  }
}

/** Who did it: "You", a member's name, "Haven" for the system, else "Someone". */
export function describeActor(
  actor: string,
  meId: string | undefined,
  names: Map<string, string>,
): string {
  const [kind, id = ""] = actor.split("/");
  if (kind === "users") {
    if (id === meId) return "You";
    return names.get(id) ?? "Someone";
  }
  if (kind === "system") return "Haven";
  return "Someone";
}
