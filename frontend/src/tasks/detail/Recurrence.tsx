import { useState } from "react";
import type { Task, TaskUpdate } from "../../api/types";
import { dayInZone, isDateOnly } from "../../lib/dates";
import {
  PRESET_LABEL,
  type Preset,
  type Weekday,
  WEEKDAYS,
  WEEKDAY_NAME,
  classifyRule,
  presetRule,
  rruleToText,
} from "./rruleText";
import { FieldError, input, label, muted } from "./ui";

type Mode = "due" | "completion";
const PRESETS = Object.keys(PRESET_LABEL) as Preset[];

/** The task's due day (in its zone), or today's when it has none. */
function anchorDay(task: Task, timeZone: string): string {
  if (task.due) return isDateOnly(task.due) ? task.due : dayInZone(new Date(task.due), timeZone);
  return dayInZone(new Date(), timeZone);
}

function weekdayOf(day: string): Weekday {
  // getUTCDay: 0 is Sunday.
  const index = new Date(`${day}T12:00:00Z`).getUTCDay();
  return WEEKDAYS[(index + 6) % 7] ?? "MO";
}

/** How the task repeats: presets for the common rules, an RRULE (or a phrase the API reads,
 * "every 2nd monday") for anything else, and whether the next one counts from the due date or
 * from completion. Each change saves at once through the panel's `save` (If-Match, 412). */
