import type { Priority } from "../api/types";
import { addDays } from "./dates";

export interface ParsedQuickAdd {
  title: string;
  tags: string[];
  priority?: Priority;
  /** A date (YYYY-MM-DD). */
  due?: string;
}

const PRIORITY_WORDS: Record<string, Priority> = {
  "!urgent": "urgent",
  "!high": "high",
  "!medium": "medium",
  "!low": "low",
  p1: "urgent",
  p2: "high",
  p3: "medium",
  p4: "low",
};

const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/**
 * The one-line quick add: "Pay rent tomorrow #home p1" is a task titled "Pay rent", due
 * tomorrow, tagged home, urgent. Words it does not understand stay in the title.
 */
export function parseQuickAdd(text: string, today: string): ParsedQuickAdd {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const kept: string[] = [];
  const tags: string[] = [];
  let priority: Priority | undefined;
  let due: string | undefined;
  for (const word of words) {
    const lower = word.toLowerCase();
    if (/^#[^\s#]+$/.test(word)) {
      tags.push(word.slice(1));
    } else if (lower in PRIORITY_WORDS) {
      priority = PRIORITY_WORDS[lower];
    } else if (lower === "today") {
      due = today;
    } else if (lower === "tomorrow" || lower === "tmr") {
      due = addDays(today, 1);
    } else if (/^\d{4}-\d{2}-\d{2}$/.test(lower)) {
      due = lower;
    } else if (WEEKDAYS.includes(lower.slice(0, 3)) && isWeekdayWord(lower)) {
      const target = WEEKDAYS.indexOf(lower.slice(0, 3));
      const current = new Date(`${today}T12:00:00Z`).getUTCDay();
      const ahead = (target - current + 7) % 7 || 7;
      due = addDays(today, ahead);
    } else {
      kept.push(word);
    }
  }
  const title = kept.join(" ");
  // A line made only of keywords is a title after all ("today").
  if (!title) return { title: text.trim(), tags: [] };
  return { title, tags, priority, due };
}

function isWeekdayWord(word: string): boolean {
  return /^(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(day)?$/.test(word) || word === "wednesday";
}

/** A typed due: "today", "tomorrow 17:00", "fri 9:30", "2026-12-01 08:00"; null if unknown. */
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
  if (words.length !== 1) return null;
  const parsed = parseQuickAdd(`x ${words[0]}`, today);
  return parsed.due ? { day: parsed.due, time } : null;
}
