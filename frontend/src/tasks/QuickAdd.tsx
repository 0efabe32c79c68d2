import { forwardRef, useState } from "react";
import type { FormEvent } from "react";
import type { TaskCreate } from "../api/types";
import { describeError } from "../api/problems";
import { dayInZone } from "../lib/dates";
import { parseQuickAdd } from "../lib/quickAdd";

/** One line: "Pay rent tomorrow #home p1". The text is kept if the API refuses it. */
export const QuickAdd = forwardRef<
  HTMLInputElement,
  {
    timeZone: string;
    defaults: Partial<TaskCreate>;
    onCreate: (body: TaskCreate) => Promise<unknown>;
  }
>(function QuickAdd({ timeZone, defaults, onCreate }, ref) {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!text.trim()) return;
    const parsed = parseQuickAdd(text, dayInZone(new Date(), timeZone));
    const body: TaskCreate = {
      ...defaults,
      id: crypto.randomUUID(),
      title: parsed.title,
      ...(parsed.due ? { due: parsed.due } : {}),
      ...(parsed.priority ? { priority: parsed.priority } : {}),
      tags: [...new Set([...(defaults.tags ?? []), ...parsed.tags])],
    };
    const typed = text;
    setText("");
    setError(null);
    try {
      await onCreate(body);
    } catch (failure) {
      setText((current) => current || typed);
      setError(describeError(failure));
    }
  }

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
        placeholder="Add a task — e.g. “Pay rent tomorrow #home p1” (press q)"
        autoComplete="off"
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? "quick-add-error" : undefined}
        className="w-full rounded-md bg-transparent px-2 py-1.5 placeholder:text-zinc-400 focus:bg-zinc-50 dark:focus:bg-zinc-800"
      />
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
