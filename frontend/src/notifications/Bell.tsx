import * as Dialog from "@radix-ui/react-dialog";
import { useState } from "react";
import { Link } from "react-router-dom";
import { describeError } from "../api/problems";
import { relativeTime } from "../tasks/detail/format";
import {
  notificationLink,
  useMarkAllRead,
  useMarkRead,
  useRecentNotifications,
  useUnreadCount,
  type Notification,
  type UnreadCount,
} from "./queries";

const BellIcon = () => (
  <svg
    width={18}
    height={18}
    viewBox="0 0 24 24"
    fill="none"
    stroke="currentColor"
    strokeWidth={2}
    strokeLinecap="round"
    strokeLinejoin="round"
    aria-hidden="true"
    focusable={false}
  >
    <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
    <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
  </svg>
);

/** "Notifications, 3 unread": the number in full, whatever the badge shows. */
export function bellLabel(unread: UnreadCount | undefined): string {
  if (!unread || unread.count === 0) return "Notifications, none unread";
  return `Notifications, ${unread.more ? `more than ${unread.count}` : unread.count} unread`;
}

function badge(unread: UnreadCount): string {
  return unread.count > 99 || unread.more ? "99+" : String(unread.count);
}

/** The bell in the sidebar: the unread count, and the recent notifications in a dialog. */
export function NotificationBell() {
  const [open, setOpen] = useState(false);
  const unread = useUnreadCount();
  return (
    <Dialog.Root open={open} onOpenChange={setOpen}>
      <Dialog.Trigger
        className="relative rounded-md p-2 hover:bg-zinc-200 dark:hover:bg-zinc-800"
        aria-label={bellLabel(unread.data)}
        title="Notifications"
      >
        <BellIcon />
        {unread.data && unread.data.count > 0 && (
          <span
            aria-hidden="true"
            className="absolute -right-0.5 -top-0.5 min-w-[1.1rem] rounded-full bg-red-700 px-1 text-center text-[11px] font-semibold leading-[1.1rem] text-white"
          >
            {badge(unread.data)}
          </span>
        )}
      </Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-40 bg-black/20" />
        <Dialog.Content className="fixed bottom-16 left-3 z-50 flex max-h-[min(32rem,calc(100vh-6rem))] w-[min(24rem,calc(100vw-1.5rem))] flex-col rounded-xl border border-zinc-200 bg-white shadow-xl dark:border-zinc-700 dark:bg-zinc-900">
          <NotificationList onClose={() => setOpen(false)} />
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

function NotificationList({ onClose }: { onClose: () => void }) {
  const recent = useRecentNotifications(true);
  const markAll = useMarkAllRead();
  const items = recent.data?.items ?? [];
  const anyUnread = items.some((n) => n.read_at === null);
  const [now] = useState(() => new Date());
  return (
    <>
      <div className="flex items-center gap-2 border-b border-zinc-200 px-4 py-2 dark:border-zinc-700">
        <Dialog.Title className="flex-1 font-semibold">Notifications</Dialog.Title>
        <button
          type="button"
          className="rounded-md px-2 py-1 text-sm hover:bg-zinc-100 disabled:opacity-60 dark:hover:bg-zinc-800"
          disabled={!anyUnread || markAll.isPending}
          onClick={() => markAll.mutate()}
        >
          Mark all read
        </button>
        <Dialog.Close
          className="rounded-md px-2 py-1 hover:bg-zinc-100 dark:hover:bg-zinc-800"
          aria-label="Close notifications"
        >
          <span aria-hidden="true">×</span>
        </Dialog.Close>
      </div>
      <Dialog.Description className="sr-only">
        Your recent notifications, newest first. Opening one marks it read.
      </Dialog.Description>
      <div className="min-h-0 flex-1 overflow-y-auto">
        {recent.isPending ? (
          <p className="px-4 py-6 text-zinc-600 dark:text-zinc-400">Loading…</p>
        ) : recent.isError ? (
          <p role="alert" className="px-4 py-6 text-red-700 dark:text-red-400">
            {describeError(recent.error)}
          </p>
        ) : items.length === 0 ? (
          <p className="px-4 py-6 text-zinc-600 dark:text-zinc-400">
            No notifications yet. Reminders you set on tasks show up here.
          </p>
        ) : (
          <ul
            aria-label="Recent notifications"
            className="divide-y divide-zinc-100 dark:divide-zinc-800"
          >
            {items.map((n) => (
              <NotificationItem key={n.id} notification={n} now={now} onClose={onClose} />
            ))}
          </ul>
        )}
        {markAll.isError && (
          <p role="alert" className="px-4 py-2 text-sm text-red-700 dark:text-red-400">
            {describeError(markAll.error)}
          </p>
        )}
      </div>
    </>
  );
}

function NotificationItem({
  notification,
  now,
  onClose,
}: {
  notification: Notification;
  now: Date;
  onClose: () => void;
}) {
  const markRead = useMarkRead();
  const unread = notification.read_at === null;
  const link = notificationLink(notification);
  const read = () => {
    if (unread) markRead.mutate(notification.id);
  };
  const content = (
    <>
      <span className="flex items-start gap-2">
        {unread && (
          <span aria-hidden="true" className="mt-1.5 h-2 w-2 shrink-0 rounded-full bg-accent-600" />
        )}
        <span className={`min-w-0 flex-1 ${unread ? "font-semibold" : ""}`}>
          {unread && <span className="sr-only">Unread:</span>} {notification.title}
        </span>{" "}
        <time
          dateTime={notification.created_at}
          className="shrink-0 text-xs text-zinc-600 dark:text-zinc-400"
        >
          {relativeTime(notification.created_at, now)}
        </time>
      </span>{" "}
      {notification.body && (
        <span className="mt-0.5 line-clamp-3 block whitespace-pre-line text-sm text-zinc-600 dark:text-zinc-400">
          {notification.body}
        </span>
      )}
    </>
  );
  const look = `block w-full px-4 py-2 text-left hover:bg-zinc-50 dark:hover:bg-zinc-800 ${
    unread ? "bg-accent-50/60 dark:bg-zinc-800/60" : ""
  }`;
  return (
    <li>
      {link ? (
        <Link
          to={link}
          className={look}
          onClick={() => {
            read();
            onClose();
          }}
        >
          {content}
        </Link>
      ) : (
        <button type="button" className={look} onClick={read} aria-disabled={!unread}>
          {content}
        </button>
      )}
    </li>
  );
}
