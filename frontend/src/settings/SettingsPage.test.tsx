import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import { vi } from "vitest";
import { json } from "../test/fixtures";
import { ApiKeysSection } from "./ApiKeysSection";
import { MembersSection } from "./MembersSection";
import { ProfileSection } from "./ProfileSection";
import { assignableRoles } from "./queries";
import { fakeApi, ME, renderWithShell, WS } from "./testing";

const problem = "application/problem+json";
afterEach(() => vi.unstubAllGlobals());

describe("assignableRoles", () => {
  it("lets owners hand out every role and admins all but owner", () => {
    expect(assignableRoles("owner")).toEqual(["viewer", "member", "admin", "owner"]);
    expect(assignableRoles("admin")).toEqual(["viewer", "member", "admin"]);
    expect(assignableRoles("member")).toEqual([]);
  });
});

describe("Profile", () => {
  it("saves name and time zone with If-Match on the version read", async () => {
    const { calls } = fakeApi({
      "GET /api/v1/me": ME,
      "PATCH /api/v1/me": () => json({ ...ME, name: "Ada L", timezone: "Asia/Tokyo", version: 4 }),
    });
    renderWithShell(<ProfileSection />);
    const name = await screen.findByLabelText("Name");
    await userEvent.clear(name);
    await userEvent.type(name, "Ada L");
    await userEvent.selectOptions(screen.getByLabelText("Time zone"), "Asia/Tokyo");
    await userEvent.click(screen.getByRole("button", { name: "Save profile" }));
    expect(await screen.findByText("Profile saved")).toBeInTheDocument();
    const patch = calls.find((call) => call.method === "PATCH")!;
    expect(patch.headers.get("If-Match")).toBe('"3"');
    expect(await patch.json()).toEqual({ name: "Ada L", timezone: "Asia/Tokyo" });
  });

  it("shows the API's message next to the field", async () => {
    fakeApi({
      "GET /api/v1/me": ME,
      "PATCH /api/v1/me": () =>
        json(
          {
            title: "Unprocessable",
            status: 422,
            detail: "the request is not valid",
            errors: [{ loc: ["body", "timezone"], msg: "unknown time zone" }],
          },
          422,
          problem,
        ),
    });
    renderWithShell(<ProfileSection />);
    await userEvent.selectOptions(await screen.findByLabelText("Time zone"), "Asia/Tokyo");
    await userEvent.click(screen.getByRole("button", { name: "Save profile" }));
    expect(await screen.findByText("unknown time zone")).toBeInTheDocument();
    expect(screen.getByLabelText("Time zone")).toHaveAccessibleDescription("unknown time zone");
  });
});

describe("API keys", () => {
  const key = {
    id: "0193a000-0000-7000-8000-0000000000k1",
    name: "home automation",
    scopes: ["tasks:read"],
    prefix: "ab12",
    created_at: "2026-11-01T10:00:00Z",
    last_used_at: null,
    expires_at: null,
  };

  it("creates a key with the chosen scopes and shows the secret once, with a warning", async () => {
    const writeText = vi.fn(() => Promise.resolve());
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    const { calls } = fakeApi({
      "GET /api/v1/api-keys": { items: [], next_cursor: null },
      "POST /api/v1/api-keys": () =>
        json({ ...key, scopes: ["tasks:read", "tasks:write"], key: "hvn_ab12_s3cret" }, 201),
    });
    renderWithShell(<ApiKeysSection />);
    expect(await screen.findByText("No API keys yet.")).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText("Key name"), "home automation");
    await userEvent.click(screen.getByRole("checkbox", { name: /Change tasks/ }));
    await userEvent.click(screen.getByRole("button", { name: "Create key" }));
    const dialog = await screen.findByRole("dialog");
    expect(dialog).toHaveTextContent("Haven shows it only this once");
    expect(within(dialog).getByLabelText("Your new API key")).toHaveValue("hvn_ab12_s3cret");
    await userEvent.click(within(dialog).getByRole("button", { name: "Copy" }));
    expect(writeText).toHaveBeenCalledWith("hvn_ab12_s3cret");
    const post = calls.find((call) => call.method === "POST")!;
    expect(await post.json()).toEqual({
      name: "home automation",
      scopes: ["tasks:read", "tasks:write"],
    });
    await userEvent.click(within(dialog).getByRole("button", { name: "I have copied it" }));
    expect(screen.queryByText("hvn_ab12_s3cret")).toBeNull();
    expect(screen.queryByDisplayValue("hvn_ab12_s3cret")).toBeNull();
  });

  it("asks before revoking, since a revoked key cannot come back", async () => {
    const { calls } = fakeApi({
      "GET /api/v1/api-keys": { items: [key], next_cursor: null },
      [`DELETE /api/v1/api-keys/${key.id}`]: () => new Response(null, { status: 204 }),
    });
    renderWithShell(<ApiKeysSection />);
    await userEvent.click(await screen.findByRole("button", { name: "Revoke home automation" }));
    const confirm = await screen.findByRole("alertdialog");
    expect(confirm).toHaveTextContent("This cannot be undone.");
    await userEvent.click(within(confirm).getByRole("button", { name: "Cancel" }));
    expect(calls.some((call) => call.method === "DELETE")).toBe(false);
    await userEvent.click(screen.getByRole("button", { name: "Revoke home automation" }));
    await userEvent.click(
      within(await screen.findByRole("alertdialog")).getByRole("button", { name: "Revoke key" }),
    );
    await waitFor(() => expect(calls.some((call) => call.method === "DELETE")).toBe(true));
    expect(await screen.findByText("Revoked “home automation”")).toBeInTheDocument();
  });
});

