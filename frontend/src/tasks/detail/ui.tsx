/** Small shared pieces of the detail panel's sections (same look as TaskDetail's fields). */

import { label } from "../../shell/fields";

export { FieldError, input, label } from "../../shell/fields";
export const smallButton =
  "rounded-md px-2 py-1 text-sm hover:bg-zinc-100 disabled:opacity-50 dark:hover:bg-zinc-800";
export const muted = "text-sm text-zinc-600 dark:text-zinc-400";

export function SectionHeading({ id, children }: { id: string; children: React.ReactNode }) {
  return (
    <h2 id={id} className={label}>
      {children}
    </h2>
  );
}
