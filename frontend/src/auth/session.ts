/**
 * The browser session (the board's shared contract): the refresh token lives only in the
 * HttpOnly `haven_refresh` cookie; the access token lives only in this module's memory.
 * Refresh and sign-out send `X-CSRF-Token` copied from the readable `haven_csrf` cookie.
 */
import type { AuthResponse, User } from "../api/types";
import { ApiError } from "../api/problems";

const AUTH = "/api/v1/auth";
/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_SECONDS = 60;

interface State {
  accessToken: string | null;
  user: User | null;
}

const state: State = { accessToken: null, user: null };
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let inFlight: Promise<boolean> | null = null;
const listeners = new Set<() => void>();

export function accessToken(): string | null {
  return state.accessToken;
}

export function currentUser(): User | null {
  return state.user;
}

export function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function notify(): void {
  for (const listener of listeners) listener();
}

export function readCookie(name: string, cookies: string = document.cookie): string | null {
  for (const part of cookies.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

function csrfHeaders(): Record<string, string> {
  const token = readCookie("haven_csrf");
  return token ? { "X-CSRF-Token": token } : {};
}

function accept(answer: AuthResponse): void {
  state.accessToken = answer.access_token;
  state.user = answer.user;
  clearTimeout(refreshTimer);
  const seconds = Math.max(10, answer.expires_in - REFRESH_MARGIN_SECONDS);
  refreshTimer = setTimeout(() => void refresh(), seconds * 1000);
  notify();
}

export function forget(): void {
  clearTimeout(refreshTimer);
  state.accessToken = null;
  state.user = null;
  notify();
}

/** Keeps the profile shown in the UI current after a PATCH /me. */
export function setUser(user: User): void {
  state.user = user;
  notify();
}

async function post(path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(`${AUTH}${path}?transport=cookie`, {
      method: "POST",
      credentials: "same-origin",
      ...init,
    });
  } catch {
    throw new ApiError(0, { detail: "Haven could not be reached. Check your connection." });
  }
}

async function signInWith(path: string, body: object): Promise<User> {
  const response = await post(path, {
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  const data: unknown = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  accept(data as AuthResponse);
  return (data as AuthResponse).user;
}

export function signIn(email: string, password: string): Promise<User> {
  return signInWith("/login", { email, password });
}

export function signUp(fields: {
  email: string;
  password: string;
  name: string;
  timezone: string;
}): Promise<User> {
  return signInWith("/register", fields);
}

/**
 * Refresh tokens rotate, and presenting a used one revokes the whole sign-in: two tabs that
 * refresh at the same moment with the same cookie would sign each other out. A Web Lock makes
 * them take turns; the second then sends the cookie the first one received.
 */
function acrossTabs<T>(work: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  return locks ? (locks.request("haven-refresh", work) as Promise<T>) : work();
}

/** Trades the refresh cookie for a new access token; one call at a time. False: signed out. */
export function refresh(): Promise<boolean> {
  // No haven_csrf cookie: no browser session (the server would refuse without it anyway).
  if (!readCookie("haven_csrf")) {
    if (state.accessToken !== null) forget();
    return Promise.resolve(false);
  }
  inFlight ??= (async () => {
    try {
      const response = await acrossTabs(() =>
        post("/refresh", { headers: { Accept: "application/json", ...csrfHeaders() } }),
      );
      if (!response.ok) {
        forget();
        return false;
      }
      accept((await response.json()) as AuthResponse);
      return true;
    } catch {
      // Offline: keep what we have; the next call will try again.
      return state.accessToken !== null;
    } finally {
      inFlight = null;
    }
  })();
  return inFlight;
}

export async function signOut(): Promise<void> {
  try {
    await post("/logout", { headers: csrfHeaders() });
  } finally {
    forget();
  }
}
