import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { json } from "../test/fixtures";
import { fakeApi, renderWithShell } from "../settings/testing";
import { NotificationBell, bellLabel } from "./Bell";

afterEach(() => vi.unstubAllGlobals());

function notification(id: string, overrides: Record<string, unknown> = {}) {
  return {
    id,
    user_id: "u1",
    kind: "reminder",
    title: `Reminder: task ${id}`,
    body: "Due today 17:00",
    data: { task: { id: `task-${id}`, project_id: "p1", title: `task ${id}` } },
    created_at: new Date(Date.now() - 5 * 60_000).toISOString(),
    read_at: null,
    deliveries: [],
    ...overrides,
  };
}

describe("bellLabel", () => {
  it("says the number in full, whatever the badge shows", () => {
    expect(bellLabel({ count: 0, more: false })).toBe("Notifications, none unread");
    expect(bellLabel({ count: 3, more: false })).toBe("Notifications, 3 unread");
    expect(bellLabel({ count: 100, more: true })).toBe("Notifications, more than 100 unread");
  });
});

describe("NotificationBell", () => {
  it("shows the unread count, lists recent ones, and marks one read when opened", async () => {
    const unread = [notification("a"), notification("b")];
    let read = new Set<string>();
    const { calls } = fakeApi({
      "GET /api/v1/notifications": (request: Request) => {
        const only = new URL(request.url).searchParams.get("unread") === "true";
        const all = [
          ...unread.map((n) => (read.has(n.id) ? { ...n, read_at: "2026-11-29T10:00:00Z" } : n)),
          notification("c", { read_at: "2026-11-28T10:00:00Z", data: {} }),
        ];
        return json({
          items: only ? all.filter((n) => n.read_at === null) : all,
          next_cursor: null,
        });
      },
      "POST /api/v1/notifications/a/read": () => {
        read = new Set([...read, "a"]);
        return json({ ...unread[0], read_at: "2026-11-29T10:00:00Z" });
      },
    });
    renderWithShell(<NotificationBell />);
    const bell = await screen.findByRole("button", { name: "Notifications, 2 unread" });
    expect(bell).toHaveTextContent("2");
    await userEvent.click(bell);
    const dialog = await screen.findByRole("dialog", { name: "Notifications" });
    const list = await within(dialog).findByRole("list", { name: "Recent notifications" });
    const [first, , third] = within(list).getAllByRole("listitem");
    expect(within(list).getAllByRole("listitem")).toHaveLength(3);
    // Unread is said in words, not by colour alone.
    expect(within(first!).getByRole("link")).toHaveAccessibleName(
      /^Unread: Reminder: task a 5 minutes ago Due today/,
    );
    expect(within(third!).getByRole("button")).toHaveAccessibleName(/^Reminder: task c/);
    const link = within(first!).getByRole("link");
    expect(link).toHaveAttribute("href", "/projects/p1?task=task-a");
    expect(within(first!).getByText("5 minutes ago")).toBeInTheDocument();
    await userEvent.click(link);
    await waitFor(() =>
      expect(
        calls.some((c) => c.method === "POST" && c.url.endsWith("/notifications/a/read")),
      ).toBe(true),
    );
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(await screen.findByRole("button", { name: "Notifications, 1 unread" })).toBe(bell);
    await waitFor(() => expect(bell).toHaveFocus());
  });

  it("caps the badge at 99+ and marks all read", async () => {
    let cleared = false;
    const many = Array.from({ length: 100 }, (_, i) => notification(String(i)));
    const { calls } = fakeApi({
      "GET /api/v1/notifications": () =>
        json(cleared ? { items: [], next_cursor: null } : { items: many, next_cursor: "next" }),
      "POST /api/v1/notifications/read-all": () => {
        cleared = true;
        return json({ marked: 120, more: false });
      },
    });
    renderWithShell(<NotificationBell />);
    const bell = await screen.findByRole("button", { name: "Notifications, more than 100 unread" });
    expect(bell).toHaveTextContent("99+");
    await userEvent.click(bell);
    const dialog = await screen.findByRole("dialog", { name: "Notifications" });
    await within(dialog).findByRole("list", { name: "Recent notifications" });
    await userEvent.click(within(dialog).getByRole("button", { name: "Mark all read" }));
    expect(await screen.findByText(/No notifications yet/)).toBeInTheDocument();
    expect(calls.filter((c) => c.url.endsWith("/read-all"))).toHaveLength(1);
    await userEvent.keyboard("{Escape}");
    expect(await screen.findByRole("button", { name: "Notifications, none unread" })).toHaveFocus();
  });

  it("says what to do when there is nothing yet", async () => {
    fakeApi({ "GET /api/v1/notifications": { items: [], next_cursor: null } });
    renderWithShell(<NotificationBell />);
    await userEvent.click(
      await screen.findByRole("button", { name: "Notifications, none unread" }),
    );
    expect(await screen.findByText(/No notifications yet/)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Mark all read" })).toBeDisabled();
  });
});
