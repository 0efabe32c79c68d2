import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ifMatch, unwrap } from "../api/client";
import type { components } from "../api/schema";
import type { Page, User } from "../api/types";
import { keys } from "../tasks/queries";

type Schemas = components["schemas"];
export type ApiKey = Schemas["ApiKeyRead"];
export type ApiKeyCreated = Schemas["ApiKeyCreated"];
export type ApiKeyCreate = Schemas["ApiKeyCreate"];
export type Scope = Schemas["Scope"];
export type Member = Schemas["MemberRead"];
export type Role = Schemas["Role"];
export type ProfileUpdate = Schemas["ProfileUpdate"];

/** What the API accepts (its `Scope` enum), in the order a person reads them. */
export const SCOPES: readonly Scope[] = [
  "tasks:read",
  "tasks:write",
  "workspaces:read",
  "workspaces:write",
  "account:read",
  "account:write",
];

export const SCOPE_LABEL: Record<Scope, string> = {
  "tasks:read": "Read tasks",
  "tasks:write": "Change tasks",
  "workspaces:read": "Read workspaces",
  "workspaces:write": "Change workspaces",
  "account:read": "Read account",
  "account:write": "Change account",
};

/** From least to most trusted (the API's `Role`). */
export const ROLES: readonly Role[] = ["viewer", "member", "admin", "owner"];
export const ROLE_LABEL: Record<Role, string> = {
  viewer: "Viewer",
  member: "Member",
  admin: "Admin",
  owner: "Owner",
};

/** Which roles a person with `mine` may hand out: admins all but owner, owners all. */
export function assignableRoles(mine: Role | undefined): readonly Role[] {
  if (mine === "owner") return ROLES;
  if (mine === "admin") return ROLES.filter((role) => role !== "owner");
  return [];
}

export const settingsKeys = {
  apiKeys: ["api-keys"] as const,
  members: (workspaceId: string) => ["members", workspaceId] as const,
};

/** Profile change with If-Match on the version read (a 412 answers with the current profile). */
export function useUpdateProfile() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (change: ProfileUpdate) => {
      const version = client.getQueryData<User>(keys.me)?.version;
      return unwrap<User>(
        api.PATCH("/api/v1/me", {
          params: { header: version === undefined ? undefined : ifMatch(version) },
          body: change,
        }),
      );
    },
    onSuccess: (user) => client.setQueryData(keys.me, user),
    onError: () => void client.invalidateQueries({ queryKey: keys.me }),
  });
}

export function useApiKeys() {
  return useQuery({
    queryKey: settingsKeys.apiKeys,
    queryFn: () =>
      unwrap<Page<ApiKey>>(api.GET("/api/v1/api-keys", { params: { query: { limit: 200 } } })),
  });
}

export function useCreateApiKey() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: ApiKeyCreate) =>
      unwrap<ApiKeyCreated>(api.POST("/api/v1/api-keys", { body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: settingsKeys.apiKeys }),
  });
}

export function useRevokeApiKey() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      unwrap(api.DELETE("/api/v1/api-keys/{key_id}", { params: { path: { key_id: id } } })),
    onSuccess: (_data, id) => {
      client.setQueryData<Page<ApiKey>>(settingsKeys.apiKeys, (page) =>
        page ? { ...page, items: page.items.filter((key) => key.id !== id) } : page,
      );
    },
    onSettled: () => void client.invalidateQueries({ queryKey: settingsKeys.apiKeys }),
  });
}

export function useMembers(workspaceId: string | undefined) {
  return useQuery({
    queryKey: settingsKeys.members(workspaceId ?? ""),
    queryFn: () =>
      unwrap<Page<Member>>(
        api.GET("/api/v1/workspaces/{workspace_id}/members", {
          params: { path: { workspace_id: workspaceId ?? "" }, query: { limit: 200 } },
        }),
      ),
    enabled: workspaceId !== undefined,
  });
}

export function useAddMember(workspaceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { email: string; role: Role }) =>
      unwrap<Member>(
        api.POST("/api/v1/workspaces/{workspace_id}/members", {
          params: { path: { workspace_id: workspaceId } },
          body,
        }),
      ),
    onSettled: () => void client.invalidateQueries({ queryKey: settingsKeys.members(workspaceId) }),
  });
}

export function useChangeRole(workspaceId: string) {
  const client = useQueryClient();
  const key = settingsKeys.members(workspaceId);
  return useMutation({
    mutationFn: ({ userId, role }: { userId: string; role: Role }) =>
      unwrap<Member>(
        api.PATCH("/api/v1/workspaces/{workspace_id}/members/{user_id}", {
          params: { path: { workspace_id: workspaceId, user_id: userId } },
          body: { role },
        }),
      ),
    onMutate: async ({ userId, role }) => {
      await client.cancelQueries({ queryKey: key });
      const before = client.getQueryData<Page<Member>>(key);
      client.setQueryData<Page<Member>>(key, (page) =>
        page
          ? {
              ...page,
              items: page.items.map((m) => (m.user_id === userId ? { ...m, role } : m)),
            }
          : page,
      );
      return { before };
    },
    onError: (_error, _vars, context) => client.setQueryData(key, context?.before),
    onSettled: () => {
      void client.invalidateQueries({ queryKey: key });
      void client.invalidateQueries({ queryKey: keys.workspaces });
    },
  });
}

export function useRemoveMember(workspaceId: string) {
  const client = useQueryClient();
  const key = settingsKeys.members(workspaceId);
  return useMutation({
    mutationFn: (userId: string) =>
      unwrap(
        api.DELETE("/api/v1/workspaces/{workspace_id}/members/{user_id}", {
          params: { path: { workspace_id: workspaceId, user_id: userId } },
        }),
      ),
    onMutate: async (userId) => {
      await client.cancelQueries({ queryKey: key });
      const before = client.getQueryData<Page<Member>>(key);
      client.setQueryData<Page<Member>>(key, (page) =>
        page ? { ...page, items: page.items.filter((m) => m.user_id !== userId) } : page,
      );
      return { before };
    },
    onError: (_error, _id, context) => client.setQueryData(key, context?.before),
    onSettled: () => void client.invalidateQueries({ queryKey: key }),
  });
}
