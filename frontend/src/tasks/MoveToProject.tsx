import * as Dialog from "@radix-ui/react-dialog";
import { type InfiniteData, type QueryClient, useQueryClient } from "@tanstack/react-query";
import { useCallback, useMemo, useState } from "react";
import type { KeyboardEvent } from "react";
import { api, ifMatch, unwrap } from "../api/client";
import { ApiError, describeError } from "../api/problems";
import type { Page, Task } from "../api/types";
import { useToast } from "../shell/toasts";
import { keys, storeTask, useProjects } from "./queries";

/** Where a task can go: a project, or `null` for the Inbox. */
export interface Destination {
  projectId: string | null;
  name: string;
}

export const INBOX: Destination = { projectId: null, name: "Inbox (no project)" };

/** Destinations whose name holds every typed word, in any order and case. */
export function matchDestinations(all: readonly Destination[], text: string): Destination[] {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  return all.filter((place) => words.every((word) => place.name.toLowerCase().includes(word)));
}

/**
 * `#`: a small picker of the workspace's projects (and the Inbox) for one task. Typing filters,
 * arrows move, Enter moves the task there; Esc closes and focus goes back where it was.
 */
export function MoveToProjectDialog({
  task,
  workspaceId,
  onOpenChange,
  onChoose,
}: {
  /** The task to move; the dialog is open while there is one. */
  task: Task | null;
  workspaceId?: string;
  onOpenChange: (open: boolean) => void;
  onChoose: (task: Task, to: Destination) => void;
}) {
  const projects = useProjects(workspaceId);
  const [text, setText] = useState("");
  const [active, setActive] = useState(0);
  const all = useMemo<Destination[]>(
    () => [
      INBOX,
      ...(projects.data?.items ?? [])
        .filter((project) => !project.archived)
        .map((project) => ({ projectId: project.id, name: project.name })),
    ],
    [projects.data],
  );
  const shown = matchDestinations(all, text);
  const current = Math.min(active, shown.length - 1);
  const optionId = (place: Destination) => `move-to-${place.projectId ?? "inbox"}`;

  function close() {
    onOpenChange(false);
    setText("");
    setActive(0);
  }

  function choose(place: Destination | undefined) {
    if (!place || !task) return;
    close();
    onChoose(task, place);
  }

  function onKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      setActive((current + 1) % Math.max(1, shown.length));
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      setActive((current - 1 + shown.length) % Math.max(1, shown.length));
    } else if (event.key === "Enter") {
      event.preventDefault();
      choose(shown[current]);
    }
  }

  return (
    <Dialog.Root open={task !== null} onOpenChange={(open) => (open ? undefined : close())}>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-40 bg-black/40" />
        <Dialog.Content className="fixed left-1/2 top-24 z-50 w-[min(26rem,calc(100vw-2rem))] -translate-x-1/2 overflow-hidden rounded-xl bg-white shadow-xl dark:bg-zinc-900">
          <Dialog.Title className="truncate px-4 pt-3 text-sm font-semibold">
            Move “{task?.title}” to…
          </Dialog.Title>
          <Dialog.Description className="sr-only">
            Type to filter the projects; Enter moves the task, Esc leaves it where it is.
          </Dialog.Description>
          <label htmlFor="move-to-input" className="sr-only">
            Project
          </label>
          <input
            id="move-to-input"
            role="combobox"
            aria-expanded="true"
            aria-controls="move-to-list"
            aria-autocomplete="list"
            aria-activedescendant={shown[current] ? optionId(shown[current]) : undefined}
            autoComplete="off"
            value={text}
            onChange={(event) => {
              setText(event.target.value);
              setActive(0);
            }}
            onKeyDown={onKeyDown}
            placeholder="Project name…"
            className="w-full border-b border-zinc-200 bg-transparent px-4 py-3 text-base outline-none dark:border-zinc-700"
          />
          <ul
            id="move-to-list"
            role="listbox"
            aria-label="Projects"
            className="max-h-72 overflow-y-auto py-1"
          >
            {shown.length === 0 && (
              <li role="presentation" className="px-4 py-2 text-zinc-600 dark:text-zinc-400">
                No project matches.
              </li>
            )}
            {shown.map((place, index) => {
              const here = task !== null && place.projectId === task.project_id;
              return (
                <li
                  key={optionId(place)}
                  id={optionId(place)}
                  role="option"
                  aria-selected={index === current}
                  onMouseEnter={() => setActive(index)}
                  onClick={() => choose(place)}
                  className={`flex cursor-pointer items-center justify-between px-4 py-2 ${
                    index === current ? "bg-accent-50 dark:bg-zinc-800" : ""
                  }`}
                >
                  <span>{place.name}</span>
                  {here && (
                    <span className="text-xs text-zinc-600 dark:text-zinc-400">current</span>
                  )}
                </li>
              );
            })}
          </ul>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

type TaskPages = InfiniteData<Page<Task>, string | undefined>;
type Saved = [readonly unknown[], unknown][];

/** The lists hold a task only where it belongs: moved out of a project (or the Inbox) it
 * leaves that list at once; everywhere else it shows its new project. */
function showMoved(client: QueryClient, moved: Task): Saved {
  const saved: Saved = [
    ...client.getQueriesData({ queryKey: keys.lists }),
    [keys.task(moved.id), client.getQueryData(keys.task(moved.id))],
  ];
  for (const [key] of client.getQueriesData<TaskPages>({ queryKey: keys.lists })) {
    const query = key[2] as { project_id?: string } | undefined;
    const leaves =
      query?.project_id !== undefined &&
      query.project_id !== (moved.project_id === null ? "none" : moved.project_id);
    client.setQueryData<TaskPages>(key, (data) =>
      data
        ? {
            ...data,
            pages: data.pages.map((page) => ({
              ...page,
              items: leaves
                ? page.items.filter((item) => item.id !== moved.id)
                : page.items.map((item) => (item.id === moved.id ? moved : item)),
            })),
          }
        : data,
    );
  }
  const cached = client.getQueryData<Task>(keys.task(moved.id));
  if (cached) client.setQueryData(keys.task(moved.id), { ...cached, project_id: moved.project_id });
  return saved;
}

async function patchProject(task: Task, projectId: string | null): Promise<Task> {
  return unwrap<Task>(
    api.PATCH("/api/v1/tasks/{task_id}", {
      params: { path: { task_id: task.id }, header: ifMatch(task.version) },
      body: { project_id: projectId },
    }),
  );
}

/**
 * Move a task to a project (or the Inbox): shown at once, sent with If-Match on the version
 * shown, rolled back with a message when refused; the toast's Undo moves it back.
 */
export function useMoveToProject(projectName: (projectId: string | null) => string) {
  const client = useQueryClient();
  const toast = useToast();
  return useCallback(
    (task: Task, to: Destination) => {
      if (to.projectId === task.project_id) return;
      const refresh = () => {
        void client.invalidateQueries({ queryKey: keys.lists });
        void client.invalidateQueries({ queryKey: keys.counts });
      };
      const fail = (saved: Saved, error: unknown) => {
        for (const [key, data] of saved) client.setQueryData(key, data);
        if (error instanceof ApiError && error.status === 412) {
          const current = (error.body as { current?: Task } | null)?.current;
          if (current) storeTask(client, current);
          toast({
            tone: "error",
            message: "Someone else changed this task. It has been reloaded with their changes.",
          });
        } else {
          toast({ tone: "error", message: `Could not move the task: ${describeError(error)}` });
        }
        refresh();
      };
      const move = async (from: Task, projectId: string | null, undo: boolean) => {
        await client.cancelQueries({ queryKey: keys.lists });
        const saved = showMoved(client, { ...from, project_id: projectId });
        try {
          const moved = await patchProject(from, projectId);
          storeTask(client, moved);
          refresh();
          if (undo) {
            toast({ message: `“${task.title}” is back in ${projectName(task.project_id)}` });
            return;
          }
          toast({
            message: `Moved “${task.title}” to ${to.name}`,
            duration: 5000,
            action: { label: "Undo", onClick: () => void move(moved, task.project_id, true) },
          });
        } catch (error) {
          fail(saved, error);
        }
      };
      void move(task, to.projectId, false);
    },
    [client, projectName, toast],
  );
}
