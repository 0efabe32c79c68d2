import * as Dialog from "@radix-ui/react-dialog";
import { lazy, Suspense, useEffect, useLayoutEffect, useMemo, useState } from "react";
import { Outlet } from "react-router-dom";
import { useSessionUser } from "../auth/AuthContext";
import { browserTimeZone } from "../lib/dates";
import { useShortcuts } from "../lib/keyboard";
import { useMe, useWorkspaces } from "../tasks/queries";
import { MenuIcon } from "./icons";
import { ShellContext } from "./shellContext";
import { ShortcutsDialog } from "./ShortcutsDialog";
import { Sidebar } from "./Sidebar";

const WORKSPACE_KEY = "haven-workspace";
const SIDEBAR_KEY = "haven-sidebar";
const CommandPalette = lazy(() => import("./CommandPalette"));

function focusById(id: string) {
  document.getElementById(id)?.focus();
}

function OfflineBanner() {
  const [online, setOnline] = useState(() => navigator.onLine);
  useEffect(() => {
    const update = () => setOnline(navigator.onLine);
    window.addEventListener("online", update);
    window.addEventListener("offline", update);
    return () => {
      window.removeEventListener("online", update);
      window.removeEventListener("offline", update);
    };
  }, []);
  if (online) return null;
  return (
    <div role="alert" className="bg-amber-100 px-4 py-1.5 text-center text-amber-900">
      You are offline. What you type is kept; changes are sent when you are back online.
    </div>
  );
}

export function AppShell() {
  const sessionUser = useSessionUser();
  const me = useMe();
  const workspaces = useWorkspaces();
  const [chosen, setChosen] = useState(() => localStorage.getItem(WORKSPACE_KEY) ?? undefined);
  const [drawer, setDrawer] = useState(false);
  // On wide screens the sidebar can be hidden for more room; remembered per browser.
  const [collapsed, setCollapsed] = useState(() => localStorage.getItem(SIDEBAR_KEY) === "hidden");
  function collapse(hidden: boolean) {
    if (hidden) localStorage.setItem(SIDEBAR_KEY, "hidden");
    else localStorage.removeItem(SIDEBAR_KEY);
    setCollapsed(hidden);
  }
  const [shortcuts, setShortcuts] = useState(false);
  const items = workspaces.data?.items;
  const workspaceId =
    items?.find((ws) => ws.id === chosen)?.id ??
    items?.find((ws) => ws.is_personal)?.id ??
    items?.[0]?.id;
  const timeZone = me.data?.timezone ?? sessionUser?.timezone ?? browserTimeZone();
  const shell = useMemo(
    () => ({ workspaceId, timeZone, openShortcuts: () => setShortcuts(true) }),
    [workspaceId, timeZone],
  );
  useShortcuts({ "?": () => setShortcuts(true) });
  const [palette, setPalette] = useState(false);
  useLayoutEffect(() => {
    // Ctrl/⌘ K works even while typing: it is never a character anyone types.
    function onKey(event: KeyboardEvent) {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k") {
        event.preventDefault();
        setPalette((open) => !open);
      }
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  const actions = useMemo(
    () => [
      { id: "add", label: "Add a task", group: "Action", run: () => focusById("quick-add") },
      { id: "search", label: "Search tasks", group: "Action", run: () => focusById("search") },
      {
        id: "shortcuts",
        label: "Keyboard shortcuts",
        group: "Action",
        run: () => setShortcuts(true),
      },
    ],
    [],
  );

  function chooseWorkspace(id: string) {
    localStorage.setItem(WORKSPACE_KEY, id);
    setChosen(id);
  }

  return (
    <ShellContext.Provider value={shell}>
      <div className="flex h-dvh flex-col">
        <OfflineBanner />
        <div className="flex min-h-0 flex-1">
          <div
            className={`hidden border-r border-zinc-200 dark:border-zinc-800 ${collapsed ? "" : "md:flex"}`}
          >
            <Sidebar
              workspaceId={workspaceId}
              setWorkspaceId={chooseWorkspace}
              onHide={() => collapse(true)}
            />
          </div>
          <Dialog.Root open={drawer} onOpenChange={setDrawer}>
            <Dialog.Portal>
              <Dialog.Overlay className="fixed inset-0 z-40 bg-black/40 md:hidden" />
              <Dialog.Content className="fixed inset-y-0 left-0 z-50 shadow-xl md:hidden">
                <Dialog.Title className="sr-only">Navigation</Dialog.Title>
                <Dialog.Description className="sr-only">
                  Views, projects and tags
                </Dialog.Description>
                <Sidebar
                  workspaceId={workspaceId}
                  setWorkspaceId={chooseWorkspace}
                  onNavigate={() => setDrawer(false)}
                />
              </Dialog.Content>
            </Dialog.Portal>
          </Dialog.Root>
          <div className="flex min-w-0 flex-1 flex-col">
            <div
              className={`flex items-center border-b border-zinc-200 px-2 py-1 dark:border-zinc-800 ${collapsed ? "" : "md:hidden"}`}
            >
              <button
                type="button"
                aria-label="Open navigation"
                className="rounded-md p-2 hover:bg-zinc-100 dark:hover:bg-zinc-800"
                onClick={() =>
                  window.matchMedia("(min-width: 768px)").matches
                    ? collapse(false)
                    : setDrawer(true)
                }
              >
                <MenuIcon />
              </button>
              <span className="ml-2 font-semibold">Haven</span>
            </div>
            {workspaceId || workspaces.isError ? (
              <Outlet />
            ) : (
              <div className="p-6 text-zinc-600 dark:text-zinc-400" aria-busy="true">
                Loading your workspace…
              </div>
            )}
          </div>
        </div>
      </div>
      <ShortcutsDialog open={shortcuts} onOpenChange={setShortcuts} />
      {palette && (
        <Suspense fallback={null}>
          <CommandPalette
            open={palette}
            onOpenChange={setPalette}
            workspaceId={workspaceId}
            actions={actions}
          />
        </Suspense>
      )}
    </ShellContext.Provider>
  );
}
