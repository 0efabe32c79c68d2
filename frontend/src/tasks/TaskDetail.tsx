import { Suspense, lazy, useEffect, useRef, useState } from "react";
import { FieldError, input, label } from "../shell/fields";
import Markdown from "react-markdown";
import { ApiError, describeError, fieldErrors } from "../api/problems";
import type { Task, TaskUpdate } from "../api/types";
import { PRIORITIES, PRIORITY_LABEL, STATUSES, STATUS_LABEL } from "../api/types";
import { dayInZone, isDateOnly, localToInstant } from "../lib/dates";
import { parseDuePhrase } from "../lib/quickAdd";
import { ChangedElsewhere, useTask, useUpdateTask } from "./queries";
import { Subtasks } from "./Subtasks";

// The sections below the fields load with their own chunk, after the panel has painted.
const Recurrence = lazy(() => import("./detail/Recurrence"));
const Reminders = lazy(() => import("./detail/Reminders"));
const Timer = lazy(() => import("./detail/Timer"));
const Dependencies = lazy(() => import("./detail/Dependencies"));
const History = lazy(() => import("./detail/History"));

/** Local text that follows the server's copy until the user starts typing, then saves after a
 * pause and on leaving the field. Text the API refused stays in the field (never lose what was
 * typed); `save` resolves false then. */
function useDraft(server: string, save: (value: string) => Promise<boolean>, delayMs = 700) {
  const [draft, setDraft] = useState(server);
  const dirty = useRef(false);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  useEffect(() => {
    if (!dirty.current) setDraft(server);
  }, [server]);
  const flush = (value = draft) => {
    clearTimeout(timer.current);
    if (!dirty.current) return;
    dirty.current = false;
    if (value === server) return;
    void save(value).then((saved) => {
      if (!saved) {
        dirty.current = true;
        setDraft(value);
      }
    });
  };
  const change = (value: string) => {
    dirty.current = true;
    setDraft(value);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => flush(value), delayMs);
  };
  useEffect(() => () => clearTimeout(timer.current), []);
  return { draft, change, flush };
}

