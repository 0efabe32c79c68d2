/** The look of a form field and its error, one home for every form of the app. */

export const input =
  "w-full rounded-md border border-zinc-300 bg-white px-2 py-1.5 dark:border-zinc-700 dark:bg-zinc-950";
export const label =
  "mb-1 block text-xs font-semibold uppercase tracking-wide text-zinc-600 dark:text-zinc-400";

/** A message from the API for one field, tied to it with aria-describedby. */
export function FieldError({ id, message }: { id: string; message?: string | null }) {
  if (!message) return null;
  return (
    <p id={id} className="mt-1 text-sm text-red-700 dark:text-red-400">
      {message}
    </p>
  );
}
