import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { ShellContext } from "../shell/shellContext";
import { ToastProvider } from "../shell/toasts";
import { json, makeTask } from "../test/fixtures";
import TaskListPage from "./TaskListPage";

// jsdom has no layout: give the virtualizer's scroller a size so rows render.
beforeEach(() => {
  vi.spyOn(HTMLElement.prototype, "clientHeight", "get").mockReturnValue(800);
  vi.spyOn(HTMLElement.prototype, "clientWidth", "get").mockReturnValue(800);
});

function renderList(path = "/inbox") {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <ToastProvider>
        <ShellContext.Provider
          value={{ workspaceId: "ws", timeZone: "Europe/Berlin", openShortcuts: vi.fn() }}
        >
          <MemoryRouter initialEntries={[path]}>
            <Routes>
              <Route path=":view" element={<TaskListPage />} />
            </Routes>
          </MemoryRouter>
        </ShellContext.Provider>
      </ToastProvider>
    </QueryClientProvider>,
  );
}

describe("TaskListPage", () => {
  const fetchMock = vi.fn<(request: Request) => Promise<Response>>();
  const posted: unknown[] = [];
  let tasks = [
    makeTask({ id: "a", title: "Water the plants" }),
    makeTask({ id: "b", title: "Call mum" }),
  ];

  beforeEach(() => {
    tasks = [
      makeTask({ id: "a", title: "Water the plants" }),
      makeTask({ id: "b", title: "Call mum" }),
    ];
    fetchMock.mockReset();
    fetchMock.mockImplementation(async (request) => {
      const url = new URL(request.url);
      const all = [...tasks, makeTask({ id: "a", title: "Water the plants" })];
      if (request.method === "GET" && url.pathname === "/api/v1/tasks") {
        return json({ items: tasks, next_cursor: null });
      }
      if (url.pathname === "/api/v1/projects") return json({ items: [], next_cursor: null });
      if (request.method === "POST" && url.pathname === "/api/v1/tasks/quick-add") {
        const body = (await request.json()) as { id: string; text: string };
        // The API reads the line (tests/api/tasks/test_quick_add.py); here "@tag" ends it.
        const [title = "", tag] = body.text.split(" @");
        if (url.searchParams.get("dry_run") === "true") return json({ title, parsed: [] });
        posted.push(body);
        const created = makeTask({ id: body.id, title, tags: tag ? [tag] : [] });
        tasks = [created, ...tasks];
        return json(created, 201);
      }
      const done = /\/api\/v1\/tasks\/(\w+)\/(complete|reopen)$/.exec(url.pathname);
      if (done) {
        const task = all.find((t) => t.id === done[1])!;
        if (done[2] === "complete") {
          tasks = tasks.filter((t) => t.id !== task.id);
          return json({ task: { ...task, status: "done" }, next: null });
        }
        tasks = [...tasks, task];
        return json(task);
      }
      return json({ title: "Not found", status: 404 }, 404);
    });
    vi.stubGlobal("fetch", fetchMock);
  });
  afterEach(() => vi.unstubAllGlobals());

  it("lists tasks, adds one with q, completes one with x and undoes it", async () => {
    renderList();
    const list = await screen.findByRole("list", { name: "Inbox tasks" });
    expect(within(list).getAllByRole("listitem")).toHaveLength(2);

    await userEvent.keyboard("q");
    expect(screen.getByLabelText("Add a task")).toHaveFocus();
    await userEvent.keyboard("Buy milk @shop{Enter}");
    expect(await within(list).findByRole("button", { name: "Buy milk" })).toBeInTheDocument();
    expect(posted[0]).toMatchObject({ text: "Buy milk @shop", workspace_id: "ws" });

    // Shortcuts do not fire while typing: the x above went into the field, not to complete.
    await userEvent.keyboard("{Escape}");
    await userEvent.keyboard("jjx");
    expect(await screen.findByText("Completed “Water the plants”")).toBeInTheDocument();
    await waitFor(() =>
      expect(within(list).queryByRole("button", { name: "Water the plants" })).toBeNull(),
    );
    await userEvent.click(screen.getByRole("button", { name: "Undo" }));
    expect(
      await within(list).findByRole("button", { name: "Water the plants" }),
    ).toBeInTheDocument();
    expect(fetchMock.mock.calls.some(([r]) => r.url.endsWith("/api/v1/tasks/a/reopen"))).toBe(true);
  });

  it("says what to do next when the list is empty", async () => {
    tasks = [];
    renderList();
    expect(
      await screen.findByText("Your inbox is empty — press q to add one."),
    ).toBeInTheDocument();
  });

  it("moves the selected task with # and Enter (If-Match), and Undo moves it back", async () => {
    const patched: { body: unknown; ifMatch: string | null }[] = [];
    let task = makeTask({ id: "a", title: "Buy seeds", version: 4 });
    fetchMock.mockImplementation(async (request) => {
      const url = new URL(request.url);
      if (request.method === "GET" && url.pathname === "/api/v1/tasks") {
        const inbox = url.searchParams.get("project_id") === "none";
        return json({ items: !inbox || task.project_id === null ? [task] : [] });
      }
      if (url.pathname === "/api/v1/projects") {
        return json({
          items: [
            { id: "p1", name: "Garden", archived: false },
            { id: "p2", name: "Groceries", archived: false },
          ],
          next_cursor: null,
        });
      }
      if (request.method === "PATCH" && url.pathname === "/api/v1/tasks/a") {
        const body = (await request.json()) as { project_id: string | null };
        patched.push({ body, ifMatch: request.headers.get("If-Match") });
        task = { ...task, project_id: body.project_id, version: task.version + 1 };
        return json(task);
      }
      return json({ title: "Not found", status: 404 }, 404);
    });
    renderList();
    const list = await screen.findByRole("list", { name: "Inbox tasks" });
    await within(list).findByRole("button", { name: "Buy seeds" });

    await userEvent.keyboard("j#");
    const picker = await screen.findByRole("dialog", { name: "Move “Buy seeds” to…" });
    expect(within(picker).getByRole("combobox", { name: "Project" })).toHaveFocus();
    await userEvent.keyboard("gro");
    expect(
      within(picker)
        .getAllByRole("option")
        .map((o) => o.textContent),
    ).toEqual(["Groceries"]);
    await userEvent.keyboard("{Enter}");
    // Out of the Inbox at once (the list, now empty, says so).
    expect(await screen.findByText(/Your inbox is empty/)).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Buy seeds" })).toBeNull();
    expect(await screen.findByText("Moved “Buy seeds” to Groceries")).toBeInTheDocument();
    expect(patched).toEqual([{ body: { project_id: "p2" }, ifMatch: '"4"' }]);

    await userEvent.click(screen.getByRole("button", { name: "Undo" }));
    expect(await screen.findByRole("button", { name: "Buy seeds" })).toBeInTheDocument();
    expect(patched[1]).toEqual({ body: { project_id: null }, ifMatch: '"5"' });
  });

  it("heads Upcoming by day and walks its tasks with j, skipping the headings", async () => {
    const now = new Date();
    const day = (n: number) => new Date(now.getTime() + n * 86_400_000).toISOString().slice(0, 10);
    tasks = [
      makeTask({ id: "a", title: "Later", due: day(3) }),
      makeTask({ id: "b", title: "Soon", due: day(2) }),
    ];
    renderList("/upcoming");
    const list = await screen.findByRole("list", { name: "Upcoming tasks" });
    await within(list).findByRole("button", { name: "Soon" });
    const items = within(list).getAllByRole("listitem");
    expect(items.map((item) => within(item).queryByRole("heading") !== null)).toEqual([
      true,
      false,
      true,
      false,
    ]);
    expect(items[1]).toHaveTextContent("Soon");
    await userEvent.keyboard("jj");
    expect(within(list).getByRole("button", { name: "Later" })).toHaveAttribute(
      "aria-current",
      "true",
    );
  });
});
