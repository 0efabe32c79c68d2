import { useSyncExternalStore } from "react";

/** Whether the first task list has shown: the sidebar's counts wait for it, so the rows a
 * person came for are not queued behind four count queries. */
let shown = false;
const listeners = new Set<() => void>();

export function markListShown(): void {
  if (shown) return;
  shown = true;
  for (const listener of listeners) listener();
}

export function useListShown(): boolean {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => shown,
  );
}
