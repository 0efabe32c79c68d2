import type { ReactNode } from "react";

export { FieldError, input, label } from "../shell/fields";
export const primaryButton =
  "rounded-md bg-accent-600 px-3 py-1.5 font-medium text-white hover:bg-accent-700 disabled:opacity-60";
export const quietButton =
  "rounded-md px-2 py-1 hover:bg-zinc-100 dark:hover:bg-zinc-800 disabled:opacity-60";
export const dangerButton =
  "rounded-md bg-red-700 px-3 py-1.5 font-medium text-white hover:bg-red-800 disabled:opacity-60";
export const muted = "text-zinc-600 dark:text-zinc-400";

/** A message for the whole form (a problem's `detail` that names no field). */
export function FormError({ message }: { message?: string }) {
  if (!message) return null;
  return (
    <p role="alert" className="text-sm text-red-700 dark:text-red-400">
      {message}
    </p>
  );
}

export function Section({
  id,
  title,
  description,
  children,
}: {
  id: string;
  title: string;
  description?: string;
  children: ReactNode;
}) {
  return (
    <section
      aria-labelledby={`${id}-heading`}
      className="flex flex-col gap-3 border-b border-zinc-200 py-6 dark:border-zinc-800"
    >
      <div>
        <h2 id={`${id}-heading`} className="text-lg font-semibold">
          {title}
        </h2>
        {description && <p className={muted}>{description}</p>}
      </div>
      {children}
    </section>
  );
}
