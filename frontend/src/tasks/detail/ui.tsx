/** Small shared pieces of the detail panel's sections (same look as TaskDetail's fields). */

export const input =
  "w-full rounded-md border border-zinc-300 bg-white px-2 py-1.5 dark:border-zinc-700 dark:bg-zinc-950";
export const label =
  "mb-1 block text-xs font-semibold uppercase tracking-wide text-zinc-600 dark:text-zinc-400";
export const smallButton =
  "rounded-md px-2 py-1 text-sm hover:bg-zinc-100 disabled:opacity-50 dark:hover:bg-zinc-800";
export const muted = "text-sm text-zinc-600 dark:text-zinc-400";

export function FieldError({ id, message }: { id: string; message?: string | null }) {
  if (!message) return null;
  return (
    <p id={id} className="mt-1 text-sm text-red-700 dark:text-red-400">
      {message}
    </p>
  );
}

export function SectionHeading({ id, children }: { id: string; children: React.ReactNode }) {
  return (
    <h2 id={id} className={label}>
      {children}
    </h2>
  );
}
