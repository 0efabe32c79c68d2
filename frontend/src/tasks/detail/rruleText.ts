/** Plain-English summaries of RFC 5545 recurrence rules ("Every 2 weeks on Monday"), and the
 * common rules the detail panel offers as presets. No library: the panel needs a summary, not
 * an expansion (the server expands rules), and the part of RFC 5545 people use is small. */

export const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export const WEEKDAY_NAME: Record<Weekday, string> = {
  MO: "Monday",
  TU: "Tuesday",
  WE: "Wednesday",
  TH: "Thursday",
  FR: "Friday",
  SA: "Saturday",
  SU: "Sunday",
};

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

const UNIT: Record<string, string> = {
  YEARLY: "year",
  MONTHLY: "month",
  WEEKLY: "week",
  DAILY: "day",
  HOURLY: "hour",
  MINUTELY: "minute",
  SECONDLY: "second",
};

/** The rule's parts, upper-cased names; an optional leading "RRULE:" is dropped. */
export function parseRule(rule: string): Map<string, string> {
  const parts = new Map<string, string>();
  const body = rule.trim().replace(/^RRULE:/i, "");
  for (const part of body.split(";")) {
    const [name, ...value] = part.split("=");
    if (name?.trim() && value.length > 0) {
      parts.set(name.trim().toUpperCase(), value.join("=").trim().toUpperCase());
    }
  }
  return parts;
}

/** 1 -> "1st", 22 -> "22nd", 13 -> "13th". */
export function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  const suffix = { 1: "st", 2: "nd", 3: "rd" }[n % 10] ?? "th";
  return `${n}${suffix}`;
}

/** 1 -> "1st", -1 -> "last", -2 -> "2nd to last". */
function position(n: number): string {
  if (n === -1) return "last";
  if (n < 0) return `${ordinal(-n)} to last`;
  return ordinal(n);
}

