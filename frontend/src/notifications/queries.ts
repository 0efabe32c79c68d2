import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import type { components } from "../api/schema";
import type { Page } from "../api/types";

type Schemas = components["schemas"];
export type Notification = Schemas["NotificationWithDeliveries"];
export type Preferences = Schemas["NotificationPreferences"];
export type PreferencesUpdate = Schemas["PreferencesUpdate"];

/** How many unread are counted exactly; past this the badge says "at least". */
export const UNREAD_LIMIT = 100;
/** The bell polls modestly until the realtime layer pushes changes. */
export const POLL_MS = 60_000;

export const notificationKeys = {
  all: ["notifications"] as const,
  unread: ["notifications", "unread"] as const,
  recent: ["notifications", "recent"] as const,
  preferences: ["notification-preferences"] as const,
};

export interface UnreadCount {
  count: number;
  /** More than `count` are unread (one page was counted). */
  more: boolean;
}

export function useUnreadCount() {
  return useQuery({
    queryKey: notificationKeys.unread,
    queryFn: async (): Promise<UnreadCount> => {
      const page = await unwrap<Page<Notification>>(
        api.GET("/api/v1/notifications", {
          params: { query: { unread: true, limit: UNREAD_LIMIT } },
        }),
      );
      return { count: page.items.length, more: Boolean(page.next_cursor) };
    },
    refetchInterval: POLL_MS,
    refetchOnWindowFocus: true,
  });
}

export function useRecentNotifications(enabled: boolean) {
  return useQuery({
    queryKey: notificationKeys.recent,
    queryFn: () =>
      unwrap<Page<Notification>>(
        api.GET("/api/v1/notifications", { params: { query: { limit: 30 } } }),
      ),
    enabled,
  });
}

function markedRead(page: Page<Notification> | undefined, id: string | null, at: string) {
  if (!page) return page;
  return {
    ...page,
    items: page.items.map((n) =>
      n.read_at === null && (id === null || n.id === id) ? { ...n, read_at: at } : n,
    ),
  };
}

export function useMarkRead() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      unwrap<Notification>(
        api.POST("/api/v1/notifications/{notification_id}/read", {
          params: { path: { notification_id: id } },
        }),
      ),
    onMutate: (id) => {
      client.setQueryData<Page<Notification>>(notificationKeys.recent, (page) =>
        markedRead(page, id, new Date().toISOString()),
      );
      client.setQueryData<UnreadCount>(notificationKeys.unread, (unread) =>
        unread ? { ...unread, count: Math.max(0, unread.count - 1) } : unread,
      );
    },
    onSettled: () => void client.invalidateQueries({ queryKey: notificationKeys.all }),
  });
}

export function useMarkAllRead() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      // The API marks up to 500 a call and says when there are more; bounded all the same.
      for (let call = 0; call < 20; call += 1) {
        const answer = await unwrap<Schemas["NotificationsRead"]>(
          api.POST("/api/v1/notifications/read-all"),
        );
        if (!answer.more) return;
      }
    },
    onMutate: () => {
      client.setQueryData<Page<Notification>>(notificationKeys.recent, (page) =>
        markedRead(page, null, new Date().toISOString()),
      );
      client.setQueryData<UnreadCount>(notificationKeys.unread, { count: 0, more: false });
    },
    onSettled: () => void client.invalidateQueries({ queryKey: notificationKeys.all }),
  });
}

export function usePreferences() {
  return useQuery({
    queryKey: notificationKeys.preferences,
    queryFn: () => unwrap<Preferences>(api.GET("/api/v1/notification-preferences")),
  });
}

export function useUpdatePreferences() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: PreferencesUpdate) =>
      unwrap<Preferences>(api.PATCH("/api/v1/notification-preferences", { body })),
    onSuccess: (preferences) => client.setQueryData(notificationKeys.preferences, preferences),
  });
}

/** Where a notification leads: its task, opened in its project's list (or the Inbox). */
export function notificationLink(notification: Notification): string | null {
  const task = notification.data.task as { id?: unknown; project_id?: unknown } | undefined;
  if (!task || typeof task.id !== "string") return null;
  const list = typeof task.project_id === "string" ? `/projects/${task.project_id}` : "/inbox";
  return `${list}?task=${encodeURIComponent(task.id)}`;
}