function splitDue(due: string | null, timeZone: string): { day: string; time: string } {
  if (!due) return { day: "", time: "" };
  if (isDateOnly(due)) return { day: due, time: "" };
  const instant = new Date(due);
  const time = new Intl.DateTimeFormat("en-GB", {
    timeZone,
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).format(instant);
  return { day: dayInZone(instant, timeZone), time };
}

export default function TaskDetail({
  taskId,
  timeZone,
  onClose,
  focusTitle,
}: {
  taskId: string;
  timeZone: string;
  onClose: () => void;
  focusTitle?: boolean;
}) {
  const task = useTask(taskId);
  return (
    <aside
      aria-label="Task details"
      className="fixed inset-0 z-30 flex w-full flex-col overflow-y-auto bg-white md:static md:z-auto md:w-[28rem] md:border-l md:border-zinc-200 dark:bg-zinc-900 md:dark:border-zinc-800"
    >
      <div className="flex items-center justify-between border-b border-zinc-200 px-4 py-2 dark:border-zinc-800">
        <span className="text-sm text-zinc-600 dark:text-zinc-400">Task</span>
        <button
          type="button"
          onClick={onClose}
          className="rounded-md px-2 py-1 hover:bg-zinc-100 dark:hover:bg-zinc-800"
        >
          <span aria-hidden="true">✕ </span>Close
          <kbd
            aria-hidden="true"
            className="ml-1 hidden text-xs text-zinc-600 md:inline dark:text-zinc-400"
          >
            Esc
          </kbd>
        </button>
      </div>
      {task.isPending ? (
        <p className="p-4 text-zinc-600 dark:text-zinc-400">Loading…</p>
      ) : task.isError ? (
        <p role="alert" className="p-4 text-red-700">
          {describeError(task.error)}
        </p>
      ) : (
        <Editor task={task.data} timeZone={timeZone} focusTitle={focusTitle} />
      )}
    </aside>
  );
}

function Editor({
  task,
  timeZone,
  focusTitle,
}: {
  task: Task;
  timeZone: string;
  focusTitle?: boolean;
}) {
  const update = useUpdateTask(task.id);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [notice, setNotice] = useState<string | null>(null);
  const [editingDescription, setEditingDescription] = useState(false);
  const titleRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (focusTitle) titleRef.current?.focus();
  }, [focusTitle]);

  /** True when saved, or when a 412 reloaded the task (their change wins; we say so). */
  function save(change: TaskUpdate): Promise<boolean> {
    const fields = Object.keys(change);
    // A recurrence problem may name its part (["body", "recurrence", "rule"]).
    if ("recurrence" in change) fields.push("rule", "text", "mode");
    setNotice(null);
    setErrors((current) =>
      Object.fromEntries(Object.entries(current).filter(([field]) => !fields.includes(field))),
    );
    return update.mutateAsync(change).then(
      () => true,
      (error: unknown) => {
        if (error instanceof ChangedElsewhere) {
          setNotice(error.message);
          return true;
        }
        const byField = error instanceof ApiError ? fieldErrors(error.problem) : {};
        if (Object.keys(byField).length === 0) {
          byField[fields[0] ?? "form"] = describeError(error);
        }
        setErrors((current) => ({ ...current, ...byField }));
        return false;
      },
    );
  }

  const title = useDraft(task.title, (value) => save({ title: value }));
  const description = useDraft(task.description, (value) => save({ description: value }));
  const tagsText = task.tags.join(", ");
  const tags = useDraft(tagsText, (value) =>
    save({
      tags: value
        .split(",")
        .map((tag) => tag.trim().replace(/^#/, ""))
        .filter(Boolean),
    }),
  );
  const due = splitDue(task.due, timeZone);
  // The slider follows the server's value unless the user is dragging it.
  const [progress, setProgress] = useState(task.progress);
  const [serverProgress, setServerProgress] = useState(task.progress);
  if (serverProgress !== task.progress) {
    setServerProgress(task.progress);
    setProgress(task.progress);
  }

  const [phrase, setPhrase] = useState("");
  const [phraseError, setPhraseError] = useState<string | null>(null);
  function applyPhrase() {
    if (!phrase.trim()) return;
    const parsed = parseDuePhrase(phrase, dayInZone(new Date(), timeZone));
    if (!parsed) {
      setPhraseError("Try “today”, “tomorrow 17:00”, “fri 9am” or 2026-12-01.");
      return;
    }
    setPhrase("");
    saveDue(parsed.day, parsed.time);
  }

  function saveDue(day: string, time: string) {
    if (!day) void save({ due: null });
    else void save({ due: time ? localToInstant(day, time, timeZone) : day });
  }

  return (
    <div className="flex flex-col gap-4 p-4">
      {notice && (
        <p role="alert" className="rounded-md bg-amber-100 px-3 py-2 text-amber-900">
          {notice}
        </p>
      )}
      <div>
        <label htmlFor="task-title" className="sr-only">
          Title
        </label>
        <input
          id="task-title"
          ref={titleRef}
          value={title.draft}
          onChange={(event) => title.change(event.target.value)}
          onBlur={() => title.flush()}
          onKeyDown={(event) => {
            if (event.key === "Enter") title.flush();
          }}
          aria-invalid={errors.title ? true : undefined}
          aria-describedby={errors.title ? "task-title-error" : undefined}
          className="w-full rounded-md bg-transparent px-1 py-1 text-lg font-semibold hover:bg-zinc-50 focus:bg-zinc-50 dark:hover:bg-zinc-800 dark:focus:bg-zinc-800"
        />
        <FieldError id="task-title-error" message={errors.title} />
      </div>

      <div className="grid grid-cols-2 gap-3">
        <div>
          <label htmlFor="task-status" className={label}>
            Status
          </label>
          <select
            id="task-status"
            className={input}
            value={task.status}
            onChange={(event) => void save({ status: event.target.value as Task["status"] })}
          >
            {STATUSES.map((status) => (
              <option key={status} value={status}>
                {STATUS_LABEL[status]}
              </option>
            ))}
          </select>
          <FieldError id="task-status-error" message={errors.status} />
        </div>
        <div>
          <label htmlFor="task-priority" className={label}>
            Priority
          </label>
          <select
            id="task-priority"
            className={input}
            value={task.priority}
            onChange={(event) => void save({ priority: event.target.value as Task["priority"] })}
          >
            {PRIORITIES.map((priority) => (
              <option key={priority} value={priority}>
                {PRIORITY_LABEL[priority]}
              </option>
            ))}
          </select>
          <FieldError id="task-priority-error" message={errors.priority} />
        </div>
      </div>

      <fieldset>
        <legend className={label}>Due</legend>
        <div className="flex gap-2">
          <label htmlFor="task-due-date" className="sr-only">
            Due date
          </label>
          <input
            id="task-due-date"
            type="date"
            className={input}
            value={due.day}
            onChange={(event) => saveDue(event.target.value, due.time)}
          />
          <label htmlFor="task-due-time" className="sr-only">
            Due time
          </label>
          <input
            id="task-due-time"
            type="time"
            className={`${input} w-32`}
            value={due.time}
            disabled={!due.day}
            onChange={(event) => saveDue(due.day, event.target.value)}
          />
          {task.due && (
            <button
              type="button"
              className="rounded-md px-2 hover:bg-zinc-100 dark:hover:bg-zinc-800"
              onClick={() => saveDue("", "")}
            >
              Clear
            </button>
          )}
        </div>
        <label htmlFor="task-due-phrase" className="sr-only">
          Type a date
        </label>
        <input
          id="task-due-phrase"
          className={`${input} mt-2`}
          value={phrase}
          placeholder="…or type: tomorrow 17:00, fri, 2026-12-01"
          autoComplete="off"
          onChange={(event) => {
            setPhrase(event.target.value);
            setPhraseError(null);
          }}
          onKeyDown={(event) => {
            if (event.key === "Enter") applyPhrase();
          }}
          onBlur={applyPhrase}
          aria-invalid={phraseError ? true : undefined}
          aria-describedby={phraseError ? "task-due-phrase-error" : undefined}
        />
        <FieldError id="task-due-phrase-error" message={phraseError ?? undefined} />
        <FieldError id="task-due-error" message={errors.due} />
      </fieldset>

      <div>
        <label htmlFor="task-progress" className={label}>
          Progress <span className="font-normal normal-case">{progress}%</span>
        </label>
        <input
          id="task-progress"
          type="range"
          min={0}
          max={100}
          step={5}
          value={progress}
          onChange={(event) => setProgress(Number(event.target.value))}
          onPointerUp={() => progress !== task.progress && void save({ progress })}
          onKeyUp={() => progress !== task.progress && void save({ progress })}
          onBlur={() => progress !== task.progress && void save({ progress })}
          className="w-full accent-accent-600"
        />
        <FieldError id="task-progress-error" message={errors.progress} />
      </div>

      <div>
        <label htmlFor="task-tags" className={label}>
          Tags
        </label>
        <input
          id="task-tags"
          className={input}
          value={tags.draft}
          placeholder="home, errands"
          onChange={(event) => tags.change(event.target.value)}
          onBlur={() => tags.flush()}
          aria-describedby="task-tags-help"
        />
        <p id="task-tags-help" className="mt-1 text-xs text-zinc-600 dark:text-zinc-400">
          Separate tags with commas.
        </p>
        <FieldError id="task-tags-error" message={errors.tags} />
      </div>

      <div>
        <div className="mb-1 flex items-center justify-between">
          {editingDescription ? (
            <label htmlFor="task-description" className={label}>
              Description
            </label>
          ) : (
            <span className={label} id="task-description-label">
              Description
            </span>
          )}
          <button
            type="button"
            className="text-sm text-accent-600 hover:underline dark:text-accent-100"
            onClick={() => {
              if (editingDescription) description.flush();
              setEditingDescription(!editingDescription);
            }}
          >
            {editingDescription ? "Preview description" : "Edit description"}
          </button>
        </div>
        {editingDescription ? (
          <textarea
            id="task-description"
            className={`${input} min-h-40 font-mono text-sm`}
            value={description.draft}
            onChange={(event) => description.change(event.target.value)}
            onBlur={() => description.flush()}
            placeholder="Notes, links, checklists… Markdown works."
            autoFocus
          />
        ) : description.draft ? (
          <div className="prose-task">
            {/* react-markdown renders no raw HTML (no rehype-raw): descriptions cannot inject markup. */}
            <Markdown>{description.draft}</Markdown>
          </div>
        ) : (
          <p className="text-zinc-600 dark:text-zinc-400">No description.</p>
        )}
        <FieldError id="task-description-error" message={errors.description} />
      </div>

      <Subtasks parent={task} />

      <Suspense fallback={null}>
        <Recurrence
          task={task}
          timeZone={timeZone}
          save={save}
          error={errors.recurrence ?? errors.rule ?? errors.text ?? errors.mode}
        />
        <Reminders task={task} timeZone={timeZone} />
        <Timer task={task} timeZone={timeZone} />
        <Dependencies task={task} />
        <History task={task} timeZone={timeZone} />
      </Suspense>
      <p className="text-xs text-zinc-600 dark:text-zinc-400" aria-live="polite">
        {update.isPending ? "Saving…" : update.isError ? "Not saved" : "All changes saved"}
      </p>
    </div>
  );
}
