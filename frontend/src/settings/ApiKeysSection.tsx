import * as Dialog from "@radix-ui/react-dialog";
import { useState } from "react";
import { ApiError, describeError, fieldErrors } from "../api/problems";
import { useToast } from "../shell/toasts";
import {
  type ApiKey,
  type ApiKeyCreated,
  type Scope,
  SCOPE_LABEL,
  SCOPES,
  useApiKeys,
  useCreateApiKey,
  useRevokeApiKey,
} from "./queries";
import {
  dangerButton,
  FieldError,
  FormError,
  input,
  label,
  muted,
  primaryButton,
  quietButton,
  Section,
} from "./ui";

const dialogContent =
  "fixed left-1/2 top-1/2 z-50 w-[min(32rem,calc(100vw-2rem))] -translate-x-1/2 -translate-y-1/2 rounded-xl bg-white p-6 shadow-xl dark:bg-zinc-900";

function formatDate(iso: string | null): string {
  if (!iso) return "never";
  return new Date(iso).toLocaleDateString(undefined, { dateStyle: "medium" });
}

export function ApiKeysSection() {
  const keysQuery = useApiKeys();
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const items = keysQuery.data?.items ?? [];
  return (
    <Section
      id="api-keys"
      title="API keys"
      description="Keys let scripts and other apps use Haven as you, limited to the scopes you pick."
    >
      {keysQuery.isPending && <p className={muted}>Loading…</p>}
      {keysQuery.isError && (
        <p role="alert" className="text-red-700 dark:text-red-400">
          {describeError(keysQuery.error)}
        </p>
      )}
      {keysQuery.isSuccess && items.length === 0 && <p className={muted}>No API keys yet.</p>}
      {items.length > 0 && (
        <ul
          aria-label="API keys"
          className="flex flex-col divide-y divide-zinc-200 dark:divide-zinc-800"
        >
          {items.map((key) => (
            <li key={key.id} className="flex items-center gap-3 py-2">
              <div className="min-w-0 flex-1">
                <p className="font-medium">{key.name}</p>
                <p className={`text-sm ${muted}`}>
                  <code>hvn_{key.prefix}_…</code> · {key.scopes.join(", ")} · created{" "}
                  {formatDate(key.created_at)} · last used {formatDate(key.last_used_at)}
                </p>
              </div>
              <button
                type="button"
                className={`${quietButton} text-red-700 dark:text-red-400`}
                aria-label={`Revoke ${key.name}`}
                onClick={() => setRevoking(key)}
              >
                Revoke
              </button>
            </li>
          ))}
        </ul>
      )}
      <CreateKeyForm onCreated={setCreated} />
      <SecretDialog created={created} onClose={() => setCreated(null)} />
      <RevokeDialog apiKey={revoking} onClose={() => setRevoking(null)} />
    </Section>
  );
}

function CreateKeyForm({ onCreated }: { onCreated: (key: ApiKeyCreated) => void }) {
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<Scope[]>(["tasks:read"]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string>();
  const create = useCreateApiKey();

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setErrors({});
    setFormError(undefined);
    if (scopes.length === 0) {
      setErrors({ scopes: "Pick at least one scope." });
      return;
    }
    try {
      const key = await create.mutateAsync({ name: name.trim(), scopes });
      setName("");
      onCreated(key);
    } catch (error) {
      const byField = error instanceof ApiError ? fieldErrors(error.problem) : {};
      setErrors(byField);
      if (Object.keys(byField).length === 0) setFormError(describeError(error));
    }
  }

  function toggle(scope: Scope, on: boolean) {
    setScopes((all) =>
      on ? SCOPES.filter((s) => s === scope || all.includes(s)) : all.filter((s) => s !== scope),
    );
  }

  return (
    <form
      aria-labelledby="new-key-heading"
      onSubmit={(event) => void submit(event)}
      className="flex max-w-md flex-col gap-3 rounded-lg border border-zinc-200 p-4 dark:border-zinc-800"
    >
      <h3 id="new-key-heading" className="font-semibold">
        New API key
      </h3>
      <div>
        <label htmlFor="key-name" className={label}>
          Key name
        </label>
        <input
          id="key-name"
          className={input}
          value={name}
          required
          maxLength={200}
          placeholder="e.g. home automation"
          aria-invalid={errors.name ? true : undefined}
          aria-describedby={errors.name ? "key-name-error" : undefined}
          onChange={(event) => setName(event.target.value)}
        />
        <FieldError id="key-name-error" message={errors.name} />
      </div>
      <fieldset aria-describedby={errors.scopes ? "key-scopes-error" : undefined}>
        <legend className={label}>Scopes</legend>
        <div className="grid grid-cols-2 gap-1">
          {SCOPES.map((scope) => (
            <label key={scope} className="flex items-center gap-2">
              <input
                type="checkbox"
                checked={scopes.includes(scope)}
                onChange={(event) => toggle(scope, event.target.checked)}
              />
              <span>
                {SCOPE_LABEL[scope]} <code className={`text-xs ${muted}`}>{scope}</code>
              </span>
            </label>
          ))}
        </div>
        <FieldError id="key-scopes-error" message={errors.scopes} />
      </fieldset>
      <FormError message={formError} />
      <div>
        <button type="submit" className={primaryButton} disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create key"}
        </button>
      </div>
    </form>
  );
}

