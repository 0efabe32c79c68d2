import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { json } from "../test/fixtures";
import { fakeApi, renderWithShell } from "../settings/testing";
import StatsPage from "./StatsPage";

afterEach(() => vi.unstubAllGlobals());

function answer(request: Request) {
  const url = new URL(request.url);
  const start = url.searchParams.get("start") ?? "";
  const end = url.searchParams.get("end") ?? "";
  return json({
    timezone: "Europe/Berlin",
    start,
    end,
    completed: [{ day: end, count: 3 }],
    tracked: [
      { project_id: "p1", name: "Garden", seconds: 5400 },
      { project_id: null, name: null, seconds: 600 },
    ],
  });
}

describe("StatsPage", () => {
  it("shows both charts as text tables and refetches for another period", async () => {
    const { calls } = fakeApi({ "GET /api/v1/stats/tasks": answer });
    renderWithShell(<StatsPage />);
    expect(screen.getByRole("button", { name: "30 days" })).toHaveAttribute("aria-pressed", "true");
    const completed = await screen.findByRole("table", { name: "Tasks completed per day" });
    expect(within(completed).getAllByRole("row")).toHaveLength(31); // header + 30 days
    expect(screen.getByText(/3 tasks completed in the last 30 days/)).toBeInTheDocument();
    const tracked = screen.getByRole("table", { name: "Time tracked per project" });
    expect(within(tracked).getByRole("row", { name: "Garden 1 h 30 min" })).toBeInTheDocument();
    expect(within(tracked).getByRole("row", { name: "No project 10 min" })).toBeInTheDocument();

    await userEvent.click(screen.getByRole("button", { name: "7 days" }));
    await waitFor(() =>
      expect(screen.getByText(/3 tasks completed in the last 7 days/)).toBeInTheDocument(),
    );
    const last = new URL(calls[calls.length - 1]!.url);
    expect(last.searchParams.get("workspace_id")).toBe("0193a000-0000-7000-8000-0000000000aa");
  });

  it("says when the stats could not be loaded", async () => {
    fakeApi({
      "GET /api/v1/stats/tasks": () =>
        json({ title: "Bad", status: 400, detail: "The window is at most 366 days." }, 400),
    });
    renderWithShell(<StatsPage />);
    expect(await screen.findByRole("alert")).toHaveTextContent("at most 366 days");
  });
});
