import { useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../../api/client";
import { describeError } from "../../api/problems";
import type { components } from "../../api/schema";
import type { Page, Task } from "../../api/types";
import { keys, useMe } from "../queries";
import { formatInstant, relativeTime } from "./format";
import { type HistoryEntry, describeActor, describeEntry } from "./historyText";
import { label, muted } from "./ui";

type Member = components["schemas"]["MemberRead"];

export const historyKey = (taskId: string) => ["history", taskId] as const;

/** The task's change history as a timeline, newest first; collapsed, read when opened. */
export default function History({ task, timeZone }: { task: Task; timeZone: string }) {
  const [open, setOpen] = useState(false);
  return (
    <section>
      <h2 className={label}>
        <button
          type="button"
          aria-expanded={open}
          aria-controls="task-history"
          onClick={() => setOpen(!open)}
          className="uppercase tracking-wide hover:underline"
        >
          <span aria-hidden="true">{open ? "▾ " : "▸ "}</span>
          History
        </button>
      </h2>
      {open && <Timeline task={task} timeZone={timeZone} />}
    </section>
  );
}

function Timeline({ task, timeZone }: { task: Task; timeZone: string }) {
  const client = useQueryClient();
  const me = useMe();
  const history = useInfiniteQuery({
    // Each save adds an entry: the task's version in the key reads it again after one.
    queryKey: [...historyKey(task.id), task.version],
    queryFn: ({ pageParam }) =>
      unwrap<Page<HistoryEntry>>(
        api.GET("/api/v1/tasks/{task_id}/history", {
          params: { path: { task_id: task.id }, query: { limit: 200, cursor: pageParam } },
        }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  // Names of the workspace's members, for "who"; without them (no access) it says "Someone".
  const members = useQuery({
    queryKey: ["members", task.workspace_id],
    queryFn: () =>
      unwrap<Page<Member>>(
        api.GET("/api/v1/workspaces/{workspace_id}/members", {
          params: { path: { workspace_id: task.workspace_id } },
        }),
      ),
    staleTime: 5 * 60_000,
    retry: false,
  });
  const names = new Map((members.data?.items ?? []).map((m) => [m.user_id, m.name || m.email]));
  const ctx = {
    timeZone,
    taskTitle: (id: string) => client.getQueryData<Task>(keys.task(id))?.title,
  };
  const now = new Date();

  if (history.isPending) {
    return (
      <p id="task-history" className={muted}>
        Loading history…
      </p>
    );
  }
  if (history.isError) {
    return (
      <p id="task-history" role="alert" className="text-sm text-red-700 dark:text-red-400">
        {describeError(history.error)}
      </p>
    );
  }
  // The API pages oldest first; the timeline shows the newest on top.
  const entries = history.data.pages.flatMap((page) => page.items).reverse();
  return (
    <div id="task-history">
      {history.hasNextPage && (
        <button
          type="button"
          className="mb-2 text-sm text-accent-600 hover:underline dark:text-accent-100"
          disabled={history.isFetchingNextPage}
          onClick={() => void history.fetchNextPage()}
        >
          Load later changes
        </button>
      )}
      {entries.length === 0 ? (
        <p className={muted}>No changes recorded yet.</p>
      ) : (
        <ol
          aria-label="History"
          className="flex flex-col gap-2 border-l border-zinc-200 pl-3 dark:border-zinc-800"
        >
          {entries.map((entry) => (
            <li key={entry.id} className="text-sm">
              {describeEntry(entry, ctx).map((line) => (
                <p key={line}>{line}</p>
              ))}
              <p className={`text-xs ${muted}`}>
                {describeActor(entry.haven_actor, me.data?.id, names)} ·{" "}
                <time dateTime={entry.time} title={formatInstant(entry.time, timeZone)}>
                  {relativeTime(entry.time, now)}
                </time>
              </p>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
