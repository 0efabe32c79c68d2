import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, unwrap } from "../../api/client";
import { ApiError, describeError, fieldErrors } from "../../api/problems";
import type { components } from "../../api/schema";
import type { Page, Task } from "../../api/types";
import { dayInZone, localToInstant } from "../../lib/dates";
import { describeOffset, formatInstant } from "./format";
import { FieldError, input, label, muted, smallButton } from "./ui";

export type Reminder = components["schemas"]["ReminderOut"];
type ReminderIn = components["schemas"]["ReminderIn"];

export const remindersKey = (taskId: string) => ["reminders", taskId] as const;

/** Minutes before the due the picker offers. */
export const OFFSET_PRESETS = [0, 5, 15, 30, 60, 1440] as const;

export function describeReminder(reminder: Reminder, timeZone: string): string {
  if (reminder.offset_minutes !== null) {
    const when = describeOffset(reminder.offset_minutes);
    return reminder.offset_minutes === 0 ? when : `${when} due`;
  }
  return reminder.at ? `At ${formatInstant(reminder.at, timeZone)}` : "Reminder";
}

/** The task's reminders: a list, delete, and add "at" an instant or some minutes before the due
 * (that kind only while the task has a due). */
export default function Reminders({ task, timeZone }: { task: Task; timeZone: string }) {
  const client = useQueryClient();
  const hasDue = task.due !== null;
  const [kind, setKind] = useState<"offset" | "at">(hasDue ? "offset" : "at");
  const [offset, setOffset] = useState<number>(15);
  const [day, setDay] = useState(() => dayInZone(new Date(), timeZone));
  const [time, setTime] = useState("09:00");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const effectiveKind = hasDue ? kind : "at";

  const reminders = useQuery({
    queryKey: remindersKey(task.id),
    queryFn: () =>
      unwrap<Page<Reminder>>(
        api.GET("/api/v1/tasks/{task_id}/reminders", { params: { path: { task_id: task.id } } }),
      ),
  });
  const refresh = () => void client.invalidateQueries({ queryKey: remindersKey(task.id) });

  const add = useMutation({
    mutationFn: (body: ReminderIn) =>
      unwrap<Reminder>(
        api.POST("/api/v1/tasks/{task_id}/reminders", {
          params: { path: { task_id: task.id } },
          body,
        }),
      ),
    onSuccess: (created) =>
      client.setQueryData<Page<Reminder>>(remindersKey(task.id), (page) =>
        page ? { ...page, items: [...page.items, created] } : page,
      ),
    onSettled: refresh,
  });
  const remove = useMutation({
    mutationFn: (reminder: Reminder) =>
      unwrap(
        api.DELETE("/api/v1/tasks/{task_id}/reminders/{reminder_id}", {
          params: { path: { task_id: task.id, reminder_id: reminder.id } },
        }),
      ),
    onMutate: async (reminder) => {
      await client.cancelQueries({ queryKey: remindersKey(task.id) });
      const before = client.getQueryData<Page<Reminder>>(remindersKey(task.id));
      client.setQueryData<Page<Reminder>>(remindersKey(task.id), (page) =>
        page ? { ...page, items: page.items.filter((item) => item.id !== reminder.id) } : page,
      );
      return { before };
    },
    onError: (failure, _reminder, context) => {
      client.setQueryData(remindersKey(task.id), context?.before);
      setErrors({ list: describeError(failure) });
    },
    onSettled: refresh,
  });

  async function submit(event: FormEvent) {
    event.preventDefault();
    setErrors({});
    let body: ReminderIn;
    if (effectiveKind === "offset") body = { offset_minutes: offset };
    else {
      if (!day || !time) {
        setErrors({ at: "Choose a day and a time." });
        return;
      }
      body = { at: localToInstant(day, time, timeZone) };
    }
    try {
      await add.mutateAsync(body);
    } catch (failure) {
      const byField = failure instanceof ApiError ? fieldErrors(failure.problem) : {};
      const field = effectiveKind === "offset" ? "offset_minutes" : "at";
      setErrors({ [field]: byField[field] ?? describeError(failure) });
    }
  }

  const items = reminders.data?.items ?? [];
  return (
    <section aria-labelledby="reminders-heading">
      <h2 id="reminders-heading" className={label}>
        Reminders
      </h2>
      {reminders.isPending ? (
        <p className={muted}>Loading…</p>
      ) : reminders.isError ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          {describeError(reminders.error)}
        </p>
      ) : items.length === 0 ? (
        <p className={muted}>No reminders.</p>
      ) : (
        <ul className="flex flex-col gap-1" aria-label="Reminders">
          {items.map((reminder) => {
            const text = describeReminder(reminder, timeZone);
            return (
              <li key={reminder.id} className="flex items-center justify-between gap-2 text-sm">
                <span>
                  {text}
                  {reminder.offset_minutes !== null && (
                    <span className={muted}>
                      {reminder.fire_at
                        ? ` (${formatInstant(reminder.fire_at, timeZone)})`
                        : " (waits for a due date)"}
                    </span>
                  )}
                  {reminder.fired_at && <span className={muted}> · sent</span>}
                </span>
                <button
                  type="button"
                  className={smallButton}
                  aria-label={`Delete reminder: ${text}`}
                  onClick={() => remove.mutate(reminder)}
                >
                  <span aria-hidden="true">✕</span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {errors.list && (
        <p role="alert" className="mt-1 text-sm text-red-700 dark:text-red-400">
          {errors.list}
        </p>
      )}

      <form onSubmit={(event) => void submit(event)} className="mt-2 flex flex-col gap-2">
        <fieldset className="flex gap-4 text-sm">
          <legend className="sr-only">Remind</legend>
          <label className="flex items-center gap-1">
            <input
              type="radio"
              name="reminder-kind"
              checked={effectiveKind === "offset"}
              disabled={!hasDue}
              onChange={() => setKind("offset")}
              aria-describedby={hasDue ? undefined : "reminder-needs-due"}
              className="accent-accent-600"
            />
            Before the due
          </label>
          <label className="flex items-center gap-1">
            <input
              type="radio"
              name="reminder-kind"
              checked={effectiveKind === "at"}
              onChange={() => setKind("at")}
              className="accent-accent-600"
            />
            At a time
          </label>
        </fieldset>
        {!hasDue && (
          <p id="reminder-needs-due" className={muted}>
            Set a due date to be reminded before it.
          </p>
        )}
        <div className="flex items-start gap-2">
          {effectiveKind === "offset" ? (
            <div className="flex-1">
              <label htmlFor="reminder-offset" className="sr-only">
                How long before the due
              </label>
              <select
                id="reminder-offset"
                className={input}
                value={offset}
                onChange={(event) => setOffset(Number(event.target.value))}
                aria-invalid={errors.offset_minutes ? true : undefined}
                aria-describedby={errors.offset_minutes ? "reminder-offset-error" : undefined}
              >
                {OFFSET_PRESETS.map((minutes) => (
                  <option key={minutes} value={minutes}>
                    {describeOffset(minutes)}
                  </option>
                ))}
              </select>
              <FieldError id="reminder-offset-error" message={errors.offset_minutes} />
            </div>
          ) : (
            <div className="flex-1">
              <div className="flex gap-2">
                <label htmlFor="reminder-day" className="sr-only">
                  Reminder date
                </label>
                <input
                  id="reminder-day"
                  type="date"
                  className={input}
                  value={day}
                  onChange={(event) => setDay(event.target.value)}
                  aria-invalid={errors.at ? true : undefined}
                  aria-describedby={errors.at ? "reminder-at-error" : undefined}
                />
                <label htmlFor="reminder-time" className="sr-only">
                  Reminder time
                </label>
                <input
                  id="reminder-time"
                  type="time"
                  className={`${input} w-32`}
                  value={time}
                  onChange={(event) => setTime(event.target.value)}
                  aria-invalid={errors.at ? true : undefined}
                  aria-describedby={errors.at ? "reminder-at-error" : undefined}
                />
              </div>
              <FieldError id="reminder-at-error" message={errors.at} />
            </div>
          )}
          <button
            type="submit"
            disabled={add.isPending}
            className="rounded-md bg-accent-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-accent-700 disabled:opacity-50"
          >
            Add reminder
          </button>
        </div>
      </form>
    </section>
  );
}
