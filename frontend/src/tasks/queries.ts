import {
  type InfiniteData,
  keepPreviousData,
  type QueryClient,
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query";
import { api, ifMatch, unwrap } from "../api/client";
import { ApiError } from "../api/problems";
import type {
  Page,
  Project,
  Tag,
  Task,
  TaskCreate,
  TaskUpdate,
  User,
  Workspace,
} from "../api/types";
import type { QuickAddBody, QuickAddPreview } from "../lib/quickAdd";
import { useListShown } from "./firstList";
import type { ListQuery } from "./views";

export const PAGE_SIZE = 50;
type TaskPages = InfiniteData<Page<Task>, string | undefined>;

export const keys = {
  me: ["me"] as const,
  workspaces: ["workspaces"] as const,
  projects: (ws?: string) => ["projects", ws ?? "all"] as const,
  tags: (ws?: string) => ["tags", ws ?? "all"] as const,
  lists: ["tasks"] as const,
  list: (key: string, query: ListQuery) => ["tasks", key, query] as const,
  counts: ["counts"] as const,
  count: (key: string, query: ListQuery) => ["counts", key, query] as const,
  task: (id: string) => ["task", id] as const,
};

export function useMe() {
  return useQuery({
    queryKey: keys.me,
    queryFn: () => unwrap<User>(api.GET("/api/v1/me")),
    staleTime: 5 * 60_000,
  });
}

export function useWorkspaces() {
  return useQuery({
    queryKey: keys.workspaces,
    queryFn: () =>
      unwrap<Page<Workspace>>(api.GET("/api/v1/workspaces", { params: { query: { limit: 200 } } })),
    staleTime: 5 * 60_000,
  });
}

export function useProjects(workspaceId?: string) {
  return useQuery({
    queryKey: keys.projects(workspaceId),
    queryFn: () =>
      unwrap<Page<Project>>(
        api.GET("/api/v1/projects", {
          params: { query: { workspace_id: workspaceId, limit: 200 } },
        }),
      ),
    staleTime: 60_000,
  });
}

export function useTags(workspaceId?: string) {
  return useQuery({
    queryKey: keys.tags(workspaceId),
    queryFn: () =>
      unwrap<Page<Tag>>(
        api.GET("/api/v1/tags", { params: { query: { workspace_id: workspaceId, limit: 200 } } }),
      ),
    staleTime: 60_000,
  });
}

function fetchTasks(query: ListQuery, cursor?: string, limit = PAGE_SIZE): Promise<Page<Task>> {
  return unwrap<Page<Task>>(
    api.GET("/api/v1/tasks", { params: { query: { ...query, cursor, limit } } }),
  );
}

/** A task list, a page at a time (keyset cursors), as the user scrolls. */
export function useTaskList(key: string, query: ListQuery) {
  return useInfiniteQuery({
    queryKey: keys.list(key, query),
    // A small first page paints soonest; later pages are bigger, fewer round trips.
    queryFn: ({ pageParam }) => fetchTasks(query, pageParam, pageParam ? 200 : PAGE_SIZE),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

/** How many tasks a list holds, exactly (GET /tasks/count, the list's own filters); past
 * the API's cap, "10,000+". */
export function useTaskCount(key: string, query: ListQuery): string | undefined {
  const listShown = useListShown();
  const { data } = useQuery({
    queryKey: keys.count(key, query),
    queryFn: () =>
      unwrap<{ count: number; capped: boolean }>(
        api.GET("/api/v1/tasks/count", { params: { query } }),
      ),
    staleTime: 30_000,
    enabled: listShown,
  });
  if (!data) return undefined;
  return data.capped ? `${data.count.toLocaleString("en")}+` : String(data.count);
}

export function useTask(id: string | null) {
  return useQuery({
    queryKey: keys.task(id ?? ""),
    queryFn: () =>
      unwrap<Task>(api.GET("/api/v1/tasks/{task_id}", { params: { path: { task_id: id ?? "" } } })),
    enabled: id !== null,
  });
}

// --- the cache, edited optimistically ------------------------------------------------------

type Snapshot = [readonly unknown[], unknown][];

function snapshot(client: QueryClient, id: string): Snapshot {
  return [
    ...client.getQueriesData({ queryKey: keys.lists }),
    [keys.task(id), client.getQueryData(keys.task(id))],
  ];
}

function restore(client: QueryClient, saved: Snapshot): void {
  for (const [key, data] of saved) client.setQueryData(key, data);
}

function mapLists(client: QueryClient, change: (items: Task[]) => Task[]): void {
  client.setQueriesData<TaskPages>({ queryKey: keys.lists }, (data) =>
    data
      ? { ...data, pages: data.pages.map((page) => ({ ...page, items: change(page.items) })) }
      : data,
  );
}

/** Puts the server's copy of a task everywhere it is shown. A copy without the derived
 * subtask counts (a 412's `current` is the task as stored) keeps the counts shown. */
export function storeTask(client: QueryClient, task: Task): void {
  const put = (shown?: Task): Task =>
    task.subtask_count === undefined && shown
      ? { ...task, subtask_count: shown.subtask_count, subtasks_done: shown.subtasks_done }
      : task;
  client.setQueryData<Task>(keys.task(task.id), put);
  mapLists(client, (items) => items.map((item) => (item.id === task.id ? put(item) : item)));
}

function refreshLists(client: QueryClient): void {
  void client.invalidateQueries({ queryKey: keys.lists });
  void client.invalidateQueries({ queryKey: keys.counts });
  // A task's new tag names create tags.
  void client.invalidateQueries({ queryKey: ["tags"] });
}

export function useCreateTask(listKey: readonly unknown[]) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: TaskCreate) => unwrap<Task>(api.POST("/api/v1/tasks", { body })),
    onMutate: async (body) => {
      await client.cancelQueries({ queryKey: listKey });
      const before = client.getQueryData<TaskPages>(listKey);
      const now = new Date().toISOString();
      const placeholder: Task = {
        id: body.id ?? crypto.randomUUID(),
        workspace_id: body.workspace_id ?? "",
        project_id: body.project_id ?? null,
        parent_id: null,
        title: body.title,
        description: "",
        status: "todo",
        priority: body.priority ?? "none",
        progress: 0,
        due: body.due ?? null,
        start: null,
        timezone: "UTC",
        tags: body.tags ?? [],
        depends_on: [],
        assignee_id: null,
        estimate_minutes: null,
        recurrence: null,
        series_id: null,
        occurrence_number: 1,
        completed_at: null,
        deleted_at: null,
        created_by: null,
        created_at: now,
        updated_at: now,
        version: 0,
        subtask_count: 0,
        subtasks_done: 0,
      };
      client.setQueryData<TaskPages>(listKey, (data) => {
        if (!data || data.pages.length === 0) {
          return { pages: [{ items: [placeholder], next_cursor: null }], pageParams: [undefined] };
        }
        const [first, ...rest] = data.pages;
        const items = [placeholder, ...(first?.items ?? [])];
        return { ...data, pages: [{ ...first, items }, ...rest] };
      });
      return { before };
    },
    onError: (_error, _body, context) => {
      client.setQueryData(listKey, context?.before);
    },
    onSettled: () => refreshLists(client),
  });
}

