import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { vi } from "vitest";

type Handler = (request: Request, match: RegExpExecArray) => Response | Promise<Response>;

/** A fetch that answers by method and path (after /api/v1); unmatched calls fail the test
 * loudly with a 599. `calls` records every request (cloned, so bodies can be read). */
export function routeFetch(routes: [string, RegExp, Handler][]) {
  const calls: Request[] = [];
  const fetchMock = vi.fn(async (request: Request) => {
    calls.push(request.clone());
    const url = new URL(request.url);
    const path = url.pathname.replace(/^\/api\/v1/, "") + url.search;
    for (const [method, pattern, handler] of routes) {
      const match = pattern.exec(path);
      if (method === request.method && match) return handler(request, match);
    }
    return new Response(JSON.stringify({ title: `no route for ${request.method} ${path}` }), {
      status: 599,
    });
  });
  vi.stubGlobal("fetch", fetchMock);
  return { calls, fetchMock };
}

export function renderWithClient(ui: ReactElement) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return { client, ...render(<QueryClientProvider client={client}>{ui}</QueryClientProvider>) };
}
