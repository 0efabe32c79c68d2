import * as DropdownMenu from "@radix-ui/react-dropdown-menu";
import { useState } from "react";
import { NavLink, useLocation, useNavigate } from "react-router-dom";
import { describeError } from "../api/problems";
import type { SavedSearch } from "../api/types";
import { NameDialog } from "../savedsearches/NameDialog";
import {
  useDeleteSavedSearch,
  useRenameSavedSearch,
  useSavedSearches,
} from "../savedsearches/queries";
import { useToast } from "./toasts";

const menuItem =
  "cursor-pointer rounded px-2 py-1.5 outline-none data-[highlighted]:bg-zinc-100 dark:data-[highlighted]:bg-zinc-800";

export function SidebarSearches({
  workspaceId,
  navItem,
  onNavigate,
}: {
  workspaceId?: string;
  navItem: (state: { isActive: boolean }) => string;
  onNavigate?: () => void;
}) {
  const searches = useSavedSearches(workspaceId);
  return (
    // Not a labelled region: its name would answer to "Search" too, which is the list's
    // search box (getByLabel("Search") in the browser tests, and a screen reader's label list).
    <section>
      <h2 className="mb-1 px-2 text-xs font-semibold uppercase tracking-wide text-zinc-600 dark:text-zinc-400">
        Saved searches
      </h2>
      <ul className="flex flex-col gap-0.5">
        {searches.data?.items.length === 0 && (
          <li className="px-2 text-zinc-600 dark:text-zinc-400">
            Type a search in a list, then “Save search”
          </li>
        )}
        {searches.data?.items.map((search) => (
          <SearchItem key={search.id} search={search} navItem={navItem} onNavigate={onNavigate} />
        ))}
      </ul>
    </section>
  );
}

function SearchItem({
  search,
  navItem,
  onNavigate,
}: {
  search: SavedSearch;
  navItem: (state: { isActive: boolean }) => string;
  onNavigate?: () => void;
}) {
  const [renaming, setRenaming] = useState(false);
  const rename = useRenameSavedSearch();
  const remove = useDeleteSavedSearch();
  const toast = useToast();
  const navigate = useNavigate();
  const location = useLocation();
  const path = `/search/${search.id}`;
  return (
    <li className="flex items-center">
      <NavLink
        to={path}
        className={(state) => `${navItem(state)} min-w-0 flex-1`}
        onClick={onNavigate}
      >
        <span aria-hidden="true">⌕</span>
        <span className="truncate">{search.name}</span>
      </NavLink>
      <DropdownMenu.Root>
        <DropdownMenu.Trigger
          aria-label={`Options for ${search.name}`}
          className="rounded px-1.5 py-1 text-zinc-500 hover:bg-zinc-200 dark:hover:bg-zinc-800"
        >
          <span aria-hidden="true">⋯</span>
        </DropdownMenu.Trigger>
        <DropdownMenu.Portal>
          <DropdownMenu.Content
            align="end"
            className="z-50 min-w-40 rounded-md border border-zinc-200 bg-white p-1 shadow-lg dark:border-zinc-700 dark:bg-zinc-900"
          >
            <DropdownMenu.Item className={menuItem} onSelect={() => setRenaming(true)}>
              Rename
            </DropdownMenu.Item>
            <DropdownMenu.Item
              className={menuItem}
              onSelect={() => {
                // A promise, not mutate's callbacks: the item is gone from the list (and
                // unmounted) by the time the deletion settles.
                remove
                  .mutateAsync(search)
                  .then(() => {
                    toast({ message: `Deleted “${search.name}”` });
                    if (location.pathname === path) navigate("/inbox");
                  })
                  .catch((error: unknown) =>
                    toast({ tone: "error", message: `Could not delete: ${describeError(error)}` }),
                  );
              }}
            >
              Delete
            </DropdownMenu.Item>
          </DropdownMenu.Content>
        </DropdownMenu.Portal>
      </DropdownMenu.Root>
      <NameDialog
        open={renaming}
        onOpenChange={setRenaming}
        title="Rename saved search"
        action="Rename"
        initial={search.name}
        onSubmit={(name) => rename.mutateAsync({ search, name })}
      />
    </li>
  );
}
