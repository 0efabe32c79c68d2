import * as DropdownMenu from "@radix-ui/react-dropdown-menu";
import { useState } from "react";
import { NavLink, useNavigate } from "react-router-dom";
import { useQueryClient } from "@tanstack/react-query";
import { signOut } from "../auth/session";
import { applyTheme, storedTheme, type Theme } from "../lib/theme";
import { NotificationBell } from "../notifications/Bell";
import { useMe, useTags, useTaskCount, useWorkspaces } from "../tasks/queries";
import { listSpec, SMART_VIEWS, type SmartView } from "../tasks/views";
import { MonitorIcon, MoonIcon, SunIcon } from "./icons";
import { useShell } from "./shellContext";
import { SidebarProjects } from "./SidebarProjects";
import { SidebarSearches } from "./SidebarSearches";

const navItem = ({ isActive }: { isActive: boolean }) =>
  `flex items-center gap-2 rounded-md px-2 py-1.5 ${
    isActive
      ? "bg-accent-50 font-medium text-accent-700 dark:bg-zinc-800 dark:text-white"
      : "hover:bg-zinc-100 dark:hover:bg-zinc-800"
  }`;

function ViewLink({
  view,
  title,
  onNavigate,
}: {
  view: SmartView;
  title: string;
  onNavigate?: () => void;
}) {
  const { workspaceId, timeZone } = useShell();
  const [now] = useState(() => new Date());
  const spec = listSpec({ kind: "view", view }, { workspaceId, timeZone, now });
  const count = useTaskCount(spec.key, spec.query);
  const overdue = view === "overdue" && count !== undefined && count !== "0";
  return (
    <li>
      <NavLink to={`/${view}`} className={navItem} onClick={onNavigate}>
        <span className="flex-1">{title}</span>
        {count !== undefined && (
          <span
            className={`text-xs tabular-nums ${overdue ? "font-semibold text-red-700 dark:text-red-400" : "text-zinc-600 dark:text-zinc-400"}`}
          >
            {count}
            <span className="sr-only"> tasks</span>
          </span>
        )}
      </NavLink>
    </li>
  );
}

export function Sidebar({
  onNavigate,
  onHide,
  workspaceId,
  setWorkspaceId,
}: {
  onNavigate?: () => void;
  /** Wide screens: hide the sidebar (the bar above the list brings it back). */
  onHide?: () => void;
  workspaceId?: string;
  setWorkspaceId: (id: string) => void;
}) {
  const workspaces = useWorkspaces();
  const tags = useTags(workspaceId);
  return (
    <nav
      aria-label="Sidebar"
      className="flex h-full w-64 flex-col gap-4 overflow-y-auto bg-zinc-50 p-3 dark:bg-zinc-950"
    >
      <div>
        <label htmlFor="workspace-switcher" className="sr-only">
          Workspace
        </label>
        <select
          id="workspace-switcher"
          value={workspaceId ?? ""}
          onChange={(event) => setWorkspaceId(event.target.value)}
          className="w-full rounded-md border border-zinc-300 bg-white px-2 py-1.5 font-medium dark:border-zinc-700 dark:bg-zinc-900"
        >
          {(workspaces.data?.items ?? []).map((ws) => (
            <option key={ws.id} value={ws.id}>
              {ws.name}
            </option>
          ))}
        </select>
      </div>
      <ul className="flex flex-col gap-0.5">
        {SMART_VIEWS.map((view) => (
          <ViewLink key={view.id} view={view.id} title={view.title} onNavigate={onNavigate} />
        ))}
        <li>
          <NavLink to="/stats" className={navItem} onClick={onNavigate}>
            Stats
          </NavLink>
        </li>
      </ul>
      <section aria-labelledby="projects-heading">
        <h2
          id="projects-heading"
          className="mb-1 px-2 text-xs font-semibold uppercase tracking-wide text-zinc-600 dark:text-zinc-400"
        >
          Projects
        </h2>
        <SidebarProjects workspaceId={workspaceId} navItem={navItem} onNavigate={onNavigate} />
      </section>
      <section aria-labelledby="tags-heading">
        <h2
          id="tags-heading"
          className="mb-1 px-2 text-xs font-semibold uppercase tracking-wide text-zinc-600 dark:text-zinc-400"
        >
          Tags
        </h2>
        <ul className="flex flex-col gap-0.5">
          {tags.data?.items.length === 0 && (
            <li className="px-2 text-zinc-600 dark:text-zinc-400">No tags yet</li>
          )}
          {tags.data?.items.map((tag) => (
            <li key={tag.id}>
              <NavLink
                to={`/tags/${encodeURIComponent(tag.name)}`}
                className={navItem}
                onClick={onNavigate}
              >
                <span aria-hidden="true" style={{ color: tag.color ?? undefined }}>
                  #
                </span>
                <span className="truncate">{tag.name}</span>
              </NavLink>
            </li>
          ))}
        </ul>
      </section>
      <SidebarSearches workspaceId={workspaceId} navItem={navItem} onNavigate={onNavigate} />
      <div className="mt-auto flex items-center gap-2">
        <UserMenu />
        <NotificationBell />
        <ThemeToggle />
        {onHide && (
          <button
            type="button"
            aria-label="Hide sidebar"
            title="Hide sidebar"
            className="rounded-md p-2 hover:bg-zinc-200 dark:hover:bg-zinc-800"
            onClick={onHide}
          >
            <span aria-hidden="true">«</span>
          </button>
        )}
      </div>
    </nav>
  );
}

