import type { Announcements, KeyboardCoordinateGetter } from "@dnd-kit/core";
import type { Status, Task } from "../api/types";
import { STATUS_LABEL, STATUSES } from "../api/types";

export type Columns = Record<Status, Task[]>;

/** The board's columns: the API's statuses, in its order, each keeping the tasks' order. */
export function groupByStatus(tasks: Task[]): Columns {
  const columns = Object.fromEntries(STATUSES.map((status) => [status, [] as Task[]])) as Columns;
  for (const task of tasks) columns[task.status].push(task);
  return columns;
}

/** The board after a card moved: the task takes the new status and goes to its column's top. */
export function moveTask(tasks: Task[], id: string, status: Status): Task[] {
  const task = tasks.find((t) => t.id === id);
  if (!task || task.status === status) return tasks;
  return [{ ...task, status }, ...tasks.filter((t) => t.id !== id)];
}

export function replaceTask(tasks: Task[], task: Task): Task[] {
  return tasks.map((t) => (t.id === task.id ? task : t));
}

export function isStatus(value: unknown): value is Status {
  return typeof value === "string" && (STATUSES as readonly string[]).includes(value);
}

/** The column left or right of `current` for an arrow key, or null at the edge / other keys. */
export function nextColumn(current: Status, code: string): Status | null {
  const step = code === "ArrowRight" ? 1 : code === "ArrowLeft" ? -1 : 0;
  if (step === 0) return null;
  return STATUSES[STATUSES.indexOf(current) + step] ?? null;
}

/**
 * Keyboard dragging jumps a whole column per arrow key (the default moves 25 px, which takes
 * many presses and says nothing useful); up and down do nothing, since columns keep no order.
 */
export const columnCoordinates: KeyboardCoordinateGetter = (event, { context }) => {
  const overId = context.over?.id;
  const from = isStatus(overId) ? overId : context.active?.data.current?.status;
  if (!isStatus(from)) return undefined;
  const to = nextColumn(from, event.code);
  if (!to) return undefined;
  event.preventDefault();
  const rect = context.droppableRects.get(to);
  if (!rect) return undefined;
  return { x: rect.left + 8, y: rect.top + 8 };
};

function titleOf(tasks: Task[], id: unknown): string {
  return tasks.find((task) => task.id === id)?.title ?? "task";
}

function columnName(id: unknown): string {
  return isStatus(id) ? STATUS_LABEL[id] : "no column";
}

/** What a screen reader hears while a card is dragged (dnd-kit's live region). */
export function announcements(tasks: Task[]): Announcements {
  return {
    onDragStart: ({ active }) =>
      `Picked up “${titleOf(tasks, active.id)}” in ${columnName(active.data.current?.status)}. Left and right arrows move it between columns; Space drops it, Escape cancels.`,
    onDragOver: ({ active, over }) =>
      over
        ? `“${titleOf(tasks, active.id)}” is over ${columnName(over.id)}.`
        : `“${titleOf(tasks, active.id)}” is not over a column.`,
    onDragEnd: ({ active, over }) =>
      over
        ? `“${titleOf(tasks, active.id)}” was dropped in ${columnName(over.id)}.`
        : `“${titleOf(tasks, active.id)}” was dropped outside the board and did not move.`,
    onDragCancel: ({ active }) =>
      `Moving “${titleOf(tasks, active.id)}” was cancelled; it stays in ${columnName(active.data.current?.status)}.`,
  };
}

export const screenReaderInstructions = {
  draggable:
    "To move this task, press Space or Enter to pick it up, the left and right arrows to choose a column, and Space or Enter to drop it. Escape cancels.",
};