/** After completing, the row stays a moment, ticked and struck through, so the person sees
 * what happened; then the lists reload (a recurring task's next occurrence appears). */
export const COMPLETED_ROW_LINGER_MS = 700;

/** Complete: the task is done at once everywhere it is shown; Undo reopens it (the API's
 * reopen). */
export function useCompleteTask() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (task: Task) =>
      unwrap<{ task: Task; next: Task | null }>(
        api.POST("/api/v1/tasks/{task_id}/complete", { params: { path: { task_id: task.id } } }),
      ),
    onMutate: async (task) => {
      await client.cancelQueries({ queryKey: keys.lists });
      const saved = snapshot(client, task.id);
      mapLists(client, (items) =>
        items.map((item) => (item.id === task.id ? { ...item, status: "done" as const } : item)),
      );
      const cached = client.getQueryData<Task>(keys.task(task.id));
      if (cached) client.setQueryData(keys.task(task.id), { ...cached, status: "done" as const });
      return { saved };
    },
    onError: (_error, _task, context) => {
      if (context) restore(client, context.saved);
    },
    onSettled: (_data, error, task) => {
      void client.invalidateQueries({ queryKey: keys.task(task.id) });
      if (error) refreshLists(client);
      else setTimeout(() => refreshLists(client), COMPLETED_ROW_LINGER_MS);
    },
  });
}

export function useReopenTask() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      unwrap<Task>(
        api.POST("/api/v1/tasks/{task_id}/reopen", { params: { path: { task_id: id } } }),
      ),
    onSuccess: (task) => client.setQueryData(keys.task(task.id), task),
    onSettled: () => refreshLists(client),
  });
}

export class ChangedElsewhere extends Error {
  constructor(readonly current: Task | null) {
    super("Someone else changed this task. It has been reloaded with their changes.");
  }
}

/**
 * Save a change to a task with If-Match on the version last read; changes to one task run
 * one after another, so each sends the version the previous one produced. A 412 reloads the
 * task (its current copy comes in the answer) and says someone else changed it.
 */
