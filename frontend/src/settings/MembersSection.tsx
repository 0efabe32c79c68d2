import { useState } from "react";
import { ApiError, describeError, fieldErrors } from "../api/problems";
import { useShell } from "../shell/shellContext";
import { useToast } from "../shell/toasts";
import { useMe, useWorkspaces } from "../tasks/queries";
import {
  assignableRoles,
  type Member,
  type Role,
  ROLE_LABEL,
  useAddMember,
  useChangeRole,
  useMembers,
  useRemoveMember,
} from "./queries";
import {
  FieldError,
  FormError,
  input,
  label,
  muted,
  primaryButton,
  quietButton,
  Section,
} from "./ui";

export function MembersSection() {
  const { workspaceId } = useShell();
  const workspaces = useWorkspaces();
  const workspace = workspaces.data?.items.find((ws) => ws.id === workspaceId);
  const members = useMembers(workspaceId);
  const mine = workspace?.role;
  const canManage = mine === "owner" || mine === "admin";
  return (
    <Section
      id="members"
      title="Workspace members"
      description={workspace ? `Who shares “${workspace.name}”, and what each may do.` : undefined}
    >
      {members.isPending && <p className={muted}>Loading…</p>}
      {members.isError && (
        <p role="alert" className="text-red-700 dark:text-red-400">
          {describeError(members.error)}
        </p>
      )}
      {members.data && workspaceId && (
        <ul
          aria-label="Members"
          className="flex flex-col divide-y divide-zinc-200 dark:divide-zinc-800"
        >
          {members.data.items.map((member) => (
            <MemberRow
              key={member.user_id}
              workspaceId={workspaceId}
              member={member}
              mine={mine}
              canManage={canManage}
            />
          ))}
        </ul>
      )}
      {canManage && workspaceId && <AddMemberForm workspaceId={workspaceId} mine={mine} />}
      {!canManage && workspace && (
        <p className={muted}>Only owners and admins of this workspace can change its members.</p>
      )}
    </Section>
  );
}

function MemberRow({
  workspaceId,
  member,
  mine,
  canManage,
}: {
  workspaceId: string;
  member: Member;
  mine: Role | undefined;
  canManage: boolean;
}) {
  const me = useMe();
  const change = useChangeRole(workspaceId);
  const remove = useRemoveMember(workspaceId);
  const add = useAddMember(workspaceId);
  const toast = useToast();
  const [error, setError] = useState<string>();
  const who = member.name || member.email;
  const roles = assignableRoles(mine);
  // Admins cannot touch an owner; nobody edits themselves here (leaving is its own action).
  const editable =
    canManage &&
    me.data !== undefined &&
    member.user_id !== me.data.id &&
    (mine === "owner" || member.role !== "owner");
  const errorId = `member-${member.user_id}-error`;

  return (
    <li className="flex flex-wrap items-center gap-3 py-2">
      <div className="min-w-0 flex-1">
        <p className="font-medium">{who}</p>
        {member.name && <p className={`text-sm ${muted}`}>{member.email}</p>}
      </div>
      {editable ? (
        <>
          <label htmlFor={`role-${member.user_id}`} className="sr-only">
            Role of {who}
          </label>
          <select
            id={`role-${member.user_id}`}
            className="w-32 rounded-md border border-zinc-300 bg-white px-2 py-1 dark:border-zinc-700 dark:bg-zinc-950"
            value={member.role}
            aria-describedby={error ? errorId : undefined}
            onChange={(event) => {
              setError(undefined);
              change.mutate(
                { userId: member.user_id, role: event.target.value as Role },
                { onError: (failure) => setError(describeError(failure)) },
              );
            }}
          >
            {roles.map((role) => (
              <option key={role} value={role}>
                {ROLE_LABEL[role]}
              </option>
            ))}
          </select>
          <button
            type="button"
            className={`${quietButton} text-red-700 dark:text-red-400`}
            aria-label={`Remove ${who}`}
            onClick={() => {
              setError(undefined);
              remove.mutate(member.user_id, {
                onSuccess: () =>
                  toast({
                    message: `Removed ${who}`,
                    action: {
                      label: "Undo",
                      onClick: () =>
                        add.mutate(
                          { email: member.email, role: member.role },
                          {
                            onError: (failure) =>
                              toast({ message: describeError(failure), tone: "error" }),
                          },
                        ),
                    },
                  }),
                onError: (failure) => setError(describeError(failure)),
              });
            }}
          >
            Remove
          </button>
        </>
      ) : (
        <span className={`text-sm ${muted}`}>{ROLE_LABEL[member.role]}</span>
      )}
      {error && (
        <p id={errorId} role="alert" className="basis-full text-sm text-red-700 dark:text-red-400">
          {error}
        </p>
      )}
    </li>
  );
}

function AddMemberForm({ workspaceId, mine }: { workspaceId: string; mine: Role | undefined }) {
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string>();
  const add = useAddMember(workspaceId);
  const toast = useToast();

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setErrors({});
    setFormError(undefined);
    try {
      const member = await add.mutateAsync({ email: email.trim(), role });
      setEmail("");
      toast({ message: `Added ${member.name || member.email}` });
    } catch (error) {
      const byField = error instanceof ApiError ? fieldErrors(error.problem) : {};
      // A problem without field locations (no such user, already a member) is about the email.
      if (Object.keys(byField).length === 0) byField.email = describeError(error);
      setErrors(byField);
      if (!byField.email && !byField.role) setFormError(describeError(error));
    }
  }

  return (
    <form
      aria-labelledby="add-member-heading"
      onSubmit={(event) => void submit(event)}
      className="flex max-w-md flex-col gap-3 rounded-lg border border-zinc-200 p-4 dark:border-zinc-800"
    >
      <h3 id="add-member-heading" className="font-semibold">
        Add a member
      </h3>
      <div>
        <label htmlFor="member-email" className={label}>
          Email
        </label>
        <input
          id="member-email"
          type="email"
          required
          className={input}
          value={email}
          placeholder="someone@example.com"
          aria-invalid={errors.email ? true : undefined}
          aria-describedby={errors.email ? "member-email-error" : undefined}
          onChange={(event) => setEmail(event.target.value)}
        />
        <FieldError id="member-email-error" message={errors.email} />
      </div>
      <div>
        <label htmlFor="member-role" className={label}>
          Role
        </label>
        <select
          id="member-role"
          className={input}
          value={role}
          aria-describedby={errors.role ? "member-role-error" : undefined}
          onChange={(event) => setRole(event.target.value as Role)}
        >
          {assignableRoles(mine).map((r) => (
            <option key={r} value={r}>
              {ROLE_LABEL[r]}
            </option>
          ))}
        </select>
        <FieldError id="member-role-error" message={errors.role} />
      </div>
      <FormError message={formError} />
      <div>
        <button type="submit" className={primaryButton} disabled={add.isPending}>
          {add.isPending ? "Adding…" : "Add member"}
        </button>
      </div>
    </form>
  );
}
