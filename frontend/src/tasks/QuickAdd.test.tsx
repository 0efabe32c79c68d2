import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { json, makeTask } from "../test/fixtures";
import { QuickAdd } from "./QuickAdd";

const DENTIST = "Call the dentist tomorrow at 5pm, remind me 30 minutes before";
const PREVIEW = {
  title: "Call the dentist",
  due: "2026-11-28T16:00:00Z",
  priority: "none",
  project: null,
  project_id: null,
  tags: [],
  recurrence: null,
  reminders: [{ at: null, offset_minutes: 30 }],
  timezone: "Europe/Berlin",
  parsed: [
    { text: "tomorrow at 5pm", start: 17, end: 32, kind: "due" },
    { text: "remind me 30 minutes before", start: 34, end: 61, kind: "reminder" },
  ],
};

function renderQuickAdd() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <QuickAdd timeZone="Europe/Berlin" defaults={{ workspace_id: "ws" }} listKey={["tasks"]} />
    </QueryClientProvider>,
  );
}

describe("QuickAdd", { timeout: 20_000 }, () => {
  const fetchMock = vi.fn<(request: Request) => Promise<Response>>();
  const sent: { dryRun: boolean; body: Record<string, unknown> }[] = [];
  let answer: () => Promise<Response>;

  beforeEach(() => {
    sent.length = 0;
    answer = async () => json(makeTask({ title: "Call the dentist" }), 201);
    fetchMock.mockReset();
    fetchMock.mockImplementation(async (request) => {
      const url = new URL(request.url);
      const body = (await request.json()) as Record<string, unknown>;
      const dryRun = url.searchParams.get("dry_run") === "true";
      sent.push({ dryRun, body });
      if (dryRun) return json(body.text === DENTIST ? PREVIEW : { ...PREVIEW, parsed: [] });
      return answer();
    });
    vi.stubGlobal("fetch", fetchMock);
  });
  afterEach(() => vi.unstubAllGlobals());

  it("highlights what the API understood, and says what the task will be", async () => {
    renderQuickAdd();
    await userEvent.click(screen.getByLabelText("Add a task"));
    await userEvent.paste(DENTIST);

    const understood = await screen.findByRole(
      "group",
      { name: "Quick add understood" },
      { timeout: 5000 },
    );
    const marks = understood.querySelectorAll("mark");
    expect([...marks].map((mark) => [mark.textContent, mark.title])).toEqual([
      ["tomorrow at 5pm (Due)", "Due"],
      ["remind me 30 minutes before (Reminder)", "Reminder"],
    ]);
    expect(within(understood).getByText(/“Call the dentist” · .* · 1 reminder/)).toBeVisible();
    expect(screen.getByLabelText("Add a task")).toHaveAttribute(
      "aria-describedby",
      "quick-add-parsed",
    );
    expect(sent).toEqual([{ dryRun: true, body: { text: DENTIST, workspace_id: "ws" } }]);
  });

  it("creates at once on Enter, without waiting for a dry run", async () => {
    renderQuickAdd();
    await userEvent.click(screen.getByLabelText("Add a task"));
    await userEvent.paste("Pay rent p1");
    await userEvent.keyboard("{Enter}");

    await waitFor(() => expect(sent.some((s) => !s.dryRun)).toBe(true));
    // Enter came before the typing settled: no dry run was waited for (nor sent yet).
    expect(sent[0]?.dryRun).toBe(false);
    const created = sent.find((s) => !s.dryRun)!;
    expect(created.body).toMatchObject({ text: "Pay rent p1", workspace_id: "ws" });
    expect(created.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(screen.getByLabelText("Add a task")).toHaveValue("");
  });

  it("keeps the typed line and shows the API's message when it refuses", async () => {
    answer = async () =>
      json(
        { title: "Unprocessable content", status: 422, detail: "text: too long", errors: [] },
        422,
        "application/problem+json",
      );
    renderQuickAdd();
    await userEvent.click(screen.getByLabelText("Add a task"));
    await userEvent.paste("Check every hour");
    await userEvent.keyboard("{Enter}");

    expect(await screen.findByRole("alert", {}, { timeout: 5000 })).toHaveTextContent("too long");
    expect(screen.getByLabelText("Add a task")).toHaveValue("Check every hour");
  });
});
