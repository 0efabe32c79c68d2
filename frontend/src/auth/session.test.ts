import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { accessToken, readCookie, refresh, signIn, signOut } from "./session";
import { authFetch } from "../api/client";

const user = {
  id: "u1",
  email: "ada@example.org",
  name: "Ada",
  timezone: "Europe/Berlin",
  digest_enabled: false,
  digest_time: "07:00",
  created_at: "2026-11-01T00:00:00Z",
  version: 1,
};

function auth(token: string) {
  return new Response(
    JSON.stringify({
      user,
      access_token: token,
      refresh_token: null,
      token_type: "bearer",
      expires_in: 900,
    }),
    { status: 200, headers: { "Content-Type": "application/json" } },
  );
}

describe("browser session (cookie transport)", () => {
  const fetchMock = vi.fn<typeof fetch>();
  beforeEach(() => {
    fetchMock.mockReset();
    vi.stubGlobal("fetch", fetchMock);
    document.cookie = "haven_csrf=token-123; path=/";
  });
  afterEach(async () => {
    fetchMock.mockResolvedValue(new Response(null, { status: 204 }));
    await signOut();
    vi.unstubAllGlobals();
  });

  it("reads a cookie by name", () => {
    expect(readCookie("haven_csrf", "a=1; haven_csrf=x%3Dy; b=2")).toBe("x=y");
    expect(readCookie("missing", "a=1")).toBeNull();
  });

  it("signs in with ?transport=cookie and keeps the token in memory only", async () => {
    fetchMock.mockResolvedValueOnce(auth("access-1"));
    await signIn("ada@example.org", "correct horse");
    const [url, init] = fetchMock.mock.calls[0]!;
    expect(url).toBe("/api/v1/auth/login?transport=cookie");
    expect(init?.credentials).toBe("same-origin");
    expect(accessToken()).toBe("access-1");
    expect(localStorage.length).toBe(0);
  });

  it("refreshes with the CSRF header copied from the haven_csrf cookie", async () => {
    fetchMock.mockResolvedValueOnce(auth("access-2"));
    expect(await refresh()).toBe(true);
    const [url, init] = fetchMock.mock.calls[0]!;
    expect(url).toBe("/api/v1/auth/refresh?transport=cookie");
    expect((init?.headers as Record<string, string>)["X-CSRF-Token"]).toBe("token-123");
    expect(accessToken()).toBe("access-2");
  });

  it("does not ask the server when there is no session cookie", async () => {
    document.cookie = "haven_csrf=; path=/; max-age=0";
    expect(await refresh()).toBe(false);
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it("retries a request once after a 401 and a successful refresh", async () => {
    fetchMock
      .mockResolvedValueOnce(new Response(null, { status: 401 }))
      .mockResolvedValueOnce(auth("access-3"))
      .mockResolvedValueOnce(new Response("{}", { status: 200 }));
    const response = await authFetch(new Request(new URL("/api/v1/me", location.origin)));
    expect(response.status).toBe(200);
    const retried = fetchMock.mock.calls[2]![0] as Request;
    expect(retried.headers.get("Authorization")).toBe("Bearer access-3");
  });
});
