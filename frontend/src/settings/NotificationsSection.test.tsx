import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { json } from "../test/fixtures";
import { NotificationsSection } from "./NotificationsSection";
import { fakeApi, ME, renderWithShell } from "./testing";

afterEach(() => vi.unstubAllGlobals());

const PREFS = {
  email: true,
  push: true,
  in_app: true,
  quiet_hours_start: null,
  quiet_hours_end: null,
};

describe("Notifications settings", () => {
  it("saves channels and quiet hours with one PATCH of what changed", async () => {
    const { calls } = fakeApi({
      "GET /api/v1/me": ME,
      "GET /api/v1/notification-preferences": PREFS,
      "PATCH /api/v1/notification-preferences": () =>
        json({ ...PREFS, email: false, quiet_hours_start: "21:30", quiet_hours_end: "06:00" }),
    });
    renderWithShell(<NotificationsSection />);
    await userEvent.click(await screen.findByRole("checkbox", { name: /^Email/ }));
    const start = screen.getByLabelText("Quiet from");
    expect(start).toBeDisabled();
    await userEvent.click(screen.getByRole("checkbox", { name: /Hold email and push/ }));
    await userEvent.clear(start);
    await userEvent.type(start, "21:30");
    const end = screen.getByLabelText("Quiet until");
    await userEvent.clear(end);
    await userEvent.type(end, "06:00");
    await userEvent.click(screen.getByRole("button", { name: "Save notification settings" }));
    expect(await screen.findByText("Notification settings saved")).toBeInTheDocument();
    const patches = calls.filter((call) => call.method === "PATCH");
    expect(patches).toHaveLength(1);
    expect(await patches[0]!.json()).toEqual({
      email: false,
      quiet_hours_start: "21:30",
      quiet_hours_end: "06:00",
    });
    // The form starts again from the server's answer.
    expect(await screen.findByRole("checkbox", { name: /^Email/ })).not.toBeChecked();
    expect(screen.getByRole("button", { name: "Save notification settings" })).toBeDisabled();
  });

  it("turns the digest on at a chosen time on the profile, with If-Match", async () => {
    const { calls } = fakeApi({
      "GET /api/v1/me": { ...ME, digest_enabled: false },
      "GET /api/v1/notification-preferences": PREFS,
      "PATCH /api/v1/me": () =>
        json({ ...ME, digest_enabled: true, digest_time: "06:45", version: 4 }),
    });
    renderWithShell(<NotificationsSection />);
    const time = await screen.findByLabelText("Digest time");
    expect(time).toBeDisabled();
    await userEvent.click(screen.getByRole("checkbox", { name: /digest every morning/i }));
    await userEvent.clear(time);
    await userEvent.type(time, "06:45");
    await userEvent.click(screen.getByRole("button", { name: "Save notification settings" }));
    expect(await screen.findByText("Notification settings saved")).toBeInTheDocument();
    const patch = calls.find((call) => call.method === "PATCH")!;
    expect(new URL(patch.url).pathname).toBe("/api/v1/me");
    expect(patch.headers.get("If-Match")).toBe('"3"');
    expect(await patch.json()).toEqual({ digest_enabled: true, digest_time: "06:45" });
  });

  it("shows the API's message next to the field it concerns", async () => {
    fakeApi({
      "GET /api/v1/me": ME,
      "GET /api/v1/notification-preferences": PREFS,
      "PATCH /api/v1/notification-preferences": () =>
        new Response(
          JSON.stringify({
            title: "Validation failed",
            status: 422,
            errors: [{ loc: ["body", "quiet_hours_end"], msg: "not a time of day (HH:MM)" }],
          }),
          { status: 422, headers: { "Content-Type": "application/problem+json" } },
        ),
    });
    renderWithShell(<NotificationsSection />);
    await userEvent.click(await screen.findByRole("checkbox", { name: /Hold email and push/ }));
    await userEvent.click(screen.getByRole("button", { name: "Save notification settings" }));
    const end = screen.getByLabelText("Quiet until");
    await waitFor(() => expect(end).toHaveAttribute("aria-invalid", "true"));
    expect(end).toHaveAccessibleDescription("not a time of day (HH:MM)");
  });

  it("says so on a 412 from the profile and reloads it", async () => {
    let reads = 0;
    fakeApi({
      "GET /api/v1/me": () => {
        reads += 1;
        return json(ME);
      },
      "GET /api/v1/notification-preferences": PREFS,
      "PATCH /api/v1/me": () =>
        new Response(JSON.stringify({ title: "Precondition failed", status: 412 }), {
          status: 412,
          headers: { "Content-Type": "application/problem+json" },
        }),
    });
    renderWithShell(<NotificationsSection />);
    await userEvent.click(await screen.findByRole("checkbox", { name: /digest every morning/i }));
    await userEvent.click(screen.getByRole("button", { name: "Save notification settings" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(/changed elsewhere/);
    await waitFor(() => expect(reads).toBeGreaterThan(1));
  });

  it("hides the device switch with a note when this browser cannot receive push", async () => {
    fakeApi({ "GET /api/v1/me": ME, "GET /api/v1/notification-preferences": PREFS });
    renderWithShell(<NotificationsSection />);
    // jsdom has no service workers or PushManager.
    expect(
      await screen.findByText("This browser cannot receive push notifications."),
    ).toBeInTheDocument();
    expect(screen.queryByRole("switch")).not.toBeInTheDocument();
  });

  describe("push on this device", () => {
    function browserWithPush(permission: NotificationPermission) {
      vi.stubGlobal("PushManager", function PushManager() {});
      vi.stubGlobal("Notification", { permission, requestPermission: async () => permission });
      Object.defineProperty(navigator, "serviceWorker", {
        configurable: true,
        value: { getRegistration: async () => undefined },
      });
    }
    afterEach(() => {
      Reflect.deleteProperty(navigator, "serviceWorker");
    });

    it("says so when the server has no Web Push (the key answers 404)", async () => {
      browserWithPush("default");
      fakeApi({ "GET /api/v1/me": ME, "GET /api/v1/notification-preferences": PREFS });
      renderWithShell(<NotificationsSection />);
      expect(
        await screen.findByText("Push notifications are not set up on this Haven server."),
      ).toBeInTheDocument();
      expect(screen.queryByRole("switch")).not.toBeInTheDocument();
    });

    it("explains how to allow notifications when the browser blocks them", async () => {
      browserWithPush("denied");
      fakeApi({
        "GET /api/v1/me": ME,
        "GET /api/v1/notification-preferences": PREFS,
        "GET /api/v1/push/vapid-public-key": { public_key: "BAAA" },
      });
      renderWithShell(<NotificationsSection />);
      const toggle = await screen.findByRole("switch", { name: "Notifications on this device" });
      expect(toggle).not.toBeChecked();
      expect(toggle).toBeDisabled();
      expect(toggle).toHaveAccessibleDescription(/blocks notifications from Haven/);
    });
  });
});
