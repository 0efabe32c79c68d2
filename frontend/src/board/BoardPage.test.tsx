import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Route, Routes } from "react-router-dom";
import { STATUSES } from "../api/types";
import { fakeApi, renderWithShell, WS } from "../settings/testing";
import { json, makeTask } from "../test/fixtures";
import BoardPage from "./BoardPage";

const PROJECT = "0193a000-0000-7000-8000-0000000000p1";
const dig = makeTask({
  id: "0193a000-0000-7000-8000-0000000000t1",
  title: "Dig",
  version: 4,
  project_id: PROJECT,
});
const plant = makeTask({
  id: "0193a000-0000-7000-8000-0000000000t2",
  title: "Plant",
  status: "in_progress",
  project_id: PROJECT,
});

function tasksRoute(request: Request) {
  const statuses = new URL(request.url).searchParams.getAll("status");
  const items = [dig, plant].filter((task) => statuses.includes(task.status));
  return json({ items, next_cursor: null });
}

function renderBoard() {
  return renderWithShell(
    <Routes>
      <Route path="/projects/:projectId/board" element={<BoardPage />} />
    </Routes>,
    `/projects/${PROJECT}/board`,
  );
}

const baseRoutes = {
  "GET /api/v1/projects": {
    items: [{ id: PROJECT, name: "Garden", workspace_id: WS }],
    next_cursor: null,
  },
  "GET /api/v1/tasks": tasksRoute,
};

const column = (name: string) => screen.getByRole("list", { name: new RegExp(`^${name}, `) });

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("BoardPage", () => {
  it("shows a column per status and moves a card with If-Match", async () => {
    const { calls } = fakeApi({
      ...baseRoutes,
      [`PATCH /api/v1/tasks/${dig.id}`]: () => json({ ...dig, status: "blocked", version: 5 }),
    });
    renderBoard();
    expect(await screen.findByRole("heading", { name: "Garden" })).toBeInTheDocument();
    await within(await screen.findByRole("list", { name: "To do, 1 tasks" })).findByText("Dig");
    expect(screen.getAllByRole("heading", { level: 2 }).map((h) => h.textContent)).toEqual([
      "To do1",
      "In progress1",
      "Blocked0",
      "Done0",
      "Cancelled0",
    ]);
    expect(screen.getByRole("link", { name: "Board" })).toHaveAttribute("aria-current", "page");

    await userEvent.selectOptions(screen.getByLabelText("Move “Dig” to"), "blocked");
    // Optimistic: the card is in its new column before the API answers.
    expect(within(column("Blocked")).getByText("Dig")).toBeInTheDocument();
    await waitFor(() => expect(calls.some((call) => call.method === "PATCH")).toBe(true));
    const patch = calls.find((call) => call.method === "PATCH")!;
    expect(patch.headers.get("If-Match")).toBe('"4"');
    expect(await patch.json()).toEqual({ status: "blocked" });
  });

  it("puts the card back and says why when the API refuses", async () => {
    fakeApi({
      ...baseRoutes,
      [`PATCH /api/v1/tasks/${dig.id}`]: () =>
        json(
          { title: "Conflict", status: 409, detail: "Finish its subtasks first." },
          409,
          "application/problem+json",
        ),
    });
    renderBoard();
    await within(await screen.findByRole("list", { name: "To do, 1 tasks" })).findByText("Dig");
    await userEvent.selectOptions(screen.getByLabelText("Move “Dig” to"), "done");
    expect(
      await screen.findByText("“Dig” was not moved: Finish its subtasks first."),
    ).toBeInTheDocument();
    expect(within(column("To do")).getByText("Dig")).toBeInTheDocument();
    expect(within(column("Done")).queryByText("Dig")).toBeNull();
  });

  it("on a 412 shows the other person's copy of the task", async () => {
    fakeApi({
      ...baseRoutes,
      [`PATCH /api/v1/tasks/${dig.id}`]: () =>
        json(
          {
            title: "Precondition failed",
            status: 412,
            detail: "…",
            current: { ...dig, title: "Dig deeper", version: 6 },
          },
          412,
          "application/problem+json",
        ),
    });
    renderBoard();
    await within(await screen.findByRole("list", { name: "To do, 1 tasks" })).findByText("Dig");
    await userEvent.selectOptions(screen.getByLabelText("Move “Dig” to"), "blocked");
    expect(
      await screen.findByText("Someone else changed “Dig”; the board shows their version."),
    ).toBeInTheDocument();
    expect(within(column("To do")).getByText("Dig deeper")).toBeInTheDocument();
  });

  it("moves a card from the keyboard: Space, arrow right, Space", async () => {
    // jsdom lays nothing out: give each column a place, 300 px apart.
    vi.spyOn(HTMLElement.prototype, "getBoundingClientRect").mockImplementation(function (
      this: HTMLElement,
    ) {
      const section = this.closest("section[aria-labelledby^='column-']");
      const status = section?.getAttribute("aria-labelledby")?.slice("column-".length) ?? "";
      const left = Math.max(0, STATUSES.indexOf(status as never)) * 300;
      const isColumn = this === section;
      const [top, width, height] = isColumn ? [0, 280, 600] : [40, 260, 60];
      return {
        x: left,
        y: top,
        left,
        top,
        width,
        height,
        right: left + width,
        bottom: top + height,
        toJSON: () => ({}),
      } as DOMRect;
    });
    const { calls } = fakeApi({
      ...baseRoutes,
      [`PATCH /api/v1/tasks/${dig.id}`]: () => json({ ...dig, status: "in_progress", version: 5 }),
    });
    renderBoard();
    const card = await screen.findByRole("button", { name: "Dig" });
    card.focus();
    await userEvent.keyboard("[Space]");
    await userEvent.keyboard("[ArrowRight]");
    await userEvent.keyboard("[Space]");
    await waitFor(() => expect(calls.some((call) => call.method === "PATCH")).toBe(true));
    expect(await calls.find((call) => call.method === "PATCH")!.json()).toEqual({
      status: "in_progress",
    });
    expect(within(column("In progress")).getByText("Dig")).toBeInTheDocument();
  });
});
