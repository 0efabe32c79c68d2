import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { api, unwrap } from "../../api/client";
import { ApiError, describeError } from "../../api/problems";
import type { components } from "../../api/schema";
import type { Page, Task } from "../../api/types";
import { useMe } from "../queries";
import { formatClock, formatDuration, formatElapsed, formatInstant } from "./format";
import { label, muted } from "./ui";

export type TimeLog = components["schemas"]["TimeLogOut"];

export const timeLogsKey = (taskId: string) => ["time-logs", taskId] as const;
/** The task the user's timer last ran on, as this tab saw it: to say which timer a start stopped. */
const runningKey = ["timer", "running"] as const;
interface Running {
  taskId: string;
  title: string;
}

function secondsOf(log: TimeLog, now: number): number {
  if (log.duration_seconds !== null) return log.duration_seconds;
  return (now - new Date(log.started_at).getTime()) / 1000;
}

/** Time tracking on the task: Start/Stop (one running timer per user: starting here stops one
 * running on another task, and the panel says so), the running time ticking, and the logs. */
export default function Timer({ task, timeZone }: { task: Task; timeZone: string }) {
  const client = useQueryClient();
  const me = useMe();
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const logs = useQuery({
    queryKey: timeLogsKey(task.id),
    queryFn: () =>
      unwrap<Page<TimeLog>>(
        api.GET("/api/v1/tasks/{task_id}/time-logs", {
          params: { path: { task_id: task.id }, query: { limit: 200 } },
        }),
      ),
  });
  const items = logs.data?.items ?? [];
  const myId = me.data?.id;
  const running = items.find(
    (log) => log.stopped_at === null && (myId === undefined || log.user_id === myId),
  );

  useEffect(() => {
    if (running) client.setQueryData<Running>(runningKey, { taskId: task.id, title: task.title });
  }, [client, running, task.id, task.title]);

  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!running) return;
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(tick);
  }, [running]);

  const start = useMutation({
    mutationFn: () =>
      unwrap<TimeLog>(
        api.POST("/api/v1/tasks/{task_id}/timer/start", {
          params: { path: { task_id: task.id } },
        }),
      ),
    onMutate: () => client.getQueryData<Running>(runningKey),
    onSuccess: (log, _vars, before) => {
      setNow(Date.now());
      if (before && before.taskId !== task.id) {
        setNotice(
          `Your timer on “${before.title}” was stopped: one timer runs at a time, and it now runs here.`,
        );
      }
      client.setQueryData<Running>(runningKey, { taskId: task.id, title: task.title });
      client.setQueryData<Page<TimeLog>>(timeLogsKey(task.id), (page) =>
        page && !page.items.some((item) => item.id === log.id)
          ? { ...page, items: [...page.items, log] }
          : page,
      );
    },
    onError: (failure) =>
      setError(
        failure instanceof ApiError && failure.status === 409
          ? `${describeError(failure)} — another timer was started at the same moment. Try again.`
          : describeError(failure),
      ),
    // Whatever ran elsewhere has stopped: every task's logs may have changed.
    onSettled: () => void client.invalidateQueries({ queryKey: ["time-logs"] }),
  });
  const stop = useMutation({
    mutationFn: () =>
      unwrap<TimeLog>(
        api.POST("/api/v1/tasks/{task_id}/timer/stop", {
          params: { path: { task_id: task.id } },
          body: {},
        }),
      ),
    onSuccess: () => client.setQueryData(runningKey, null),
    onError: (failure) => {
      if (failure instanceof ApiError && failure.status === 409) {
        client.setQueryData(runningKey, null);
        setError(
          "This timer had already stopped — perhaps from another device, or by starting one on another task.",
        );
      } else setError(describeError(failure));
    },
    onSettled: () => void client.invalidateQueries({ queryKey: timeLogsKey(task.id) }),
  });

  function toggle() {
    setNotice(null);
    setError(null);
    if (running) stop.mutate();
    else start.mutate();
  }

  const total = items.reduce((sum, log) => sum + secondsOf(log, now), 0);
  const newestFirst = [...items].reverse();
  const busy = start.isPending || stop.isPending;
  return (
    <section aria-labelledby="timer-heading">
      <h2 id="timer-heading" className={label}>
        Time tracked
      </h2>
      <div className="flex items-center gap-3">
        <button
          type="button"
          onClick={toggle}
          disabled={busy || logs.isPending}
          aria-pressed={running ? true : false}
          className={`rounded-md px-3 py-1.5 text-sm font-medium text-white disabled:opacity-50 ${
            running ? "bg-red-700 hover:bg-red-800" : "bg-accent-600 hover:bg-accent-700"
          }`}
        >
          <span aria-hidden="true">{running ? "■ " : "▶ "}</span>
          {running ? "Stop timer" : "Start timer"}
        </button>
        {running && (
          <span className="font-mono tabular-nums" role="timer" aria-label="Running time">
            {formatElapsed(secondsOf(running, now))}
          </span>
        )}
        <span className={`ml-auto ${muted}`}>
          Total <span className="font-medium">{formatDuration(total)}</span>
        </span>
      </div>
      {!running && !notice && (
        <p className={`mt-1 text-xs ${muted}`}>Starting stops a timer running on another task.</p>
      )}
      {notice && (
        <p role="status" className="mt-2 rounded-md bg-amber-100 px-3 py-2 text-sm text-amber-900">
          {notice}
        </p>
      )}
      {error && (
        <p role="alert" className="mt-2 text-sm text-red-700 dark:text-red-400">
          {error}
        </p>
      )}
      {logs.isError ? (
        <p role="alert" className="mt-2 text-sm text-red-700 dark:text-red-400">
          {describeError(logs.error)}
        </p>
      ) : (
        newestFirst.length > 0 && (
          <ul aria-label="Time logs" className="mt-2 flex flex-col gap-1 text-sm">
            {newestFirst.map((log) => (
              <li key={log.id} className="flex justify-between gap-2">
                <span>
                  {formatInstant(log.started_at, timeZone)}–
                  {log.stopped_at ? formatClock(log.stopped_at, timeZone) : "now"}
                  {log.note && <span className={muted}> · {log.note}</span>}
                </span>
                <span className="tabular-nums">
                  {log.stopped_at ? formatDuration(secondsOf(log, now)) : "running"}
                </span>
              </li>
            ))}
          </ul>
        )
      )}
    </section>
  );
}