describe("Workspace members", () => {
  const members = {
    items: [
      {
        user_id: ME.id,
        email: ME.email,
        name: "Ada",
        role: "admin",
        joined_at: "2026-01-01T00:00:00Z",
      },
      {
        user_id: "0193a000-0000-7000-8000-0000000000u2",
        email: "bob@example.com",
        name: "Bob",
        role: "member",
        joined_at: "2026-01-02T00:00:00Z",
      },
    ],
    next_cursor: null,
  };
  const workspaces = (role: string) => ({
    items: [{ id: WS, name: "Home", is_personal: false, role, created_at: "", version: 1 }],
  });

  it("lets an admin change a role and shows an add error next to the email", async () => {
    const { calls } = fakeApi({
      "GET /api/v1/me": ME,
      "GET /api/v1/workspaces": workspaces("admin"),
      [`GET /api/v1/workspaces/${WS}/members`]: members,
      [`PATCH /api/v1/workspaces/${WS}/members/${members.items[1]!.user_id}`]: () =>
        json({ ...members.items[1], role: "viewer" }),
      [`POST /api/v1/workspaces/${WS}/members`]: () =>
        json(
          { title: "Not found", status: 404, detail: "No Haven user has that email." },
          404,
          problem,
        ),
    });
    renderWithShell(<MembersSection />);
    const role = await screen.findByLabelText("Role of Bob");
    // Admins cannot make owners, and cannot edit themselves.
    expect(within(role).queryByRole("option", { name: "Owner" })).toBeNull();
    expect(screen.queryByLabelText("Role of Ada")).toBeNull();
    await userEvent.selectOptions(role, "viewer");
    await waitFor(() => expect(calls.some((call) => call.method === "PATCH")).toBe(true));
    expect(await calls.find((call) => call.method === "PATCH")!.json()).toEqual({ role: "viewer" });

    await userEvent.type(screen.getByLabelText("Email"), "nobody@example.com");
    await userEvent.click(screen.getByRole("button", { name: "Add member" }));
    expect(await screen.findByText("No Haven user has that email.")).toBeInTheDocument();
    expect(screen.getByLabelText("Email")).toHaveAccessibleDescription(
      "No Haven user has that email.",
    );
  });

  it("shows members read-only to a plain member", async () => {
    fakeApi({
      "GET /api/v1/me": ME,
      "GET /api/v1/workspaces": workspaces("member"),
      [`GET /api/v1/workspaces/${WS}/members`]: members,
    });
    renderWithShell(<MembersSection />);
    expect(await screen.findByText("Bob")).toBeInTheDocument();
    expect(screen.queryByRole("combobox")).toBeNull();
    expect(screen.queryByRole("button", { name: /Remove/ })).toBeNull();
    expect(screen.queryByRole("button", { name: "Add member" })).toBeNull();
  });
});
