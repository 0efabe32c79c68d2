import {
  type CollisionDetection,
  DndContext,
  type DragEndEvent,
  KeyboardSensor,
  PointerSensor,
  pointerWithin,
  rectIntersection,
  useDraggable,
  useDroppable,
  useSensor,
  useSensors,
} from "@dnd-kit/core";
import { CSS } from "@dnd-kit/utilities";
import { useMemo, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { describeError } from "../api/problems";
import type { Status, Task } from "../api/types";
import { PRIORITY_LABEL, STATUS_LABEL, STATUSES } from "../api/types";
import { relativeDue } from "../lib/dates";
import { FlagIcon } from "../shell/icons";
import { useShell } from "../shell/shellContext";
import { useProjects } from "../tasks/queries";
import { PRIORITY_COLOUR } from "../tasks/TaskRow";
import {
  announcements,
  columnCoordinates,
  groupByStatus,
  isStatus,
  screenReaderInstructions,
} from "./board";
import { CLOSED_SHOWN, useBoardTasks, useMoveTask } from "./queries";
import { ViewSwitch } from "./ViewSwitch";

const muted = "text-zinc-600 dark:text-zinc-400";

// The pointer decides where a mouse drop lands; keyboard drags have no pointer, so the card's
// rectangle (moved a column at a time) does.
const collision: CollisionDetection = (args) => {
  const hits = pointerWithin(args);
  return hits.length > 0 ? hits : rectIntersection(args);
};

export default function BoardPage() {
  const { projectId = "" } = useParams();
  const { workspaceId, timeZone } = useShell();
  const projects = useProjects(workspaceId);
  const name = projects.data?.items.find((p) => p.id === projectId)?.name ?? "Project";
  const board = useBoardTasks(projectId);
  const move = useMoveTask(projectId);
  const tasks = useMemo(() => board.data ?? [], [board.data]);
  const columns = useMemo(() => groupByStatus(tasks), [tasks]);
  const [now] = useState(() => new Date());
  const sensors = useSensors(
    useSensor(PointerSensor, { activationConstraint: { distance: 5 } }),
    useSensor(KeyboardSensor, { coordinateGetter: columnCoordinates }),
  );
  const spoken = useMemo(() => announcements(tasks), [tasks]);

  function moveTo(id: string, status: Status) {
    const task = tasks.find((t) => t.id === id);
    if (!task || task.status === status) return;
    move.mutate({ id, status });
  }

  function onDragEnd({ active, over }: DragEndEvent) {
    if (over && isStatus(over.id)) moveTo(String(active.id), over.id);
  }

  return (
    <main aria-labelledby="board-title" className="flex min-h-0 min-w-0 flex-1 flex-col">
      <header className="flex items-center gap-3 px-4 pb-2 pt-4">
        <h1 id="board-title" className="flex-1 truncate text-xl font-semibold">
          {name}
        </h1>
        <ViewSwitch projectId={projectId} />
      </header>
      {board.isError && (
        <p role="alert" className="px-4 text-red-700 dark:text-red-400">
          {describeError(board.error)}
        </p>
      )}
      {board.isPending ? (
        <p className={`px-4 ${muted}`} aria-busy="true">
          Loading the board…
        </p>
      ) : (
        <DndContext
          sensors={sensors}
          collisionDetection={collision}
          onDragEnd={onDragEnd}
          accessibility={{ announcements: spoken, screenReaderInstructions }}
        >
          <div className="flex min-h-0 flex-1 gap-3 overflow-x-auto px-4 pb-4">
            {STATUSES.map((status) => (
              <Column
                key={status}
                status={status}
                tasks={columns[status]}
                projectId={projectId}
                now={now}
                timeZone={timeZone}
                onMove={moveTo}
              />
            ))}
          </div>
        </DndContext>
      )}
    </main>
  );
}

function Column({
  status,
  tasks,
  projectId,
  now,
  timeZone,
  onMove,
}: {
  status: Status;
  tasks: Task[];
  projectId: string;
  now: Date;
  timeZone: string;
  onMove: (id: string, status: Status) => void;
}) {
  const { setNodeRef, isOver } = useDroppable({ id: status });
  const headingId = `column-${status}`;
  const closed = status === "done" || status === "cancelled";
  return (
    <section
      ref={setNodeRef}
      aria-labelledby={headingId}
      className={`flex w-72 shrink-0 flex-col rounded-lg bg-zinc-50 p-2 dark:bg-zinc-950 ${
        isOver ? "ring-2 ring-accent-500" : ""
      }`}
    >
      <h2 id={headingId} className="flex items-center gap-2 px-1 pb-2 font-semibold">
        {STATUS_LABEL[status]}
        <span className={`text-xs font-normal tabular-nums ${muted}`}>{tasks.length}</span>
      </h2>
      <ul
        aria-label={`${STATUS_LABEL[status]}, ${tasks.length} tasks`}
        className="flex min-h-16 flex-col gap-2 overflow-y-auto"
      >
        {tasks.map((task) => (
          <Card
            key={task.id}
            task={task}
            projectId={projectId}
            now={now}
            timeZone={timeZone}
            onMove={onMove}
          />
        ))}
      </ul>
      {tasks.length === 0 && <p className={`px-1 text-sm ${muted}`}>Drop a task here</p>}
      {closed && tasks.length >= CLOSED_SHOWN && (
        <p className={`px-1 pt-2 text-xs ${muted}`}>The latest {CLOSED_SHOWN} are shown.</p>
      )}
    </section>
  );
}

function Card({
  task,
  projectId,
  now,
  timeZone,
  onMove,
}: {
  task: Task;
  projectId: string;
  now: Date;
  timeZone: string;
  onMove: (id: string, status: Status) => void;
}) {
  const { attributes, listeners, setNodeRef, transform, isDragging } = useDraggable({
    id: task.id,
    data: { status: task.status },
  });
  const due = task.due ? relativeDue(task.due, now, timeZone) : null;
  const moveId = `move-${task.id}`;
  return (
    <li
      className={`rounded-md border border-zinc-200 bg-white shadow-sm dark:border-zinc-700 dark:bg-zinc-900 ${
        isDragging ? "relative z-10 opacity-80 shadow-lg" : ""
      }`}
      style={{ transform: CSS.Translate.toString(transform) }}
    >
      <div
        ref={setNodeRef}
        {...listeners}
        {...attributes}
        className="cursor-grab touch-none rounded-t-md px-3 pb-1 pt-2 focus-visible:outline-2 focus-visible:outline-accent-600"
      >
        <p
          className={task.status === "done" ? "text-zinc-500 line-through dark:text-zinc-400" : ""}
        >
          {task.title}
        </p>
        <div className={`mt-1 flex items-center gap-2 text-xs ${muted}`}>
          {task.priority !== "none" && (
            <span
              className={PRIORITY_COLOUR[task.priority]}
              aria-label={`${PRIORITY_LABEL[task.priority]} priority`}
              role="img"
            >
              <FlagIcon />
            </span>
          )}
          {due && (
            <time
              dateTime={task.due ?? undefined}
              className={due.overdue ? "font-medium text-red-700 dark:text-red-400" : ""}
            >
              {due.label}
            </time>
          )}
          {task.tags.slice(0, 2).map((tag) => (
            <span key={tag} className="rounded-full bg-zinc-100 px-2 py-0.5 dark:bg-zinc-800">
              #{tag}
            </span>
          ))}
        </div>
      </div>
      {/* The same move without dragging (WCAG 2.5.7), and a way into the task. */}
      <div className="flex items-center gap-2 px-3 pb-2 text-xs">
        <label htmlFor={moveId} className="sr-only">
          Move “{task.title}” to
        </label>
        <select
          id={moveId}
          value={task.status}
          onChange={(event) => onMove(task.id, event.target.value as Status)}
          className="rounded border border-zinc-200 bg-transparent px-1 py-0.5 dark:border-zinc-700"
        >
          {STATUSES.map((status) => (
            <option key={status} value={status}>
              {STATUS_LABEL[status]}
            </option>
          ))}
        </select>
        <Link
          to={`/projects/${projectId}?task=${task.id}`}
          className="ml-auto text-accent-700 hover:underline dark:text-accent-100"
          aria-label={`Open “${task.title}”`}
        >
          Open
        </Link>
      </div>
    </li>
  );
}
