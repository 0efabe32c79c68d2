import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { FormEvent } from "react";
import { api, unwrap } from "../api/client";
import { describeError } from "../api/problems";
import type { Page, Task } from "../api/types";
import { keys } from "./queries";

const subtasksKey = (id: string) => ["subtasks", id] as const;

/** A task's direct subtasks (tasks with parent_id), with add and complete/reopen. */
export function Subtasks({ parent }: { parent: Task }) {
  const client = useQueryClient();
  const [title, setTitle] = useState("");
  const [error, setError] = useState<string | null>(null);
  const subtasks = useQuery({
    queryKey: subtasksKey(parent.id),
    queryFn: () =>
      unwrap<Page<Task>>(
        api.GET("/api/v1/tasks/{task_id}/subtasks", {
          params: { path: { task_id: parent.id }, query: { limit: 200 } },
        }),
      ),
  });
  const refresh = () => {
    void client.invalidateQueries({ queryKey: subtasksKey(parent.id) });
    void client.invalidateQueries({ queryKey: keys.lists });
  };
  const add = useMutation({
    mutationFn: (text: string) =>
      unwrap<Task>(
        api.POST("/api/v1/tasks", {
          body: {
            id: crypto.randomUUID(),
            title: text,
            parent_id: parent.id,
            workspace_id: parent.workspace_id,
            project_id: parent.project_id,
          },
        }),
      ),
    onSettled: refresh,
  });
  const toggle = useMutation({
    mutationFn: async (task: Task): Promise<void> => {
      const params = { params: { path: { task_id: task.id } } };
      if (task.status === "done") await unwrap(api.POST("/api/v1/tasks/{task_id}/reopen", params));
      else await unwrap(api.POST("/api/v1/tasks/{task_id}/complete", params));
    },
    onMutate: async (task) => {
      await client.cancelQueries({ queryKey: subtasksKey(parent.id) });
      const before = client.getQueryData<Page<Task>>(subtasksKey(parent.id));
      client.setQueryData<Page<Task>>(subtasksKey(parent.id), (page) =>
        page
          ? {
              ...page,
              items: page.items.map((item) =>
                item.id === task.id
                  ? { ...item, status: task.status === "done" ? "todo" : "done" }
                  : item,
              ),
            }
          : page,
      );
      return { before };
    },
    onError: (failure, _task, context) => {
      client.setQueryData(subtasksKey(parent.id), context?.before);
      setError(describeError(failure));
    },
    onSettled: refresh,
  });

  async function submit(event: FormEvent) {
    event.preventDefault();
    const text = title.trim();
    if (!text) return;
    setError(null);
    setTitle("");
    try {
      await add.mutateAsync(text);
    } catch (failure) {
      setTitle(text);
      setError(describeError(failure));
    }
  }

  const items = subtasks.data?.items ?? [];
  const done = items.filter((item) => item.status === "done").length;
  return (
    <section aria-labelledby="subtasks-heading">
      <h2
        id="subtasks-heading"
        className="mb-1 text-xs font-semibold uppercase tracking-wide text-zinc-600 dark:text-zinc-400"
      >
        Subtasks{" "}
        {items.length > 0 && <span className="font-normal">{`${done}/${items.length}`}</span>}
      </h2>
      {subtasks.isPending ? (
        <p className="text-zinc-600 dark:text-zinc-400">Loading…</p>
      ) : (
        <ul className="mb-2 flex flex-col gap-1">
          {items.map((item) => (
            <li key={item.id} className="flex items-center gap-2">
              <input
                type="checkbox"
                id={`subtask-${item.id}`}
                checked={item.status === "done"}
                onChange={() => toggle.mutate(item)}
                className="h-4 w-4 accent-accent-600"
              />
              <label
                htmlFor={`subtask-${item.id}`}
                className={item.status === "done" ? "text-zinc-500 line-through" : ""}
              >
                {item.title}
              </label>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={submit}>
        <label htmlFor="add-subtask" className="sr-only">
          Add a subtask
        </label>
        <input
          id="add-subtask"
          value={title}
          onChange={(event) => setTitle(event.target.value)}
          placeholder="Add a subtask"
          autoComplete="off"
          className="w-full rounded-md border border-zinc-300 bg-white px-2 py-1.5 dark:border-zinc-700 dark:bg-zinc-950"
        />
      </form>
      {error && (
        <p role="alert" className="mt-1 text-sm text-red-700 dark:text-red-400">
          {error}
        </p>
      )}
    </section>
  );
}
