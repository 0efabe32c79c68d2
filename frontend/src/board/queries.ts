import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ifMatch, unwrap } from "../api/client";
import { ApiError, describeError } from "../api/problems";
import type { Page, Status, Task } from "../api/types";
import { OPEN_STATUSES } from "../api/types";
import { useToast } from "../shell/toasts";
import { keys, storeTask } from "../tasks/queries";
import type { ListQuery } from "../tasks/views";
import { moveTask, replaceTask } from "./board";

export const boardKey = (projectId: string) => ["board", projectId] as const;

/** Open tasks all (up to 1,000); done and cancelled only the latest 100, so old work stays out. */
export const CLOSED_SHOWN = 100;

async function fetchPages(query: ListQuery, maxPages: number, limit: number): Promise<Task[]> {
  const out: Task[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const answer = await unwrap<Page<Task>>(
      api.GET("/api/v1/tasks", { params: { query: { ...query, cursor, limit } } }),
    );
    out.push(...answer.items);
    cursor = answer.next_cursor ?? undefined;
    if (!cursor) break;
  }
  return out;
}

export function useBoardTasks(projectId: string) {
  return useQuery({
    queryKey: boardKey(projectId),
    queryFn: async () => {
      const [open, closed] = await Promise.all([
        fetchPages(
          { project_id: projectId, status: [...OPEN_STATUSES], sort: "due,-priority,created_at" },
          5,
          200,
        ),
        fetchPages(
          { project_id: projectId, status: ["done", "cancelled"], sort: "-updated_at" },
          1,
          CLOSED_SHOWN,
        ),
      ]);
      return [...open, ...closed];
    },
  });
}

function currentOf(error: unknown): Task | null {
  if (!(error instanceof ApiError) || error.status !== 412) return null;
  const current = (error.body as { current?: unknown } | null)?.current;
  return typeof current === "object" && current !== null && "version" in current
    ? (current as Task)
    : null;
}

/**
 * A drop: the card moves at once, the PATCH carries If-Match with the version the board holds,
 * and a refusal puts the card back and says why (a 412 shows the other person's copy).
 */
export function useMoveTask(projectId: string) {
  const client = useQueryClient();
  const toast = useToast();
  const key = boardKey(projectId);
  return useMutation({
    // One move at a time, so a second move of the same card sends the version the first made.
    scope: { id: `board:${projectId}` },
    mutationFn: ({ id, status }: { id: string; status: Status }) => {
      const version = client.getQueryData<Task[]>(key)?.find((task) => task.id === id)?.version;
      return unwrap<Task>(
        api.PATCH("/api/v1/tasks/{task_id}", {
          params: {
            path: { task_id: id },
            header: version === undefined ? undefined : ifMatch(version),
          },
          body: { status },
        }),
      );
    },
    onMutate: async ({ id, status }) => {
      await client.cancelQueries({ queryKey: key });
      const before = client.getQueryData<Task[]>(key);
      client.setQueryData<Task[]>(key, (tasks) => (tasks ? moveTask(tasks, id, status) : tasks));
      return { before };
    },
    onError: (error, { id }, context) => {
      client.setQueryData(key, context?.before);
      const current = currentOf(error);
      const title = context?.before?.find((task) => task.id === id)?.title ?? "The task";
      if (current) {
        client.setQueryData<Task[]>(key, (tasks) => (tasks ? replaceTask(tasks, current) : tasks));
        toast({
          tone: "error",
          message: `Someone else changed “${title}”; the board shows their version.`,
        });
      } else {
        toast({ tone: "error", message: `“${title}” was not moved: ${describeError(error)}` });
      }
    },
    onSuccess: (task) => {
      client.setQueryData<Task[]>(key, (tasks) => (tasks ? replaceTask(tasks, task) : tasks));
      storeTask(client, task);
    },
    onSettled: (_task, _error, { status }) => {
      void client.invalidateQueries({ queryKey: keys.lists });
      void client.invalidateQueries({ queryKey: keys.counts });
      // Completing a repeating task makes its next occurrence.
      if (status === "done") void client.invalidateQueries({ queryKey: key });
    },
  });
}
