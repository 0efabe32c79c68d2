import createClient from "openapi-fetch";
import type { paths } from "./schema";
import { ApiError } from "./problems";
import { accessToken, refresh } from "../auth/session";

let onSignedOut: () => void = () => undefined;

/** Where a request goes when the session cannot be renewed (set by the router). */
export function setSignedOutHandler(handler: () => void): void {
  onSignedOut = handler;
}

function withToken(request: Request): Request {
  const token = accessToken();
  const copy = new Request(request);
  if (token) copy.headers.set("Authorization", `Bearer ${token}`);
  return copy;
}

/**
 * fetch with the in-memory access token; a 401 tries one silent refresh and then the
 * request once more, and if that fails too, the user is sent to sign in.
 */
export async function authFetch(input: Request): Promise<Response> {
  const spare = input.clone();
  let response: Response;
  try {
    response = await fetch(withToken(input));
  } catch {
    throw new ApiError(0, { detail: "Haven could not be reached. Check your connection." });
  }
  if (response.status !== 401) return response;
  if (await refresh()) {
    const retried = await fetch(withToken(spare));
    if (retried.status !== 401) return retried;
  }
  onSignedOut();
  return response;
}

// Same origin; absolute so that it also works where Request needs a full URL (tests).
export const api = createClient<paths>({
  baseUrl: globalThis.location?.origin ?? "",
  fetch: authFetch,
});

/** The data of an openapi-fetch answer, or an ApiError carrying the problem+json. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw new ApiError(response.status, error);
  return data as T;
}

/** `If-Match` for a resource's version (API.md, "Concurrency"). */
export function ifMatch(version: number): { "If-Match": string } {
  return { "If-Match": `"${version}"` };
}
