import { memo } from "react";
import type { Priority, Task } from "../api/types";
import { PRIORITY_LABEL } from "../api/types";
import { relativeDue } from "../lib/dates";
import { FlagIcon, RepeatIcon, SubtaskIcon } from "../shell/icons";

export const PRIORITY_COLOUR: Record<Priority, string> = {
  urgent: "text-red-600 dark:text-red-400",
  high: "text-orange-500 dark:text-orange-400",
  medium: "text-blue-600 dark:text-blue-400",
  low: "text-zinc-500 dark:text-zinc-400",
  none: "",
};

export const TaskRow = memo(function TaskRow({
  task,
  completing = false,
  selected,
  now,
  timeZone,
  onComplete,
  onOpen,
  onSelect,
}: {
  task: Task;
  /** Completion sent, answer not yet back: show the tick now. */
  completing?: boolean;
  selected: boolean;
  now: Date;
  timeZone: string;
  onComplete: (task: Task) => void;
  onOpen: (task: Task) => void;
  onSelect: () => void;
}) {
  const due = task.due ? relativeDue(task.due, now, timeZone) : null;
  const done = task.status === "done" || completing;
  return (
    <div
      className={`group flex h-11 items-center gap-3 border-b border-zinc-100 px-4 dark:border-zinc-800 ${
        selected ? "bg-accent-50 dark:bg-zinc-800" : "hover:bg-zinc-50 dark:hover:bg-zinc-800/50"
      }`}
      onClick={onSelect}
    >
      <input
        type="checkbox"
        checked={done}
        aria-label={`Complete “${task.title}”`}
        className="h-4 w-4 shrink-0 cursor-pointer rounded-full accent-accent-600"
        onChange={() => !done && onComplete(task)}
        onClick={(event) => event.stopPropagation()}
      />
      <button
        type="button"
        className={`min-w-0 flex-1 truncate text-left ${done ? "text-zinc-500 line-through" : ""}`}
        onClick={() => onOpen(task)}
        aria-current={selected ? "true" : undefined}
      >
        {task.title}
      </button>
      <div className="flex shrink-0 items-center gap-2 text-xs text-zinc-600 dark:text-zinc-400">
        {task.tags.slice(0, 3).map((tag) => (
          <span
            key={tag}
            className="hidden rounded-full bg-zinc-100 px-2 py-0.5 sm:inline dark:bg-zinc-800"
          >
            #{tag}
          </span>
        ))}
        {task.subtask_count > 0 && <SubtaskCount task={task} />}
        {task.recurrence && (
          <span
            role="img"
            title={task.recurrence.text ? `Repeats ${task.recurrence.text}` : "Repeats"}
            aria-label={task.recurrence.text ? `Repeats ${task.recurrence.text}` : "Repeats"}
          >
            <RepeatIcon />
          </span>
        )}
        {task.priority !== "none" && (
          <span
            className={PRIORITY_COLOUR[task.priority]}
            title={`${PRIORITY_LABEL[task.priority]} priority`}
            aria-label={`${PRIORITY_LABEL[task.priority]} priority`}
            role="img"
          >
            <FlagIcon />
          </span>
        )}
        {due && (
          <time
            dateTime={task.due ?? undefined}
            title={due.full}
            className={due.overdue ? "font-medium text-red-700 dark:text-red-400" : ""}
          >
            {due.label}
          </time>
        )}
      </div>
    </div>
  );
});

/** "2/5" beside an icon; read out as "2 of 5 subtasks done". */
function SubtaskCount({ task }: { task: Task }) {
  const label = `${task.subtasks_done} of ${task.subtask_count} subtasks done`;
  const allDone = task.subtasks_done === task.subtask_count;
  return (
    <span
      role="img"
      aria-label={label}
      title={label}
      className={`flex items-center gap-0.5 tabular-nums ${allDone ? "text-green-700 dark:text-green-400" : ""}`}
    >
      <SubtaskIcon />
      {`${task.subtasks_done}/${task.subtask_count}`}
    </span>
  );
}

export function SkeletonRows({ count = 8 }: { count?: number }) {
  return (
    <div aria-hidden="true">
      {Array.from({ length: count }, (_, index) => (
        <div
          key={index}
          className="flex h-11 items-center gap-3 border-b border-zinc-100 px-4 dark:border-zinc-800"
        >
          <div className="h-4 w-4 rounded-full bg-zinc-200 dark:bg-zinc-700" />
          <div
            className="h-3 animate-pulse rounded bg-zinc-200 dark:bg-zinc-700"
            style={{ width: `${30 + ((index * 17) % 45)}%` }}
          />
        </div>
      ))}
    </div>
  );
}