const THEME_NEXT: Record<Theme, Theme> = { system: "light", light: "dark", dark: "system" };
const THEME_NAME: Record<Theme, string> = { system: "system", light: "light", dark: "dark" };

export function ThemeToggle() {
  const [theme, setTheme] = useState<Theme>(storedTheme);
  const Icon = theme === "dark" ? MoonIcon : theme === "light" ? SunIcon : MonitorIcon;
  return (
    <button
      type="button"
      className="rounded-md p-2 hover:bg-zinc-200 dark:hover:bg-zinc-800"
      aria-label={`Theme: ${THEME_NAME[theme]} (switch to ${THEME_NAME[THEME_NEXT[theme]]})`}
      title="Switch theme"
      onClick={() => {
        const next = THEME_NEXT[theme];
        applyTheme(next);
        setTheme(next);
      }}
    >
      <Icon />
    </button>
  );
}

function UserMenu() {
  const me = useMe();
  const navigate = useNavigate();
  const client = useQueryClient();
  const { openShortcuts } = useShell();
  const name = me.data?.name || me.data?.email || "Account";
  return (
    <DropdownMenu.Root>
      <DropdownMenu.Trigger className="flex min-w-0 flex-1 items-center gap-2 rounded-md px-2 py-1.5 text-left hover:bg-zinc-200 dark:hover:bg-zinc-800">
        <span className="sr-only">Account menu for </span>
        <span
          aria-hidden="true"
          className="flex h-6 w-6 shrink-0 items-center justify-center rounded-full bg-accent-600 text-xs font-semibold text-white"
        >
          {name.slice(0, 1).toUpperCase()}
        </span>
        <span className="truncate">{name}</span>
      </DropdownMenu.Trigger>
      <DropdownMenu.Portal>
        <DropdownMenu.Content
          side="top"
          align="start"
          className="z-50 min-w-48 rounded-md border border-zinc-200 bg-white p-1 shadow-lg dark:border-zinc-700 dark:bg-zinc-900"
        >
          {me.data && (
            <DropdownMenu.Label className="px-2 py-1 text-xs text-zinc-600 dark:text-zinc-400">
              {me.data.email}
            </DropdownMenu.Label>
          )}
          <DropdownMenu.Item
            className="cursor-pointer rounded px-2 py-1.5 outline-none data-[highlighted]:bg-zinc-100 dark:data-[highlighted]:bg-zinc-800"
            onSelect={openShortcuts}
          >
            Keyboard shortcuts
          </DropdownMenu.Item>
          <DropdownMenu.Item
            className="cursor-pointer rounded px-2 py-1.5 outline-none data-[highlighted]:bg-zinc-100 dark:data-[highlighted]:bg-zinc-800"
            onSelect={() => navigate("/settings")}
          >
            Settings
          </DropdownMenu.Item>
          <DropdownMenu.Item
            className="cursor-pointer rounded px-2 py-1.5 outline-none data-[highlighted]:bg-zinc-100 dark:data-[highlighted]:bg-zinc-800"
            onSelect={() => {
              void signOut().finally(() => {
                client.clear();
                navigate("/signin", { replace: true });
              });
            }}
          >
            Sign out
          </DropdownMenu.Item>
        </DropdownMenu.Content>
      </DropdownMenu.Portal>
    </DropdownMenu.Root>
  );
}
