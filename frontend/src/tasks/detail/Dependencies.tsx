import { useMutation, useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, ifMatch, unwrap } from "../../api/client";
import { ApiError, describeError } from "../../api/problems";
import type { Page, Task } from "../../api/types";
import { STATUS_LABEL } from "../../api/types";
import { useDebounced } from "../../lib/useDebounced";
import { ChangedElsewhere, keys, storeTask } from "../queries";
import { input, label, muted, smallButton } from "./ui";

function getTask(id: string): Promise<Task> {
  return unwrap<Task>(api.GET("/api/v1/tasks/{task_id}", { params: { path: { task_id: id } } }));
}

function isTask(value: unknown): value is Task {
  return typeof value === "object" && value !== null && "id" in value && "version" in value;
}

/** The sentence for a refused add or remove. */
export function dependencyError(error: unknown, blocker?: Task): string {
  if (error instanceof ChangedElsewhere) return error.message;
  if (error instanceof ApiError && error.status === 409) {
    const name = blocker ? `“${blocker.title}”` : "That task";
    return `${name} already waits on this task (directly or through other tasks), so it cannot block it too: that would be a cycle.`;
  }
  return describeError(error);
}

/** "Blocked by": the tasks this one waits on; add one by searching your tasks by title, remove
 * one. Writes carry If-Match (a 412 reloads the task and says so); a cycle (409) is explained. */
export default function Dependencies({ task }: { task: Task }) {
  const client = useQueryClient();
  const [search, setSearch] = useState("");
  const [error, setError] = useState<string | null>(null);
  const query = useDebounced(search.trim(), 250);

  const blockers = useQueries({
    queries: task.depends_on.map((id) => ({
      queryKey: keys.task(id),
      queryFn: () => getTask(id),
      staleTime: 30_000,
    })),
  });
  const matches = useQuery({
    queryKey: ["task-search", query],
    queryFn: () =>
      unwrap<Page<Task>>(api.GET("/api/v1/tasks", { params: { query: { q: query, limit: 10 } } })),
    enabled: query.length >= 2,
    staleTime: 10_000,
  });

  /** Runs a dependency write with If-Match; afterwards the task is read again (its version moved). */
  async function write(call: (version: number | undefined) => Promise<unknown>): Promise<void> {
    const version = client.getQueryData<Task>(keys.task(task.id))?.version;
    try {
      const answer = await call(version);
      storeTask(client, isTask(answer) ? answer : await getTask(task.id));
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 412) {
        const body = failure.body as { current?: unknown } | null;
        if (isTask(body?.current)) storeTask(client, body.current);
        else void client.invalidateQueries({ queryKey: keys.task(task.id) });
        throw new ChangedElsewhere(isTask(body?.current) ? body.current : null);
      }
      throw failure;
    }
  }

  const add = useMutation({
    // Same queue as the panel's other edits of this task, so each sends the latest version.
    scope: { id: `task:${task.id}` },
    mutationFn: (blocker: Task) =>
      write((version) =>
        unwrap<Task>(
          api.POST("/api/v1/tasks/{task_id}/dependencies", {
            params: {
              path: { task_id: task.id },
              header: version === undefined ? undefined : ifMatch(version),
            },
            body: { depends_on_id: blocker.id },
          }),
        ),
      ),
    onSuccess: () => setSearch(""),
    onError: (failure, blocker) => setError(dependencyError(failure, blocker)),
  });
  const remove = useMutation({
    scope: { id: `task:${task.id}` },
    mutationFn: (blockerId: string) =>
      write((version) =>
        unwrap(
          api.DELETE("/api/v1/tasks/{task_id}/dependencies/{depends_on_id}", {
            params: {
              path: { task_id: task.id, depends_on_id: blockerId },
              header: version === undefined ? undefined : ifMatch(version),
            },
          }),
        ),
      ),
    onError: (failure) => setError(dependencyError(failure)),
  });

  const candidates = (matches.data?.items ?? []).filter(
    (item) => item.id !== task.id && !task.depends_on.includes(item.id),
  );
  return (
    <section aria-labelledby="dependencies-heading">
      <h2 id="dependencies-heading" className={label}>
        Blocked by
      </h2>
      {task.depends_on.length === 0 ? (
        <p className={muted}>Nothing blocks this task.</p>
      ) : (
        <ul aria-label="Blocked by" className="flex flex-col gap-1">
          {task.depends_on.map((id, index) => {
            const blocker = blockers[index]?.data;
            const title =
              blocker?.title ?? (blockers[index]?.isError ? "A task you cannot see" : "…");
            const done = blocker?.status === "done" || blocker?.status === "cancelled";
            return (
              <li key={id} className="flex items-center justify-between gap-2 text-sm">
                <span className={done ? "text-zinc-500 line-through" : ""}>
                  {title}
                  {blocker && <span className={muted}> · {STATUS_LABEL[blocker.status]}</span>}
                </span>
                <button
                  type="button"
                  className={smallButton}
                  aria-label={`Remove blocker: ${title}`}
                  disabled={remove.isPending}
                  onClick={() => {
                    setError(null);
                    remove.mutate(id);
                  }}
                >
                  <span aria-hidden="true">✕</span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
      <div className="mt-2">
        <label htmlFor="dependency-search" className="sr-only">
          Add a task that blocks this one
        </label>
        <input
          id="dependency-search"
          type="search"
          className={input}
          value={search}
          placeholder="Add a blocker: search your tasks"
          autoComplete="off"
          onChange={(event) => {
            setSearch(event.target.value);
            setError(null);
          }}
          aria-describedby={error ? "dependency-error" : undefined}
        />
        {query.length >= 2 && search.trim() === query && (
          <ul aria-label="Matching tasks" className="mt-1 flex flex-col">
            {matches.isPending ? (
              <li className={muted}>Searching…</li>
            ) : matches.isError ? (
              <li className="text-sm text-red-700 dark:text-red-400">
                {describeError(matches.error)}
              </li>
            ) : candidates.length === 0 ? (
              <li className={muted}>No other task matches “{query}”.</li>
            ) : (
              candidates.map((candidate) => (
                <li key={candidate.id}>
                  <button
                    type="button"
                    className="w-full rounded-md px-2 py-1 text-left text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800"
                    aria-label={`Blocked by “${candidate.title}”`}
                    disabled={add.isPending}
                    onClick={() => {
                      setError(null);
                      add.mutate(candidate);
                    }}
                  >
                    {candidate.title}
                  </button>
                </li>
              ))
            )}
          </ul>
        )}
        {error && (
          <p
            id="dependency-error"
            role="alert"
            className="mt-1 text-sm text-red-700 dark:text-red-400"
          >
            {error}
          </p>
        )}
      </div>
    </section>
  );
}
