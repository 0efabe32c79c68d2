import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { json, makeTask } from "../../test/fixtures";
import History from "./History";
import type { HistoryEntry } from "./historyText";
import { renderWithClient, routeFetch } from "./testing";

function entry(id: string, type: string, time: string, actor: string, data = {}): HistoryEntry {
  return {
    specversion: "1.0",
    id,
    type,
    source: "haven",
    subject: "tasks/t1",
    time,
    haven_actor: actor,
    haven_version: 1,
    haven_position: 1,
    data,
  };
}

describe("History", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("is collapsed until opened, then shows a readable timeline, newest first", async () => {
    const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000).toISOString();
    const { calls } = routeFetch([
      ["GET", /^\/me$/, () => json({ id: "u1" })],
      [
        "GET",
        /\/members/,
        () => json({ items: [{ user_id: "u2", name: "Ada", email: "ada@example.com" }] }),
      ],
      [
        "GET",
        /\/history/,
        () =>
          json({
            items: [
              entry("e1", "haven.task.created", minutesAgo(180), "users/u1", { task: {} }),
              entry("e2", "haven.task.updated", minutesAgo(5), "users/u2", {
                task: {},
                changes: { priority: ["low", "high"] },
              }),
              entry("e3", "haven.task.completed", minutesAgo(0), "users/u1", { next_id: null }),
            ],
            next_cursor: null,
          }),
      ],
    ]);
    renderWithClient(<History task={makeTask()} timeZone="Europe/Berlin" />);
    const toggle = screen.getByRole("button", { name: "History" });
    expect(toggle).toHaveAttribute("aria-expanded", "false");
    expect(calls.some((call) => call.url.includes("/history"))).toBe(false);
    await userEvent.click(toggle);
    expect(toggle).toHaveAttribute("aria-expanded", "true");
    const timeline = await screen.findByRole("list", { name: "History" });
    const items = within(timeline).getAllByRole("listitem");
    expect(items.map((item) => item.textContent)).toEqual([
      "CompletedYou · just now",
      "Priority changed from low to highAda · 5 minutes ago",
      "CreatedYou · 3 hours ago",
    ]);
    await userEvent.click(toggle);
    expect(screen.queryByRole("list", { name: "History" })).toBeNull();
  });
});
