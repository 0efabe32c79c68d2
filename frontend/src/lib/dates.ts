/** Dates as a person reads them, in the user's time zone (the `timezone` of /me). */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = timeZone + JSON.stringify(options);
  let found = formatters.get(key);
  if (!found) {
    found = new Intl.DateTimeFormat("en-GB", { timeZone, ...options });
    formatters.set(key, found);
  }
  return found;
}

/** The calendar day (YYYY-MM-DD) an instant falls on in a zone. */
export function dayInZone(instant: Date, timeZone: string): string {
  const parts = formatter(timeZone, { year: "numeric", month: "2-digit", day: "2-digit" })
    .formatToParts(instant)
    .reduce<Record<string, string>>((acc, part) => ({ ...acc, [part.type]: part.value }), {});
  return `${parts.year}-${parts.month}-${parts.day}`;
}

function timeInZone(instant: Date, timeZone: string): string {
  return formatter(timeZone, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(
    instant,
  );
}

/** Whole days from day `a` to day `b` (both YYYY-MM-DD). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}

export function addDays(day: string, days: number): string {
  const date = new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000);
  return date.toISOString().slice(0, 10);
}

export function isDateOnly(due: string): boolean {
  return due.length === 10;
}

export interface RelativeDue {
  label: string;
  overdue: boolean;
  /** A full, unambiguous date for screen readers and tooltips. */
  full: string;
}

/** "Today 17:00", "Tomorrow", "Fri", "Dec 3", "3 days overdue". */
export function relativeDue(due: string, now: Date, timeZone: string): RelativeDue {
  const today = dayInZone(now, timeZone);
  const dateOnly = isDateOnly(due);
  const instant = dateOnly ? null : new Date(due);
  const day = instant ? dayInZone(instant, timeZone) : due;
  const time = instant ? timeInZone(instant, timeZone) : null;
  const diff = daysBetween(today, day);
  const overdue = instant ? instant.getTime() < now.getTime() : diff < 0;
  const dayDate = new Date(`${day}T12:00:00Z`);
  const full =
    formatter("UTC", { weekday: "long", day: "numeric", month: "long", year: "numeric" }).format(
      dayDate,
    ) + (time ? ` ${time}` : "");
  const withTime = (text: string) => (time ? `${text} ${time}` : text);
  if (diff < 0) {
    const days = -diff;
    return { label: `${days} ${days === 1 ? "day" : "days"} overdue`, overdue: true, full };
  }
  if (diff === 0) return { label: withTime("Today"), overdue, full };
  if (diff === 1) return { label: withTime("Tomorrow"), overdue, full };
  if (diff < 7) {
    return {
      label: withTime(formatter("UTC", { weekday: "short" }).format(dayDate)),
      overdue,
      full,
    };
  }
  const sameYear = day.slice(0, 4) === today.slice(0, 4);
  const label = new Intl.DateTimeFormat("en-US", {
    timeZone: "UTC",
    month: "short",
    day: "numeric",
    ...(sameYear ? {} : { year: "numeric" }),
  }).format(dayDate);
  return { label: withTime(label), overdue, full };
}

/** The UTC offset of a zone at an instant, as "+01:00". */
export function offsetInZone(instant: Date, timeZone: string): string {
  const name =
    formatter(timeZone, { timeZoneName: "longOffset" })
      .formatToParts(instant)
      .find((part) => part.type === "timeZoneName")?.value ?? "GMT";
  const match = /GMT([+-]\d{2}):?(\d{2})?/.exec(name);
  if (!match) return "+00:00";
  return `${match[1]}:${match[2] ?? "00"}`;
}

/** The instant a day starts in a zone, RFC 3339 with that zone's offset. */
export function startOfDay(day: string, timeZone: string): string {
  const noon = new Date(`${day}T12:00:00Z`);
  return `${day}T00:00:00${offsetInZone(noon, timeZone)}`;
}

/** A wall-clock day and time in a zone as an RFC 3339 instant with offset. */
export function localToInstant(day: string, time: string, timeZone: string): string {
  const guess = new Date(`${day}T${time}:00Z`);
  return `${day}T${time}:00${offsetInZone(guess, timeZone)}`;
}

export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** The calendar day (YYYY-MM-DD) a task's due stands for in a zone: a date-only due is its
 * own day wherever one is; a due with a time falls on the day it is in `timeZone`. */
export function dueDay(due: string, timeZone: string): string {
  return isDateOnly(due) ? due : dayInZone(new Date(due), timeZone);
}

/** A day's heading in a calendar list: "Today", "Tomorrow", "Wed 2 Dec" (its year too when
 * it is not this year's). */
export function dayHeading(day: string, today: string): string {
  const diff = daysBetween(today, day);
  if (diff === 0) return "Today";
  if (diff === 1) return "Tomorrow";
  if (diff === -1) return "Yesterday";
  const options: Intl.DateTimeFormatOptions = { weekday: "short", day: "numeric", month: "short" };
  if (day.slice(0, 4) !== today.slice(0, 4)) options.year = "numeric";
  return formatter("UTC", options)
    .format(new Date(`${day}T12:00:00Z`))
    .replace(",", "");
}

export interface DayGroup<T> {
  /** YYYY-MM-DD in the user's zone; "" for items without a due. */
  day: string;
  heading: string;
  items: T[];
}

/**
 * Items by the day they are due in `timeZone`, days in order and those without a due last;
 * within a day the all-day ones first (in the order given), then those with a time by time.
 */
export function groupByDay<T extends { due: string | null }>(
  items: readonly T[],
  timeZone: string,
  today: string,
): DayGroup<T>[] {
  const byDay = new Map<string, T[]>();
  for (const item of items) {
    const day = item.due ? dueDay(item.due, timeZone) : "";
    const group = byDay.get(day);
    if (group) group.push(item);
    else byDay.set(day, [item]);
  }
  const at = (item: T) => (item.due && !isDateOnly(item.due) ? Date.parse(item.due) : -Infinity);
  return [...byDay.entries()]
    .sort(([a], [b]) => (a === "" ? 1 : b === "" ? -1 : a < b ? -1 : a > b ? 1 : 0))
    .map(([day, group]) => ({
      day,
      heading: day ? dayHeading(day, today) : "No date",
      // Array.prototype.sort is stable: ties keep the API's order (its priority).
      items: group.sort((a, b) => (at(a) === at(b) ? 0 : at(a) < at(b) ? -1 : 1)),
    }));
}
