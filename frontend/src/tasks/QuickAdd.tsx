import { forwardRef, useMemo, useState } from "react";
import type { FormEvent } from "react";
import type { TaskCreate } from "../api/types";
import { PRIORITY_LABEL } from "../api/types";
import { describeError } from "../api/problems";
import { relativeDue } from "../lib/dates";
import {
  PART_LABEL,
  type PartKind,
  type QuickAddPreview,
  quickAddBody,
  segments,
} from "../lib/quickAdd";
import { useDebounced } from "../lib/useDebounced";
import { useQuickAdd, useQuickAddPreview } from "./queries";

/** How long typing pauses before the API is asked what the line means. */
const PREVIEW_DELAY_MS = 150;

const PART_COLOUR: Record<PartKind, string> = {
  due: "bg-blue-100 text-blue-900 dark:bg-blue-900/60 dark:text-blue-100",
  recurrence: "bg-violet-100 text-violet-900 dark:bg-violet-900/60 dark:text-violet-100",
  reminder: "bg-amber-100 text-amber-900 dark:bg-amber-900/60 dark:text-amber-100",
  project: "bg-emerald-100 text-emerald-900 dark:bg-emerald-900/60 dark:text-emerald-100",
  tag: "bg-teal-100 text-teal-900 dark:bg-teal-900/60 dark:text-teal-100",
  priority: "bg-red-100 text-red-900 dark:bg-red-900/60 dark:text-red-100",
};

/**
 * One line: "Call mum tomorrow 5pm #family @phone p1, remind me 30m before". The API reads
 * it (POST /tasks/quick-add, the one home of the grammar): while typing, a dry run shows
 * below the line what it understood; Enter creates at once, without waiting for one. The
 * text is kept if the API refuses it.
 */
export const QuickAdd = forwardRef<
  HTMLInputElement,
  {
    timeZone: string;
    defaults: Partial<TaskCreate>;
    listKey: readonly unknown[];
  }
>(function QuickAdd({ timeZone, defaults, listKey }, ref) {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const settled = useDebounced(text, PREVIEW_DELAY_MS);
  const defaultsKey = JSON.stringify(defaults);
  const previewBody = useMemo(
    () => (settled.trim() ? quickAddBody(settled, JSON.parse(defaultsKey)) : null),
    [settled, defaultsKey],
  );
  const preview = useQuickAddPreview(previewBody);
  const create = useQuickAdd(listKey);
  // The last preview's parts, where they still fit the line as it is now.
  const parts = text.trim() && preview.data ? segments(text, preview.data.parsed) : [];
  const understood = parts.some((part) => part.kind !== null);
  const current = preview.data && !preview.isPlaceholderData && settled === text;

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!text.trim()) return;
    const line = text;
    const body = quickAddBody(line, defaults, crypto.randomUUID());
    setText("");
    setError(null);
    try {
      await create.mutateAsync({ body, guess: current ? (preview.data ?? null) : null });
    } catch (failure) {
      setText((now) => now || line);
      setError(describeError(failure));
    }
  }

  const describedBy = [understood ? "quick-add-parsed" : "", error ? "quick-add-error" : ""]
    .filter(Boolean)
    .join(" ");
  return (
    <form onSubmit={submit} className="border-b border-zinc-200 px-4 py-2 dark:border-zinc-800">
      <label htmlFor="quick-add" className="sr-only">
        Add a task
      </label>
      <input
        id="quick-add"
        ref={ref}
        value={text}
        onChange={(event) => setText(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === "Escape") event.currentTarget.blur();
        }}
        placeholder="Add a task — e.g. “Call mum fri 5pm #family @phone p1” (press q)"
        autoComplete="off"
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy || undefined}
        className="w-full rounded-md bg-transparent px-2 py-1.5 placeholder:text-zinc-400 focus:bg-zinc-50 dark:focus:bg-zinc-800"
      />
      {understood && (
        <div
          id="quick-add-parsed"
          role="group"
          aria-label="Quick add understood"
          className="flex flex-wrap items-baseline gap-x-3 px-2 pt-1 text-sm text-zinc-600 dark:text-zinc-400"
        >
          <p className="whitespace-pre-wrap break-words">
            {parts.map((part, index) =>
              part.kind === null ? (
                <span key={index}>{part.text}</span>
              ) : (
                <mark
                  key={index}
                  title={PART_LABEL[part.kind]}
                  className={`rounded px-0.5 ${PART_COLOUR[part.kind]}`}
                >
                  {part.text}
                  <span className="sr-only"> ({PART_LABEL[part.kind]})</span>
                </mark>
              ),
            )}
          </p>
          {current && preview.data && <Summary preview={preview.data} timeZone={timeZone} />}
        </div>
      )}
      {error && (
        <p
          id="quick-add-error"
          role="alert"
          className="px-2 text-sm text-red-700 dark:text-red-400"
        >
          {error}
        </p>
      )}
    </form>
  );
});

/** What the task will be, in words: "Tomorrow 17:00 · repeats · 1 reminder · Home". */
function Summary({ preview, timeZone }: { preview: QuickAddPreview; timeZone: string }) {
  const facts: string[] = [`“${preview.title}”`];
  if (preview.due) facts.push(relativeDue(preview.due, new Date(), timeZone).label);
  if (preview.recurrence) facts.push(`repeats ${preview.recurrence.text ?? ""}`.trim());
  const reminders = preview.reminders.length;
  if (reminders) facts.push(reminders === 1 ? "1 reminder" : `${reminders} reminders`);
  if (preview.project) {
    facts.push(preview.project_id ? preview.project : `${preview.project} (new project)`);
  }
  if (preview.priority !== "none") facts.push(PRIORITY_LABEL[preview.priority]);
  return <p className="text-xs">{facts.join(" · ")}</p>;
}
