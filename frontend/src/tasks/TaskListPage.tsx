import { useVirtualizer } from "@tanstack/react-virtual";
import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useParams, useSearchParams } from "react-router-dom";
import type { SavedSearch, Task } from "../api/types";
import { SaveSearchButton } from "../savedsearches/SaveSearchButton";
import { describeError } from "../api/problems";
import { dayInZone, groupByDay, relativeDue } from "../lib/dates";
import { useShortcuts } from "../lib/keyboard";
import { useDebounced } from "../lib/useDebounced";
import { SearchIcon } from "../shell/icons";
import { useShell } from "../shell/shellContext";
import { useToast } from "../shell/toasts";
import {
  keys,
  storeTask,
  useCompleteTask,
  useProjects,
  useReopenTask,
  useTaskList,
} from "./queries";
import { markListShown } from "./firstList";
import { MoveToProjectDialog, useMoveToProject } from "./MoveToProject";
import { ViewSwitch } from "../board/ViewSwitch";
import { QuickAdd } from "./QuickAdd";
import { SkeletonRows, TaskRow } from "./TaskRow";
import { listSpec, SMART_VIEWS, type Selection, type SmartView } from "./views";
import { useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";

const TaskDetail = lazy(() => import("./TaskDetail"));
const ROW_HEIGHT = 44;
const DAY_HEIGHT = 40;

/** What the list shows, one virtual item each: a day's heading (Upcoming) or a task. */
type Row = { kind: "day"; day: string; heading: string } | { kind: "task"; task: Task; at: number };

function useSelection(search?: SavedSearch): Selection {
  const params = useParams();
  const { workspaceId } = useShell();
  const projects = useProjects(workspaceId);
  if (search) return { kind: "search", search };
  if (params.projectId) {
    const name = projects.data?.items.find((p) => p.id === params.projectId)?.name;
    return { kind: "project", projectId: params.projectId, name };
  }
  if (params.tag) return { kind: "tag", tag: params.tag };
  const view = SMART_VIEWS.find((v) => v.id === params.view)?.id ?? "inbox";
  return { kind: "view", view: view as SmartView };
}

/** "Now", moved on each minute so relative dates stay true while the page is open. */
function useMinute(): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = setInterval(() => setNow(new Date()), 60_000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

/** A list of tasks: a smart view, a project, a tag, or (`search`) a saved search. */
export default function TaskListPage({ search: saved }: { search?: SavedSearch } = {}) {
  const { workspaceId, timeZone } = useShell();
  const selection = useSelection(saved);
  const now = useMinute();
  const [search, setSearch] = useState("");
  const q = useDebounced(search.trim(), 250);
  const today = dayInZone(now, timeZone);
  // The list's filters change with the day, not with every minute.
  const spec = useMemo(
    () => listSpec(selection, { workspaceId, timeZone, now: new Date() }),
    // eslint-disable-next-line react-hooks/exhaustive-deps -- recomputed per day, see above
    [JSON.stringify(selection), workspaceId, timeZone, today],
  );
  const query = useMemo(() => (q ? { ...spec.query, q } : spec.query), [spec.query, q]);
  const list = useTaskList(spec.key, query);
  const listKey = keys.list(spec.key, query);
  const complete = useCompleteTask();
  const reopen = useReopenTask();
  const toast = useToast();
  const client = useQueryClient();
  const [params, setParams] = useSearchParams();
  const openId = params.get("task");
  // No row is selected until j/k (or a click) picks one; j then starts at the top.
  const [selected, setSelected] = useState(-1);
  const quickAdd = useRef<HTMLInputElement>(null);
  const searchBox = useRef<HTMLInputElement>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const titleFocus = useRef(false);

  const loaded = useMemo(() => {
    const all = list.data?.pages.flatMap((page) => page.items) ?? [];
    const rule = spec.keep;
    return rule ? all.filter((task) => rule(task, now, timeZone)) : all;
  }, [list.data, spec, now, timeZone]);
  // Upcoming reads like a calendar: a heading per day, its tasks under it. `tasks` is the
  // order they are shown in (j/k walk it); `rows` adds the headings, `rowOf` finds a task's.
  const byDay = selection.kind === "view" && selection.view === "upcoming";
  const { tasks, rows, rowOf } = useMemo(() => {
    const groups = byDay ? groupByDay(loaded, timeZone, today) : null;
    const shown = groups ? groups.flatMap((group) => group.items) : loaded;
    const all: Row[] = [];
    const rowIndex: number[] = [];
    const add = (task: Task) => {
      rowIndex.push(all.length);
      all.push({ kind: "task", task, at: rowIndex.length - 1 });
    };
    if (groups) {
      for (const group of groups) {
        all.push({ kind: "day", day: group.day, heading: group.heading });
        group.items.forEach(add);
      }
    } else shown.forEach(add);
    return { tasks: shown, rows: all, rowOf: rowIndex };
  }, [byDay, loaded, timeZone, today]);

  // eslint-disable-next-line react-hooks/incompatible-library -- TanStack Virtual is meant to re-render; this component is not memoised by the compiler
  const virtual = useVirtualizer({
    count: rows.length + (list.hasNextPage ? 1 : 0),
    getScrollElement: () => scroller.current,
    estimateSize: (index) => (rows[index]?.kind === "day" ? DAY_HEIGHT : ROW_HEIGHT),
    overscan: 10,
    // Before the scroller is measured, assume a screenful: the first paint shows rows.
    initialRect: { width: 0, height: 800 },
  });
  const visible = virtual.getVirtualItems();
  const lastVisible = visible[visible.length - 1]?.index ?? 0;
  useEffect(() => {
    if (lastVisible >= rows.length - 10 && list.hasNextPage && !list.isFetchingNextPage) {
      void list.fetchNextPage();
    }
  }, [lastVisible, rows.length, list]);

  const selectedIndex = Math.min(selected, tasks.length - 1);
  useEffect(() => {
    if (!list.isPending) markListShown();
  }, [list.isPending]);
  const selectedTask = tasks[selectedIndex];

  const open = useCallback(
    (task: Task, focusTitle = false, replace = false) => {
      titleFocus.current = focusTitle;
      client.setQueryData(keys.task(task.id), (cached: Task | undefined) => cached ?? task);
      setParams(
        (current) => {
          const next = new URLSearchParams(current);
          next.set("task", task.id);
          return next;
        },
        { replace },
      );
    },
    [client, setParams],
  );
  const close = useCallback(() => {
    setParams((current) => {
      const next = new URLSearchParams(current);
      next.delete("task");
      return next;
    });
    // Focus goes back to the row the panel belonged to.
    requestAnimationFrame(() =>
      scroller.current?.querySelector<HTMLElement>('[aria-current="true"]')?.focus(),
    );
  }, [setParams]);

  // Rows whose completion is on its way: their checkbox shows the tick at once.
  const [completing, setCompleting] = useState<ReadonlySet<string>>(new Set());
  const completeTask = useCallback(
    (task: Task) => {
      setCompleting((ids) => new Set(ids).add(task.id));
      const settle = () =>
        setCompleting((ids) => {
          const next = new Set(ids);
          next.delete(task.id);
          return next;
        });
      complete.mutate(task, {
        onSettled: settle,
        onSuccess: (result) =>
          toast({
            message: result.next?.due
              ? `Completed “${task.title}” — next: ${relativeDue(result.next.due, new Date(), timeZone).label}`
              : `Completed “${task.title}”`,
            duration: 5000,
            action: {
              label: "Undo",
              onClick: () =>
                reopen.mutate(task.id, {
                  onError: (error) => toast({ tone: "error", message: describeError(error) }),
                }),
            },
          }),
        onError: (error) =>
          toast({ tone: "error", message: `Could not complete the task: ${describeError(error)}` }),
      });
    },
    [complete, reopen, toast, timeZone],
  );

  const dueToday = useCallback(
    async (task: Task) => {
      try {
        const saved = await unwrap<Task>(
          api.PATCH("/api/v1/tasks/{task_id}", {
            params: { path: { task_id: task.id }, header: { "If-Match": `"${task.version}"` } },
            body: { due: today },
          }),
        );
        storeTask(client, saved);
        toast({ message: `“${task.title}” is due today` });
        void client.invalidateQueries({ queryKey: keys.lists });
        void client.invalidateQueries({ queryKey: keys.counts });
      } catch (error) {
        toast({ tone: "error", message: describeError(error) });
      }
    },
    [client, today, toast],
  );

  const move = (by: number) => {
    if (tasks.length === 0) return;
    const openIndex = openId ? tasks.findIndex((task) => task.id === openId) : -1;
    const current = openIndex >= 0 ? openIndex : selectedIndex;
    const from = current < 0 && by < 0 ? tasks.length : current;
    const next = Math.max(0, Math.min(tasks.length - 1, from + by));
    setSelected(next);
    virtual.scrollToIndex(rowOf[next] ?? next);
    // With the panel open, j/k walk through the tasks in it.
    const task = tasks[next];
    if (openId && task && task.id !== openId) open(task, false, true);
  };

  // `#`: the selected task (or the one open in the panel) to another project.
  const projects = useProjects(workspaceId);
  const projectName = useCallback(
    (projectId: string | null) =>
      projectId === null
        ? "the Inbox"
        : (projects.data?.items.find((p) => p.id === projectId)?.name ?? "its project"),
    [projects.data],
  );
  const moveToProject = useMoveToProject(projectName);
  const [moving, setMoving] = useState<Task | null>(null);
  const openTask = openId
    ? (tasks.find((task) => task.id === openId) ?? client.getQueryData<Task>(keys.task(openId)))
    : undefined;

  useShortcuts({
    q: () => quickAdd.current?.focus(),
    "/": () => searchBox.current?.focus(),
    j: () => move(1),
    k: () => move(-1),
    Enter: () => selectedTask && open(selectedTask),
    e: () => selectedTask && open(selectedTask, true),
    x: () => selectedTask && completeTask(selectedTask),
    t: () => selectedTask && void dueToday(selectedTask),
    "#": () => {
      const task = openTask ?? selectedTask;
      if (task) setMoving(task);
    },
    Escape: () => {
      if (openId) close();
      else if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
    },
  });

  return (
    <div className="flex min-h-0 flex-1">
      <main
        className={`flex min-w-0 flex-1 flex-col ${openId ? "hidden md:flex" : "flex"}`}
        aria-labelledby="list-title"
      >
        <header className="flex items-center gap-3 px-4 pb-2 pt-4">
          <h1 id="list-title" className="flex-1 truncate text-xl font-semibold">
            {spec.title}
          </h1>
          {selection.kind === "project" && <ViewSwitch projectId={selection.projectId} />}
          {q && selection.kind !== "search" && (
            <SaveSearchButton
              query={query}
              fixedDates={selection.kind !== "view"}
              workspaceId={workspaceId}
              suggestedName={q}
            />
          )}
          <div className="relative">
            <label htmlFor="search" className="sr-only">
              Search tasks
            </label>
            <SearchIcon className="pointer-events-none absolute left-2 top-2.5 text-zinc-400" />
            <input
              id="search"
              ref={searchBox}
              type="search"
              value={search}
              onChange={(event) => setSearch(event.target.value)}
              onKeyDown={(event) => {
                if (event.key === "Escape") {
                  setSearch("");
                  event.currentTarget.blur();
                }
              }}
              placeholder="Search (/)"
              className="w-40 rounded-md border border-zinc-200 bg-white py-1.5 pl-8 pr-2 sm:w-56 dark:border-zinc-700 dark:bg-zinc-900"
            />
          </div>
        </header>
        <QuickAdd ref={quickAdd} timeZone={timeZone} defaults={spec.defaults} listKey={listKey} />
        <div ref={scroller} className="min-h-0 flex-1 overflow-y-auto" aria-busy={list.isPending}>
          {list.isPending ? (
            <>
              <span className="sr-only">Loading tasks…</span>
              <SkeletonRows />
            </>
          ) : list.isError ? (
            <div role="alert" className="p-6 text-red-700 dark:text-red-400">
              <p>Could not load these tasks: {describeError(list.error)}</p>
              <button type="button" className="mt-2 underline" onClick={() => void list.refetch()}>
                Try again
              </button>
            </div>
          ) : tasks.length === 0 ? (
            <p className="p-8 text-center text-zinc-600 dark:text-zinc-400">
              {q ? `No tasks match “${q}”.` : spec.empty}
            </p>
          ) : (
            <ul
              aria-label={`${spec.title} tasks`}
              className="relative w-full"
              style={{ height: virtual.getTotalSize() }}
            >
              {visible.map((item) => {
                const row = rows[item.index];
                const task = row?.kind === "task" ? row.task : undefined;
                const at = row?.kind === "task" ? row.at : -1;
                return (
                  <li
                    key={row ? (row.kind === "day" ? `day:${row.day}` : row.task.id) : "more"}
                    className="absolute left-0 top-0 w-full"
                    // Only the rows near the viewport exist: tell assistive tech the whole size.
                    aria-setsize={list.hasNextPage ? -1 : rows.length}
                    aria-posinset={item.index + 1}
                    style={{ height: item.size, transform: `translateY(${item.start}px)` }}
                  >
                    {row?.kind === "day" ? (
                      <h2 className="flex h-10 items-end border-b border-zinc-200 px-4 pb-1.5 text-sm font-semibold dark:border-zinc-700">
                        {row.heading}
                      </h2>
                    ) : task ? (
                      <TaskRow
                        task={task}
                        completing={completing.has(task.id)}
                        selected={openId ? task.id === openId : at === selectedIndex}
                        now={now}
                        timeZone={timeZone}
                        onComplete={completeTask}
                        onOpen={(t) => {
                          setSelected(at);
                          open(t);
                        }}
                        onSelect={() => setSelected(at)}
                      />
                    ) : (
                      <SkeletonRows count={1} />
                    )}
                  </li>
                );
              })}
            </ul>
          )}
        </div>
      </main>
      <MoveToProjectDialog
        task={moving}
        workspaceId={moving?.workspace_id ?? workspaceId}
        onOpenChange={(isOpen) => !isOpen && setMoving(null)}
        onChoose={moveToProject}
      />
      {openId && (
        <Suspense
          fallback={
            <aside
              aria-label="Task details"
              className="w-full border-l border-zinc-200 p-6 md:w-[28rem] dark:border-zinc-800"
            >
              Loading…
            </aside>
          }
        >
          <TaskDetail
            key={openId}
            taskId={openId}
            timeZone={timeZone}
            onClose={close}
            focusTitle={titleFocus.current}
          />
        </Suspense>
      )}
    </div>
  );
}