export default function Recurrence({
  task,
  timeZone,
  save,
  error,
}: {
  task: Task;
  timeZone: string;
  save: (change: TaskUpdate) => Promise<boolean>;
  error?: string;
}) {
  const rule = task.recurrence?.rule ?? null;
  const mode: Mode = task.recurrence?.mode ?? "due";
  const anchor = anchorDay(task, timeZone);
  const stored = classifyRule(rule);
  const [preset, setPreset] = useState<Preset>(stored.preset);
  const [days, setDays] = useState<Weekday[]>(
    stored.days.length ? stored.days : [weekdayOf(anchor)],
  );
  const [custom, setCustom] = useState(rule ?? "");
  const [customDirty, setCustomDirty] = useState(false);

  // The rules this panel sent, the last one last: the answer to an earlier save that
  // arrives after a later click is not a change to follow (it would undo that click).
  const [sent, setSent] = useState<{ all: (string | null)[]; last?: string | null }>({
    all: [],
  });
  // Follow the server's copy (another tab, a 412 reload) unless the user is typing a rule.
  const [serverRule, setServerRule] = useState(rule);
  if (serverRule !== rule) {
    setServerRule(rule);
    const staleEcho = sent.all.includes(rule) && sent.last !== rule;
    if (!staleEcho) {
      const now = classifyRule(rule);
      if (now.preset !== "custom" || !customDirty) setPreset(now.preset);
      if (now.days.length) setDays(now.days);
      if (!customDirty) setCustom(rule ?? "");
    }
  }

  function saveRule(next: string | null, nextMode: Mode = mode) {
    setSent((before) => ({ all: [...before.all.slice(-19), next], last: next }));
    if (next === null) return save({ recurrence: null });
    return save({ recurrence: { rule: next, mode: nextMode } });
  }

  function choose(next: Preset) {
    setPreset(next);
    if (next === "custom") return;
    if (next === "none") {
      if (rule) void saveRule(null);
      return;
    }
    const monthDay = Number(anchor.slice(8, 10));
    void saveRule(presetRule(next, days, monthDay));
  }

  function toggleDay(day: Weekday) {
    const next = days.includes(day) ? days.filter((d) => d !== day) : [...days, day];
    if (next.length === 0) return; // a weekly rule needs a day; keep the last one
    setDays(next);
    void saveRule(presetRule(preset, next, 1));
  }

  function saveCustom() {
    const text = custom.trim();
    if (!customDirty) return;
    if (!text) {
      setCustomDirty(false);
      if (rule) void saveRule(null);
      return;
    }
    // An RRULE has NAME=VALUE parts; anything else goes to the API's phrase reader.
    const change: TaskUpdate = /^(RRULE:)?[A-Z]+=/i.test(text)
      ? { recurrence: { rule: text.replace(/^RRULE:/i, ""), mode } }
      : { recurrence: { text, mode } };
    void save(change).then((saved) => {
      if (saved) setCustomDirty(false);
    });
  }

  const summary = rule ? (rruleToText(rule) ?? rule) : null;
  const preview = preset === "custom" && customDirty ? rruleToText(custom) : null;
  const errorId = preset === "custom" ? "task-recurrence-rule-error" : "task-recurrence-error";
  return (
    <section>
      <label htmlFor="task-recurrence" className={label}>
        Repeat
      </label>
      <select
        id="task-recurrence"
        className={input}
        value={preset}
        onChange={(event) => choose(event.target.value as Preset)}
        aria-invalid={error && preset !== "custom" ? true : undefined}
        aria-describedby={
          error && preset !== "custom" ? errorId : rule ? "task-recurrence-summary" : undefined
        }
      >
        {PRESETS.map((p) => (
          <option key={p} value={p}>
            {PRESET_LABEL[p]}
          </option>
        ))}
      </select>

      {(preset === "weekly" || preset === "biweekly") && (
        <fieldset className="mt-2">
          <legend className="sr-only">Repeat on</legend>
          <div className="flex flex-wrap gap-1">
            {WEEKDAYS.map((day) => (
              <label
                key={day}
                className="flex items-center gap-1 rounded-md border border-zinc-300 px-2 py-1 text-sm dark:border-zinc-700"
              >
                <input
                  type="checkbox"
                  checked={days.includes(day)}
                  onChange={() => toggleDay(day)}
                  aria-label={WEEKDAY_NAME[day]}
                  className="accent-accent-600"
                />
                <span aria-hidden="true">{WEEKDAY_NAME[day].slice(0, 3)}</span>
              </label>
            ))}
          </div>
        </fieldset>
      )}

      {preset === "custom" && (
        <div className="mt-2">
          <label htmlFor="task-recurrence-rule" className={label}>
            Custom rule
          </label>
          <input
            id="task-recurrence-rule"
            className={`${input} font-mono text-sm`}
            value={custom}
            placeholder="FREQ=MONTHLY;BYDAY=-1FR or “every 2nd monday”"
            autoComplete="off"
            spellCheck={false}
            onChange={(event) => {
              setCustom(event.target.value);
              setCustomDirty(true);
            }}
            onBlur={saveCustom}
            onKeyDown={(event) => {
              if (event.key === "Enter") saveCustom();
            }}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? errorId : "task-recurrence-rule-help"}
          />
          <p id="task-recurrence-rule-help" className={`mt-1 ${muted}`}>
            {preview ?? "An RFC 5545 RRULE, or a phrase such as “every 2nd monday”."}
          </p>
        </div>
      )}
      <FieldError id={errorId} message={error} />

      {rule && (
        <>
          <p id="task-recurrence-summary" className={`mt-2 ${muted}`}>
            <span aria-hidden="true">↻ </span>
            {summary}
            {mode === "completion" ? ", counted from completion" : ""}
          </p>
          <fieldset className="mt-2">
            <legend className="sr-only">Next occurrence counts from</legend>
            <div className="flex gap-4 text-sm">
              {(
                [
                  ["due", "From the due date"],
                  ["completion", "From completion"],
                ] as const
              ).map(([value, text]) => (
                <label key={value} className="flex items-center gap-1">
                  <input
                    type="radio"
                    name="task-recurrence-mode"
                    value={value}
                    checked={mode === value}
                    onChange={() => void saveRule(rule, value)}
                    className="accent-accent-600"
                  />
                  {text}
                </label>
              ))}
            </div>
          </fieldset>
        </>
      )}
    </section>
  );
}
