import * as Dialog from "@radix-ui/react-dialog";
import { useState } from "react";
import { describeError } from "../api/problems";

/** A small dialog that asks for a name (save a search, rename one); the API's refusal shows
 * next to the field and what was typed stays. */
export function NameDialog({
  open,
  onOpenChange,
  title,
  action,
  initial,
  onSubmit,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: string;
  action: string;
  initial: string;
  onSubmit: (name: string) => Promise<unknown>;
}) {
  const [name, setName] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog.Root
      open={open}
      onOpenChange={(next) => {
        if (next) {
          setName(initial);
          setError(null);
        }
        onOpenChange(next);
      }}
    >
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-40 bg-black/40" />
        <Dialog.Content className="fixed left-1/2 top-1/2 z-50 w-[min(24rem,calc(100vw-2rem))] -translate-x-1/2 -translate-y-1/2 rounded-xl bg-white p-6 shadow-xl dark:bg-zinc-900">
          <Dialog.Title className="mb-3 text-lg font-semibold">{title}</Dialog.Title>
          <Dialog.Description className="sr-only">Give it a name</Dialog.Description>
          <form
            onSubmit={(event) => {
              event.preventDefault();
              const trimmed = name.trim();
              if (!trimmed) {
                setError("Give it a name.");
                return;
              }
              setBusy(true);
              onSubmit(trimmed)
                .then(() => onOpenChange(false))
                .catch((problem: unknown) => setError(describeError(problem)))
                .finally(() => setBusy(false));
            }}
          >
            <label htmlFor="saved-search-name" className="mb-1 block font-medium">
              Name
            </label>
            <input
              id="saved-search-name"
              value={name}
              maxLength={100}
              onChange={(event) => setName(event.target.value)}
              aria-invalid={error !== null}
              aria-describedby={error ? "saved-search-name-error" : undefined}
              className="w-full rounded-md border border-zinc-300 bg-white px-2 py-1.5 dark:border-zinc-700 dark:bg-zinc-950"
            />
            {error && (
              <p
                id="saved-search-name-error"
                role="alert"
                className="mt-1 text-red-700 dark:text-red-400"
              >
                {error}
              </p>
            )}
            <div className="mt-5 flex justify-end gap-2">
              <Dialog.Close className="rounded-md bg-zinc-100 px-3 py-1.5 hover:bg-zinc-200 dark:bg-zinc-800 dark:hover:bg-zinc-700">
                Cancel
              </Dialog.Close>
              <button
                type="submit"
                disabled={busy}
                className="rounded-md bg-accent-600 px-3 py-1.5 font-medium text-white hover:bg-accent-700 disabled:opacity-60"
              >
                {action}
              </button>
            </div>
          </form>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
