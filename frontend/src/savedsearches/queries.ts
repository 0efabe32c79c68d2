import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ifMatch, unwrap } from "../api/client";
import type { Page, SavedSearch, SavedSearchQuery } from "../api/types";
import type { ListQuery } from "../tasks/views";

export const savedSearchKeys = {
  all: ["saved-searches"] as const,
  list: (ws?: string) => ["saved-searches", "list", ws ?? "all"] as const,
  one: (id: string) => ["saved-searches", "one", id] as const,
};

/** The filters of a list that a saved search keeps. Today/Upcoming/Overdue's date bounds are
 * relative to the day, so they are not frozen into it; nor is the list's workspace (the
 * search belongs to one). */
export function savedQueryOf(query: ListQuery, fixedDates: boolean): SavedSearchQuery {
  const kept: SavedSearchQuery = {};
  if (query.q) kept.q = query.q;
  if (query.project_id) kept.project_id = query.project_id;
  if (query.status?.length) kept.status = query.status;
  if (query.priority?.length) kept.priority = query.priority;
  if (query.tag) kept.tag = query.tag;
  if (fixedDates && query.due_before) kept.due_before = query.due_before;
  if (fixedDates && query.due_after) kept.due_after = query.due_after;
  if (query.sort) kept.sort = query.sort;
  return kept;
}

export function useSavedSearches(workspaceId?: string) {
  return useQuery({
    queryKey: savedSearchKeys.list(workspaceId),
    queryFn: () =>
      unwrap<Page<SavedSearch>>(
        api.GET("/api/v1/saved-searches", {
          params: { query: { workspace_id: workspaceId, limit: 200 } },
        }),
      ),
    staleTime: 60_000,
  });
}

export function useSavedSearch(id: string) {
  return useQuery({
    queryKey: savedSearchKeys.one(id),
    queryFn: () =>
      unwrap<SavedSearch>(
        api.GET("/api/v1/saved-searches/{search_id}", { params: { path: { search_id: id } } }),
      ),
  });
}

export function useCreateSavedSearch() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { name: string; workspace_id?: string; query: SavedSearchQuery }) =>
      unwrap<SavedSearch>(
        api.POST("/api/v1/saved-searches", { body: { ...body, id: crypto.randomUUID() } }),
      ),
    onSettled: () => client.invalidateQueries({ queryKey: savedSearchKeys.all }),
  });
}

export function useRenameSavedSearch() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ search, name }: { search: SavedSearch; name: string }) =>
      unwrap<SavedSearch>(
        api.PATCH("/api/v1/saved-searches/{search_id}", {
          params: { path: { search_id: search.id }, header: ifMatch(search.version) },
          body: { name },
        }),
      ),
    onSettled: () => client.invalidateQueries({ queryKey: savedSearchKeys.all }),
  });
}

export function useDeleteSavedSearch() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (search: SavedSearch) =>
      unwrap<null>(
        api.DELETE("/api/v1/saved-searches/{search_id}", {
          params: { path: { search_id: search.id }, header: ifMatch(search.version) },
        }),
      ),
    onSettled: () => client.invalidateQueries({ queryKey: savedSearchKeys.all }),
  });
}
