/** Reordering the sidebar's projects: where a dragged project lands, and what to tell the API. */

export interface Moved<T> {
  /** The list in its new order, shown at once (optimistic). */
  items: T[];
  /** The project it now follows (PATCH /projects/{id} `after_id`); null: it is first. */
  afterId: string | null;
}

/** Drop `activeId` where `overId` is: after it when moving down, before it when moving up
 * (as a sortable list reads). Null when nothing moves. */
export function moveProject<T extends { id: string }>(
  items: readonly T[],
  activeId: string,
  overId: string,
): Moved<T> | null {
  const from = items.findIndex((item) => item.id === activeId);
  const to = items.findIndex((item) => item.id === overId);
  if (from < 0 || to < 0 || from === to) return null;
  const next = items.filter((item) => item.id !== activeId);
  const moved = items[from] as T;
  next.splice(to, 0, moved);
  const before = to > 0 ? next[to - 1] : undefined;
  return { items: next, afterId: before ? before.id : null };
}

/** The project a keyboard drag moves onto: the next one down or up, or none at an end. */
export function neighbourId(
  ids: readonly string[],
  currentId: string,
  key: string,
): string | undefined {
  const index = ids.indexOf(currentId);
  if (index < 0) return undefined;
  if (key === "ArrowDown") return ids[index + 1];
  if (key === "ArrowUp") return index > 0 ? ids[index - 1] : undefined;
  return undefined;
}
