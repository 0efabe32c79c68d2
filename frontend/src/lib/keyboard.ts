import { useLayoutEffect, useRef } from "react";

/** True when a key press belongs to a field the user is typing in. */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag === "INPUT") {
    const type = (target as HTMLInputElement).type;
    return !["checkbox", "radio", "button", "submit", "reset", "range", "color"].includes(type);
  }
  return false;
}

/** A press with Ctrl, Alt or Meta that is a chord, not a typed character. A symbol typed
 * with Option (a Mac's `#` on UK and German layouts) or AltGr (Ctrl+Alt on Windows) is the
 * character, and its shortcut works; letters and digits with them stay the browser's. */
export function isChord(event: KeyboardEvent): boolean {
  if (event.metaKey) return true;
  if (!event.ctrlKey && !event.altKey) return false;
  const symbol = event.key.length === 1 && !/[\p{L}\p{N}]/u.test(event.key);
  return !(symbol && event.altKey);
}

export type ShortcutMap = Record<string, (event: KeyboardEvent) => void>;

/**
 * Single-key shortcuts on the whole page; never while typing, never with Ctrl/Alt/Meta.
 *
 * The listener is installed in a layout effect, in the same commit that puts the page on
 * screen: a key pressed the moment the page shows is never lost to a listener that a
 * passive effect would install a frame later.
 */
export function useShortcuts(map: ShortcutMap): void {
  const ref = useRef(map);
  useLayoutEffect(() => {
    ref.current = map;
  });
  useLayoutEffect(() => {
    function onKey(event: KeyboardEvent) {
      if (event.defaultPrevented || isChord(event)) return;
      if (event.key !== "Escape" && isTypingTarget(event.target)) return;
      // Inside an open dialog, the dialog owns the keyboard.
      if (
        event.target instanceof HTMLElement &&
        event.target.closest('[role="dialog"][aria-modal="true"]')
      )
        return;
      // Enter on a focused button or link is that control's own click.
      if (
        event.key === "Enter" &&
        event.target instanceof HTMLElement &&
        event.target.closest("button, a, summary, [role=menuitem]")
      )
        return;
      const handler = ref.current[event.key];
      if (handler) {
        event.preventDefault();
        handler(event);
      }
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}

export const SHORTCUTS: { keys: string; action: string }[] = [
  { keys: "q", action: "Quick add a task" },
  { keys: "/", action: "Search tasks" },
  { keys: "j / k", action: "Move down / up the list" },
  { keys: "Enter", action: "Open the selected task" },
  { keys: "e", action: "Edit the selected task's title" },
  { keys: "x", action: "Complete the selected task" },
  { keys: "t", action: "Make the selected task due today" },
  { keys: "#", action: "Move the selected task to a project" },
  { keys: "Esc", action: "Close the task panel or a dialog" },
  { keys: "?", action: "Show these shortcuts" },
  { keys: "Ctrl/⌘ K", action: "Command palette: go to any view, project or tag" },
];
