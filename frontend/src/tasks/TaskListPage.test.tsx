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

function renderList() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <ToastProvider>
        <ShellContext.Provider
          value={{ workspaceId: "ws", timeZone: "Europe/Berlin", openShortcuts: vi.fn() }}
        >
          <MemoryRouter initialEntries={["/inbox"]}>
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
});
