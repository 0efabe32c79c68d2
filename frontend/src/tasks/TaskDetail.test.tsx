import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { json, makeTask } from "../test/fixtures";
import TaskDetail from "./TaskDetail";

function renderDetail() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <TaskDetail taskId={makeTask().id} timeZone="Europe/Berlin" onClose={vi.fn()} />
    </QueryClientProvider>,
  );
}

describe("TaskDetail", () => {
  // Calls on the task itself, in order; the lists of its sections are always empty.
  const fetchMock = vi.fn<(request: Request) => Promise<Response>>();
  const calls = vi.fn<(request: Request) => Promise<Response>>();
  beforeEach(() => {
    calls.mockReset();
    fetchMock.mockReset();
    fetchMock.mockImplementation((request) =>
      // The panel's sections (subtasks, reminders, …) each read their own list: empty here.
      /\/(subtasks|reminders|time-logs|history)(\?|$)/.test(new URL(request.url).pathname + "?")
        ? Promise.resolve(json({ items: [], next_cursor: null }))
        : new URL(request.url).pathname === "/api/v1/me"
          ? Promise.resolve(json({ id: "0193a000-0000-7000-8000-0000000000bb" }))
          : calls(request),
    );
    vi.stubGlobal("fetch", fetchMock);
  });
  afterEach(() => vi.unstubAllGlobals());

  it("saves a change with If-Match and shows the saved state", async () => {
    calls
      .mockResolvedValueOnce(json(makeTask({ version: 4 })))
      .mockResolvedValueOnce(json(makeTask({ version: 5, priority: "high" })));
    renderDetail();
    await userEvent.selectOptions(await screen.findByLabelText("Priority"), "high");
    await waitFor(() => expect(calls).toHaveBeenCalledTimes(2));
    const patch = calls.mock.calls[1]![0];
    expect(patch.method).toBe("PATCH");
    expect(patch.headers.get("If-Match")).toBe('"4"');
    expect(await patch.json()).toEqual({ priority: "high" });
    expect(await screen.findByText("All changes saved")).toBeInTheDocument();
  });

  it("on a 412 reloads the task and says someone else changed it", async () => {
    const theirs = makeTask({ version: 2, title: "Water the cactus" });
    calls
      .mockResolvedValueOnce(json(makeTask()))
      .mockResolvedValueOnce(
        json(
          { title: "Precondition failed", status: 412, detail: "…", current: theirs },
          412,
          "application/problem+json",
        ),
      );
    renderDetail();
    await userEvent.selectOptions(await screen.findByLabelText("Status"), "blocked");
    expect(await screen.findByRole("alert")).toHaveTextContent("Someone else changed this task");
    expect(screen.getByLabelText("Title")).toHaveValue("Water the cactus");
    expect(screen.getByLabelText("Status")).toHaveValue("todo");
  });

  it("shows a validation error next to its field and keeps what was typed", async () => {
    calls.mockResolvedValueOnce(json(makeTask())).mockResolvedValueOnce(
      json(
        {
          title: "Unprocessable",
          status: 422,
          detail: "the request is not valid",
          errors: [{ loc: ["body", "tags", 0], msg: "String should have at most 100 characters" }],
        },
        422,
        "application/problem+json",
      ),
    );
    renderDetail();
    const tags = await screen.findByLabelText("Tags");
    await userEvent.type(tags, "x".repeat(101));
    await userEvent.tab();
    expect(
      await screen.findByText("String should have at most 100 characters"),
    ).toBeInTheDocument();
    expect(tags).toHaveValue("x".repeat(101));
  });

  it("renders the description as markdown without raw HTML", async () => {
    calls.mockResolvedValueOnce(
      json(makeTask({ description: "**soil** <img src=x onerror=alert(1)>" })),
    );
    const { container } = renderDetail();
    expect(await screen.findByText("soil")).toContainHTML("soil");
    expect(container.querySelector("strong")).toHaveTextContent("soil");
    expect(container.querySelector("img")).toBeNull();
  });
});
