import {
  DndContext,
  type DragEndEvent,
  type KeyboardCoordinateGetter,
  KeyboardSensor,
  PointerSensor,
  useDraggable,
  useDroppable,
  useSensor,
  useSensors,
} from "@dnd-kit/core";
import { CSS } from "@dnd-kit/utilities";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { NavLink } from "react-router-dom";
import { api, unwrap } from "../api/client";
import { describeError } from "../api/problems";
import type { Page, Project } from "../api/types";
import { keys, useProjects } from "../tasks/queries";
import { moveProject, neighbourId } from "./projectOrder";
import { useToast } from "./toasts";

/** Move a project after another: shown at once, rolled back (with a message) if refused. */
function useMoveProject(workspaceId?: string) {
  const client = useQueryClient();
  const toast = useToast();
  const key = keys.projects(workspaceId);
  return useMutation({
    mutationFn: ({ id, afterId }: { id: string; afterId: string | null; items: Project[] }) =>
      unwrap<Project>(
        api.PATCH("/api/v1/projects/{project_id}", {
          params: { path: { project_id: id } },
          body: { after_id: afterId },
        }),
      ),
    onMutate: async ({ items }) => {
      await client.cancelQueries({ queryKey: key });
      const before = client.getQueryData<Page<Project>>(key);
      client.setQueryData<Page<Project>>(key, (data) => (data ? { ...data, items } : data));
      return { before };
    },
    onError: (error, _move, context) => {
      client.setQueryData(key, context?.before);
      toast({ tone: "error", message: `Could not move the project: ${describeError(error)}` });
    },
    onSettled: () => client.invalidateQueries({ queryKey: key }),
  });
}

export function SidebarProjects({
  workspaceId,
  navItem,
  onNavigate,
}: {
  workspaceId?: string;
  navItem: (state: { isActive: boolean }) => string;
  onNavigate?: () => void;
}) {
  const projects = useProjects(workspaceId);
  const move = useMoveProject(workspaceId);
  const items = projects.data?.items ?? [];
  const ids = items.map((project) => project.id);
  const coordinates: KeyboardCoordinateGetter = (event, { context }) => {
    const current = String(context.over?.id ?? context.active?.id ?? "");
    const to = neighbourId(ids, current, event.code);
    if (!to) return undefined;
    event.preventDefault();
    const rect = context.droppableRects.get(to);
    return rect ? { x: rect.left + 4, y: rect.top + rect.height / 2 } : undefined;
  };
  const sensors = useSensors(
    useSensor(PointerSensor, { activationConstraint: { distance: 5 } }),
    useSensor(KeyboardSensor, { coordinateGetter: coordinates }),
  );
  const nameOf = (id: unknown) => items.find((p) => p.id === id)?.name ?? "project";
  function onDragEnd({ active, over }: DragEndEvent) {
    if (!over) return;
    const moved = moveProject(items, String(active.id), String(over.id));
    if (moved) move.mutate({ id: String(active.id), afterId: moved.afterId, items: moved.items });
  }
  return (
    <DndContext
      sensors={sensors}
      onDragEnd={onDragEnd}
      accessibility={{
        screenReaderInstructions: {
          draggable:
            "To move a project, press space or enter, use the up and down arrows, then press space or enter to drop it, or escape to cancel.",
        },
        announcements: {
          onDragStart: ({ active }) => `Picked up project ${nameOf(active.id)}.`,
          onDragOver: ({ active, over }) =>
            over
              ? `${nameOf(active.id)} is over ${nameOf(over.id)}.`
              : `${nameOf(active.id)} is over no project.`,
          onDragEnd: ({ active, over }) =>
            over
              ? `Moved ${nameOf(active.id)} to where ${nameOf(over.id)} was.`
              : `${nameOf(active.id)} was not moved.`,
          onDragCancel: ({ active }) => `Moving ${nameOf(active.id)} was cancelled.`,
        },
      }}
    >
      <ul className="flex flex-col gap-0.5">
        {projects.isPending && <li className="px-2 text-zinc-600 dark:text-zinc-400">Loading…</li>}
        {projects.data?.items.length === 0 && (
          <li className="px-2 text-zinc-600 dark:text-zinc-400">No projects yet</li>
        )}
        {items.map((project) => (
          <ProjectItem
            key={project.id}
            project={project}
            navItem={navItem}
            onNavigate={onNavigate}
          />
        ))}
      </ul>
    </DndContext>
  );
}

function ProjectItem({
  project,
  navItem,
  onNavigate,
}: {
  project: Project;
  navItem: (state: { isActive: boolean }) => string;
  onNavigate?: () => void;
}) {
  const { attributes, listeners, setNodeRef, transform, isDragging } = useDraggable({
    id: project.id,
  });
  const { setNodeRef: setDropRef, isOver } = useDroppable({ id: project.id });
  return (
    <li
      ref={setDropRef}
      className={`group flex items-center rounded-md ${isOver && !isDragging ? "ring-2 ring-accent-500" : ""}`}
      style={{
        transform: CSS.Translate.toString(transform),
        zIndex: isDragging ? 10 : undefined,
      }}
    >
      <NavLink
        to={`/projects/${project.id}`}
        className={(state) => `${navItem(state)} min-w-0 flex-1`}
        onClick={onNavigate}
      >
        <span
          aria-hidden="true"
          className="inline-block h-2.5 w-2.5 shrink-0 rounded-full"
          style={{ backgroundColor: project.color ?? "#a1a1aa" }}
        />
        <span className="truncate">{project.name}</span>
      </NavLink>
      <button
        type="button"
        ref={setNodeRef}
        {...listeners}
        {...attributes}
        aria-label={`Move ${project.name}`}
        className="cursor-grab rounded px-1.5 py-1 text-zinc-500 hover:bg-zinc-200 focus-visible:opacity-100 dark:hover:bg-zinc-800"
      >
        <span aria-hidden="true">⋮⋮</span>
      </button>
    </li>
  );
}