/** "A", "A and B", "A, B and C". */
export function joinList(items: string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

interface DaySpec {
  n: number | null;
  day: Weekday;
}

function parseByDay(value: string): DaySpec[] | null {
  const out: DaySpec[] = [];
  for (const item of value.split(",")) {
    const match = /^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/.exec(item.trim());
    if (!match) return null;
    out.push({ n: match[1] ? Number(match[1]) : null, day: match[2] as Weekday });
  }
  return out;
}

function sameDays(days: DaySpec[], wanted: readonly Weekday[]): boolean {
  return (
    days.length === wanted.length &&
    days.every((d) => d.n === null) &&
    wanted.every((w) => days.some((d) => d.day === w))
  );
}

const WORKWEEK: readonly Weekday[] = ["MO", "TU", "WE", "TH", "FR"];

function describeDays(days: DaySpec[], setPos: number[]): string {
  if (sameDays(days, WORKWEEK)) {
    return setPos.length ? `the ${joinList(setPos.map(position))} weekday` : "weekdays";
  }
  const sorted = [...days].sort((a, b) => WEEKDAYS.indexOf(a.day) - WEEKDAYS.indexOf(b.day));
  if (setPos.length && days.every((d) => d.n === null)) {
    const names = joinList(sorted.map((d) => WEEKDAY_NAME[d.day]));
    return `the ${joinList(setPos.map(position))} ${names}`;
  }
  const named = (days.some((d) => d.n !== null) ? days : sorted).map((d) =>
    d.n === null ? WEEKDAY_NAME[d.day] : `the ${position(d.n)} ${WEEKDAY_NAME[d.day]}`,
  );
  return joinList(named);
}

/** A comma list of integers; 0 only where `zero` allows it (hours, minutes), as in RFC 5545. */
function numbers(value: string | undefined, zero = false): number[] | null {
  if (value === undefined) return [];
  const list = value.split(",").map((item) => (item.trim() === "" ? NaN : Number(item.trim())));
  return list.every((n) => Number.isInteger(n) && (zero || n !== 0)) ? list : null;
}

/** "20261231" or "20261231T235959Z" -> "31 December 2026". */
function describeUntil(value: string): string | null {
  const match = /^(\d{4})(\d{2})(\d{2})(T\d{6}Z?)?$/.exec(value);
  if (!match) return null;
  const month = MONTHS[Number(match[2]) - 1];
  if (!month) return null;
  return `${Number(match[3])} ${month} ${match[1]}`;
}

function describeTime(hours: number[], minutes: number[]): string {
  const minute = minutes[0] ?? 0;
  const times = hours.map(
    (h) => `${String(h).padStart(2, "0")}:${String(minute).padStart(2, "0")}`,
  );
  return `at ${joinList(times)}`;
}

/**
 * "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO" -> "Every 2 weeks on Monday"; null for a rule it cannot read
 * (then show the rule itself). Covers FREQ, INTERVAL, BYDAY (with ordinals such as 2MO, -1FR),
 * BYMONTHDAY, BYMONTH, BYSETPOS, BYHOUR/BYMINUTE, COUNT and UNTIL.
 */
export function rruleToText(rule: string): string | null {
  const parts = parseRule(rule);
  const freq = parts.get("FREQ");
  if (!freq || !(freq in UNIT)) return null;
  const unit = UNIT[freq] ?? "";
  const interval = Number(parts.get("INTERVAL") ?? "1");
  if (!Number.isInteger(interval) || interval < 1) return null;

  const byDayRaw = parts.get("BYDAY");
  const days = byDayRaw === undefined ? [] : parseByDay(byDayRaw);
  const monthDays = numbers(parts.get("BYMONTHDAY"));
  const months = numbers(parts.get("BYMONTH"));
  const setPos = numbers(parts.get("BYSETPOS"));
  const hourList = numbers(parts.get("BYHOUR"), true);
  const minuteList = numbers(parts.get("BYMINUTE"), true);
  if (!days || !monthDays || !months || !setPos || !hourList || !minuteList) return null;
  if (months.some((m) => m < 1 || m > 12)) return null;
  if (hourList.some((h) => h < 0 || h > 23) || minuteList.some((m) => m < 0 || m > 59)) return null;

  let text: string;
  if (
    days.length > 0 &&
    sameDays(days, WORKWEEK) &&
    interval === 1 &&
    !setPos.length &&
    (freq === "DAILY" || freq === "WEEKLY") &&
    !monthDays.length &&
    !months.length
  ) {
    text = "Every weekday";
  } else {
    text = interval === 1 ? `Every ${unit}` : `Every ${interval} ${unit}s`;
    const monthNames = months.map((m) => MONTHS[m - 1] ?? "");
    if (freq === "YEARLY" && monthNames.length && monthDays.length && !days.length) {
      text += ` on ${joinList(monthNames.map((m) => `${m} ${joinList(monthDays.map((d) => (d > 0 ? String(d) : position(d) + " day")))}`))}`;
    } else {
      if (monthDays.length) {
        const named = monthDays.map((d) =>
          d === -1 ? "last day" : d < 0 ? `${position(d)} day` : ordinal(d),
        );
        text += ` on the ${joinList(named)}`;
      }
      if (days.length) {
        text += `${monthDays.length ? " if it is" : " on"} ${describeDays(days, setPos)}`;
      }
      if (monthNames.length)
        text += ` ${days.length || monthDays.length ? "of" : "in"} ${joinList(monthNames)}`;
    }
  }
  if (hourList.length) text += ` ${describeTime(hourList, minuteList)}`;

  const count = parts.get("COUNT");
  if (count !== undefined) {
    const n = Number(count);
    if (!Number.isInteger(n) || n < 1) return null;
    text += n === 1 ? ", once" : `, ${n} times`;
  }
  const until = parts.get("UNTIL");
  if (until !== undefined) {
    const day = describeUntil(until);
    if (!day) return null;
    text += `, until ${day}`;
  }
  return text;
}

// --- the presets the picker offers ---------------------------------------------------------

export type Preset =
  "none" | "daily" | "weekdays" | "weekly" | "biweekly" | "monthly" | "yearly" | "custom";

export const PRESET_LABEL: Record<Preset, string> = {
  none: "Does not repeat",
  daily: "Every day",
  weekdays: "Every weekday (Mon–Fri)",
  weekly: "Every week on…",
  biweekly: "Every 2 weeks on…",
  monthly: "Every month on this day",
  yearly: "Every year",
  custom: "Custom…",
};

/** The rule for a preset; `days` for the weekly ones, `monthDay` (1–31) for the monthly one. */
export function presetRule(preset: Preset, days: Weekday[], monthDay: number): string | null {
  const byDay = WEEKDAYS.filter((d) => days.includes(d)).join(",");
  switch (preset) {
    case "daily":
      return "FREQ=DAILY";
    case "weekdays":
      return "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR";
    case "weekly":
      return byDay ? `FREQ=WEEKLY;BYDAY=${byDay}` : "FREQ=WEEKLY";
    case "biweekly":
      return byDay ? `FREQ=WEEKLY;INTERVAL=2;BYDAY=${byDay}` : "FREQ=WEEKLY;INTERVAL=2";
    case "monthly":
      return `FREQ=MONTHLY;BYMONTHDAY=${monthDay}`;
    case "yearly":
      return "FREQ=YEARLY";
    default:
      return null;
  }
}

/** Which preset a stored rule is (and its weekdays), so the picker shows it; else "custom". */
export function classifyRule(rule: string | null | undefined): { preset: Preset; days: Weekday[] } {
  if (!rule) return { preset: "none", days: [] };
  const parts = parseRule(rule);
  const names = [...parts.keys()].sort().join(";");
  const freq = parts.get("FREQ");
  const interval = parts.get("INTERVAL") ?? "1";
  const byDay = parts.get("BYDAY");
  const days = byDay ? parseByDay(byDay) : [];
  const plainDays = days && days.every((d) => d.n === null) ? days.map((d) => d.day) : null;
  const only = (...allowed: string[]) => names === ["FREQ", ...allowed].sort().join(";");
  if (
    freq === "DAILY" &&
    interval === "1" &&
    only(...(parts.has("INTERVAL") ? ["INTERVAL"] : []))
  ) {
    return { preset: "daily", days: [] };
  }
  const withInterval = parts.has("INTERVAL") ? ["INTERVAL"] : [];
  if (freq === "WEEKLY" && plainDays && only(...withInterval, ...(byDay ? ["BYDAY"] : []))) {
    if (interval === "1" && days && sameDays(days, WORKWEEK))
      return { preset: "weekdays", days: [] };
    if (interval === "1") return { preset: "weekly", days: plainDays };
    if (interval === "2") return { preset: "biweekly", days: plainDays };
  }
  if (freq === "MONTHLY" && interval === "1" && only(...withInterval, "BYMONTHDAY")) {
    const day = Number(parts.get("BYMONTHDAY"));
    if (Number.isInteger(day) && day >= 1 && day <= 31) return { preset: "monthly", days: [] };
  }
  if (freq === "YEARLY" && interval === "1" && only(...withInterval)) {
    return { preset: "yearly", days: [] };
  }
  return { preset: "custom", days: [] };
}