function SecretDialog({
  created,
  onClose,
}: {
  created: ApiKeyCreated | null;
  onClose: () => void;
}) {
  const [copied, setCopied] = useState(false);
  const toast = useToast();
  async function copy() {
    if (!created) return;
    try {
      await navigator.clipboard.writeText(created.key);
      setCopied(true);
    } catch {
      toast({ message: "Could not copy; select the key and copy it by hand.", tone: "error" });
    }
  }
  return (
    <Dialog.Root
      open={created !== null}
      onOpenChange={(open) => {
        if (!open) {
          setCopied(false);
          onClose();
        }
      }}
    >
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-40 bg-black/40" />
        <Dialog.Content className={dialogContent}>
          <Dialog.Title className="mb-1 text-lg font-semibold">
            API key “{created?.name}” created
          </Dialog.Title>
          <Dialog.Description className="mb-4 rounded-md bg-amber-100 px-3 py-2 text-amber-900">
            Copy this key now. Haven shows it only this once and cannot show it again; if you lose
            it, revoke it and create a new one.
          </Dialog.Description>
          <label htmlFor="new-key-secret" className={label}>
            Your new API key
          </label>
          <div className="flex gap-2">
            <input
              id="new-key-secret"
              readOnly
              className={`${input} font-mono text-sm`}
              value={created?.key ?? ""}
              onFocus={(event) => event.currentTarget.select()}
            />
            <button type="button" className={primaryButton} onClick={() => void copy()}>
              {copied ? "Copied" : "Copy"}
            </button>
          </div>
          <p role="status" className="sr-only">
            {copied ? "Key copied to the clipboard" : ""}
          </p>
          <Dialog.Close className={`mt-6 ${quietButton} bg-zinc-100 dark:bg-zinc-800`}>
            I have copied it
          </Dialog.Close>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

/** Revoking cannot be undone (the API has no restore for keys), so this asks first. */
function RevokeDialog({ apiKey, onClose }: { apiKey: ApiKey | null; onClose: () => void }) {
  const revoke = useRevokeApiKey();
  const toast = useToast();
  const [error, setError] = useState<string>();
  return (
    <Dialog.Root
      open={apiKey !== null}
      onOpenChange={(open) => {
        if (!open) {
          setError(undefined);
          onClose();
        }
      }}
    >
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-40 bg-black/40" />
        <Dialog.Content role="alertdialog" className={dialogContent}>
          <Dialog.Title className="mb-1 text-lg font-semibold">
            Revoke “{apiKey?.name}”?
          </Dialog.Title>
          <Dialog.Description className="mb-4">
            Anything using this key stops working at once. This cannot be undone.
          </Dialog.Description>
          <FormError message={error} />
          <div className="mt-4 flex justify-end gap-2">
            <Dialog.Close className={quietButton}>Cancel</Dialog.Close>
            <button
              type="button"
              className={dangerButton}
              disabled={revoke.isPending}
              onClick={() => {
                if (!apiKey) return;
                revoke.mutate(apiKey.id, {
                  onSuccess: () => {
                    toast({ message: `Revoked “${apiKey.name}”` });
                    onClose();
                  },
                  onError: (failure) => setError(describeError(failure)),
                });
              }}
            >
              Revoke key
            </button>
          </div>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
