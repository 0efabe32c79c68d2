import type { components } from "../api/schema";
import type { TaskCreate } from "../api/types";
import { addDays } from "./dates";

type Schemas = components["schemas"];
/** POST /tasks/quick-add: the API is the one home of the quick-add grammar. */
export type QuickAddBody = Schemas["QuickAddIn"];
export type QuickAddPreview = Schemas["QuickAddPreview"];
export type ParsedPart = Schemas["ParsedPart"];
export type PartKind = ParsedPart["kind"];

export const PART_LABEL: Record<PartKind, string> = {
  due: "Due",
  recurrence: "Repeats",
  reminder: "Reminder",
  project: "Project",
  tag: "Tag",
  priority: "Priority",
};

/** The quick-add body for a line typed in a list whose new tasks get `defaults`. */
export function quickAddBody(
  text: string,
  defaults: Partial<TaskCreate>,
  id?: string,
): QuickAddBody {
  const { workspace_id, project_id, tags, due } = defaults;
  return {
    text,
    ...(id ? { id } : {}),
    ...(workspace_id ? { workspace_id } : {}),
    ...(project_id ? { project_id } : {}),
    ...(tags?.length ? { tags } : {}),
    ...(due ? { due } : {}),
  };
}

export interface Segment {
  text: string;
  kind: PartKind | null;
}

/**
 * The line cut into plain text and understood parts. The API's offsets count UTF-16 code
 * units, as JavaScript strings do. A part that is not exactly there (it came from an
 * earlier version of the line, still being typed) or overlaps another is left out.
 */
export function segments(text: string, parsed: readonly ParsedPart[]): Segment[] {
  const result: Segment[] = [];
  let cursor = 0;
  for (const part of [...parsed].sort((a, b) => a.start - b.start)) {
    if (part.start < cursor || text.slice(part.start, part.end) !== part.text) continue;
    if (part.start > cursor) result.push({ text: text.slice(cursor, part.start), kind: null });
    result.push({ text: text.slice(part.start, part.end), kind: part.kind });
    cursor = part.end;
  }
  if (cursor < text.length) result.push({ text: text.slice(cursor), kind: null });
  return result;
}

const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/**
 * A due typed into the task panel's date field: "today", "tomorrow 17:00", "fri 9:30",
 * "2026-12-01 08:00"; null if unknown. A weekday is the next such day after today, as in
 * quick add.
 */
export function parseDuePhrase(text: string, today: string): { day: string; time: string } | null {
  const words = text.trim().toLowerCase().split(/\s+/).filter(Boolean);
  let time = "";
  const last = words[words.length - 1];
  const clock = last ? /^(\d{1,2})(?::(\d{2}))?(am|pm)?$/.exec(last) : null;
  if (clock && words.length > 1) {
    let hour = Number(clock[1]);
    const minute = Number(clock[2] ?? "0");
    if (clock[3] === "pm" && hour < 12) hour += 12;
    if (clock[3] === "am" && hour === 12) hour = 0;
    if (hour > 23 || minute > 59) return null;
    time = `${String(hour).padStart(2, "0")}:${String(minute).padStart(2, "0")}`;
    words.pop();
  }
  if (words.length !== 1 || !words[0]) return null;
  const day = dayWord(words[0], today);
  return day ? { day, time } : null;
}

function dayWord(word: string, today: string): string | null {
  if (word === "today") return today;
  if (word === "tomorrow" || word === "tmr") return addDays(today, 1);
  if (/^\d{4}-\d{2}-\d{2}$/.test(word)) return word;
  if (/^(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(day)?$/.test(word) || word === "wednesday") {
    const target = WEEKDAYS.indexOf(word.slice(0, 3));
    const current = new Date(`${today}T12:00:00Z`).getUTCDay();
    return addDays(today, (target - current + 7) % 7 || 7);
  }
  return null;
}
