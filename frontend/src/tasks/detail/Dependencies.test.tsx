import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Task } from "../../api/types";
import { json, makeTask } from "../../test/fixtures";
import TaskDetail from "../TaskDetail";
import { renderWithClient, routeFetch } from "./testing";

const MAIN = makeTask({ id: "0193a000-0000-7000-8000-000000000001", version: 7 });
const PAINT = makeTask({ id: "0193a000-0000-7000-8000-000000000002", title: "Buy paint" });
const WALLS = makeTask({
  id: "0193a000-0000-7000-8000-000000000003",
  title: "Paint the walls",
  status: "done",
});

function setup(start: Task, add: (body: unknown, request: Request) => Response) {
  let main = start;
  const byId: Record<string, Task> = { [PAINT.id]: PAINT, [WALLS.id]: WALLS };
  const routes = routeFetch([
    ["GET", /^\/tasks\?/, () => json({ items: [MAIN, PAINT, WALLS], next_cursor: null })],
    [
      "POST",
      /^\/tasks\/[^/]+\/dependencies$/,
      async (request) => {
        const answer = add(await request.json(), request);
        if (answer.ok) main = (await answer.clone().json()) as Task;
        return answer;
      },
    ],
    [
      "DELETE",
      /^\/tasks\/[^/]+\/dependencies\/([^/]+)$/,
      (_request, match) => {
        main = {
          ...main,
          version: main.version + 1,
          depends_on: main.depends_on.filter((id) => id !== match[1]),
        };
        return new Response(null, { status: 204 });
      },
    ],
    [
      "GET",
      /^\/tasks\/([^/?]+)$/,
      (_r, match) => json(match[1] === main.id ? main : byId[match[1]!]),
    ],
    ["GET", /^\/me$/, () => json({ id: "u1" })],
    ["GET", /./, () => json({ items: [], next_cursor: null })],
  ]);
  renderWithClient(<TaskDetail taskId={start.id} timeZone="Europe/Berlin" onClose={vi.fn()} />);
  return routes;
}

describe("Dependencies", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("adds a blocker found by title, with If-Match", async () => {
    const { calls } = setup(MAIN, (body) =>
      json(
        { ...MAIN, version: 8, depends_on: [(body as { depends_on_id: string }).depends_on_id] },
        201,
      ),
    );
    expect(await screen.findByText("Nothing blocks this task.")).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText("Add a task that blocks this one"), "paint");
    const matches = await screen.findByRole("list", { name: "Matching tasks" });
    // The task itself is never offered.
    expect(within(matches).queryByText(MAIN.title)).toBeNull();
    await userEvent.click(
      await within(matches).findByRole("button", { name: "Blocked by “Buy paint”" }),
    );
    const blocked = await screen.findByRole("list", { name: "Blocked by" });
    expect(await within(blocked).findByText("Buy paint")).toBeInTheDocument();
    const search = calls.find((call) => call.url.includes("/api/v1/tasks?"))!;
    expect(new URL(search.url).searchParams.get("q")).toBe("paint");
    const post = calls.find((call) => call.method === "POST")!;
    expect(post.headers.get("If-Match")).toBe('"7"');
    expect(await post.json()).toEqual({ depends_on_id: PAINT.id });
  });

  it("explains a cycle (409)", async () => {
    setup(MAIN, () =>
      json(
        { title: "Conflict", status: 409, detail: "that dependency would make a cycle" },
        409,
        "application/problem+json",
      ),
    );
    await userEvent.type(await screen.findByLabelText("Add a task that blocks this one"), "walls");
    await userEvent.click(
      await screen.findByRole("button", { name: "Blocked by “Paint the walls”" }),
    );
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "“Paint the walls” already waits on this task (directly or through other tasks), so it cannot block it too",
    );
    expect(screen.getByText("Nothing blocks this task.")).toBeInTheDocument();
  });

  it("removes a blocker and reloads the task's version", async () => {
    const { calls } = setup({ ...MAIN, depends_on: [PAINT.id, WALLS.id] }, () => json({}, 599));
    const blocked = await screen.findByRole("list", { name: "Blocked by" });
    expect(await within(blocked).findByText("Paint the walls")).toHaveClass("line-through");
    await userEvent.click(screen.getByRole("button", { name: "Remove blocker: Buy paint" }));
    await waitFor(() => expect(within(blocked).queryByText("Buy paint")).toBeNull());
    const remove = calls.find((call) => call.method === "DELETE")!;
    expect(remove.url).toMatch(new RegExp(`/dependencies/${PAINT.id}$`));
    expect(remove.headers.get("If-Match")).toBe('"7"');
  });

  it("on a 412 reloads the task and says someone else changed it", async () => {
    const theirs = { ...MAIN, version: 9, title: "Water the cactus" };
    setup(MAIN, () =>
      json(
        { title: "Precondition failed", status: 412, detail: "…", current: theirs },
        412,
        "application/problem+json",
      ),
    );
    await userEvent.type(await screen.findByLabelText("Add a task that blocks this one"), "paint");
    await userEvent.click(await screen.findByRole("button", { name: "Blocked by “Buy paint”" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Someone else changed this task");
    expect(screen.getByLabelText("Title")).toHaveValue("Water the cactus");
  });
});
