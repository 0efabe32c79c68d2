import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter } from "react-router-dom";
import { vi } from "vitest";
import { ShellContext } from "../shell/shellContext";
import { ToastProvider } from "../shell/toasts";
import { json } from "../test/fixtures";

export const WS = "0193a000-0000-7000-8000-0000000000aa";
export const ME = {
  id: "0193a000-0000-7000-8000-0000000000u1",
  email: "ada@example.com",
  name: "Ada",
  timezone: "Europe/Berlin",
  digest_enabled: false,
  digest_time: "07:00",
  created_at: "2026-01-01T00:00:00Z",
  version: 3,
};

type Handler = (request: Request) => Response | Promise<Response>;

/** A fetch stub answering "METHOD /path" (query ignored); unknown calls answer 404. */
export function fakeApi(routes: Record<string, Handler | unknown>) {
  const calls: Request[] = [];
  const fetchMock = vi.fn(async (request: Request) => {
    calls.push(request.clone());
    const url = new URL(request.url);
    const route = routes[`${request.method} ${url.pathname}`];
    if (route === undefined) return json({ title: "Not found", status: 404 }, 404);
    return typeof route === "function" ? (route as Handler)(request) : json(route);
  });
  vi.stubGlobal("fetch", fetchMock);
  return { calls, fetchMock };
}

export function renderWithShell(ui: ReactNode, path = "/") {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[path]}>
        <ShellContext.Provider
          value={{ workspaceId: WS, timeZone: "Europe/Berlin", openShortcuts: () => undefined }}
        >
          <ToastProvider>{ui}</ToastProvider>
        </ShellContext.Provider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}