export function useUpdateTask(id: string) {
  const client = useQueryClient();
  return useMutation({
    scope: { id: `task:${id}` },
    mutationFn: async (change: TaskUpdate) => {
      const version = client.getQueryData<Task>(keys.task(id))?.version;
      try {
        return await unwrap<Task>(
          api.PATCH("/api/v1/tasks/{task_id}", {
            params: {
              path: { task_id: id },
              header: version === undefined ? undefined : ifMatch(version),
            },
            body: change,
          }),
        );
      } catch (error) {
        if (error instanceof ApiError && error.status === 412) {
          // The problem's `current` holds the task as it is now.
          const body = error.body as { current?: unknown } | null;
          const current = isTask(body?.current) ? body.current : null;
          throw new ChangedElsewhere(current);
        }
        throw error;
      }
    },
    onMutate: async (change) => {
      await client.cancelQueries({ queryKey: keys.task(id) });
      const saved = snapshot(client, id);
      const cached = client.getQueryData<Task>(keys.task(id));
      if (cached) {
        const optimistic = { ...cached, ...change } as Task;
        client.setQueryData(keys.task(id), optimistic);
        mapLists(client, (items) =>
          items.map((item) => (item.id === id ? ({ ...item, ...change } as Task) : item)),
        );
      }
      return { saved };
    },
    onError: (error, _change, context) => {
      if (context) restore(client, context.saved);
      if (error instanceof ChangedElsewhere) {
        if (error.current) storeTask(client, error.current);
        else void client.invalidateQueries({ queryKey: keys.task(id) });
      }
    },
    onSuccess: (task) => storeTask(client, task),
    onSettled: (_task, _error, change) => {
      void client.invalidateQueries({ queryKey: keys.counts });
      if (change.tags) void client.invalidateQueries({ queryKey: ["tags"] });
    },
  });
}

function isTask(value: unknown): value is Task {
  return typeof value === "object" && value !== null && "id" in value && "version" in value;
}

// --- quick add (POST /tasks/quick-add: the API reads the line) ---------------------------

/** What the API understood of a line (`?dry_run=true`), asked while the person types. */
export function useQuickAddPreview(body: QuickAddBody | null) {
  return useQuery({
    queryKey: ["quick-add-preview", body] as const,
    queryFn: async ({ signal }) =>
      // A dry run answers the preview (the 200 of a retried create is the task).
      (await unwrap(
        api.POST("/api/v1/tasks/quick-add", {
          params: { query: { dry_run: true } },
          body: body as QuickAddBody,
          signal,
        }),
      )) as QuickAddPreview,
    enabled: body !== null,
    staleTime: 60_000,
    retry: false,
    placeholderData: keepPreviousData,
  });
}

/** Create from a line; the row shows at once, from the latest preview of this very line
 * when there is one (else the line itself), and is replaced by the API's task. */
export function useQuickAdd(listKey: readonly unknown[]) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ body }: { body: QuickAddBody; guess: QuickAddPreview | null }) =>
      (await unwrap(api.POST("/api/v1/tasks/quick-add", { body }))) as Task,
    onMutate: async ({ body, guess }) => {
      await client.cancelQueries({ queryKey: listKey });
      const before = client.getQueryData<TaskPages>(listKey);
      const now = new Date().toISOString();
      const placeholder: Task = {
        id: body.id ?? crypto.randomUUID(),
        workspace_id: body.workspace_id ?? "",
        project_id: guess?.project_id ?? body.project_id ?? null,
        parent_id: null,
        title: guess?.title ?? body.text,
        description: "",
        status: "todo",
        priority: guess?.priority ?? "none",
        progress: 0,
        due: guess?.due ?? body.due ?? null,
        start: null,
        timezone: guess?.timezone ?? "UTC",
        tags: guess?.tags ?? body.tags ?? [],
        depends_on: [],
        assignee_id: null,
        estimate_minutes: null,
        recurrence: guess?.recurrence ?? null,
        series_id: null,
        occurrence_number: 1,
        completed_at: null,
        deleted_at: null,
        created_by: null,
        created_at: now,
        updated_at: now,
        version: 0,
        subtask_count: 0,
        subtasks_done: 0,
      };
      client.setQueryData<TaskPages>(listKey, (data) => {
        if (!data || data.pages.length === 0) {
          return { pages: [{ items: [placeholder], next_cursor: null }], pageParams: [undefined] };
        }
        const [first, ...rest] = data.pages;
        return {
          ...data,
          pages: [{ ...first, items: [placeholder, ...(first?.items ?? [])] }, ...rest],
        };
      });
      return { before };
    },
    onError: (_error, _input, context) => {
      client.setQueryData(listKey, context?.before);
    },
    onSettled: () => {
      refreshLists(client);
      // A #project the line named may be new.
      void client.invalidateQueries({ queryKey: ["projects"] });
    },
  });
}
