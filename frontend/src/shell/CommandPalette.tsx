import * as Dialog from "@radix-ui/react-dialog";
import { useMemo, useState } from "react";
import type { KeyboardEvent } from "react";
import { useNavigate } from "react-router-dom";
import { useProjects, useTags } from "../tasks/queries";
import { SMART_VIEWS } from "../tasks/views";

export interface Command {
  id: string;
  label: string;
  group: string;
  run: () => void;
}

/** Commands whose label holds every typed word, in any order and case. */
export function matchCommands(commands: Command[], text: string): Command[] {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  return commands.filter((command) => {
    const label = `${command.group} ${command.label}`.toLowerCase();
    return words.every((word) => label.includes(word));
  });
}

/** Ctrl/⌘ K: every view and action, by typing a few letters. */
export default function CommandPalette({
  open,
  onOpenChange,
  workspaceId,
  actions,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  workspaceId?: string;
  actions: Command[];
}) {
  const navigate = useNavigate();
  const projects = useProjects(workspaceId);
  const tags = useTags(workspaceId);
  const [text, setText] = useState("");
  const [active, setActive] = useState(0);

  const commands = useMemo<Command[]>(
    () => [
      ...SMART_VIEWS.map((view) => ({
        id: `view:${view.id}`,
        label: view.title,
        group: "Go to",
        run: () => navigate(`/${view.id}`),
      })),
      ...(projects.data?.items ?? []).map((project) => ({
        id: `project:${project.id}`,
        label: project.name,
        group: "Project",
        run: () => navigate(`/projects/${project.id}`),
      })),
      ...(tags.data?.items ?? []).map((tag) => ({
        id: `tag:${tag.id}`,
        label: `#${tag.name}`,
        group: "Tag",
        run: () => navigate(`/tags/${encodeURIComponent(tag.name)}`),
      })),
      ...actions,
    ],
    [actions, navigate, projects.data, tags.data],
  );
  const shown = matchCommands(commands, text);
  const current = Math.min(active, shown.length - 1);

  function choose(command: Command | undefined) {
    if (!command) return;
    onOpenChange(false);
    setText("");
    // After the dialog has given focus back, so an action can move it (quick add, search).
    requestAnimationFrame(() => command.run());
  }

  function onKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      setActive((current + 1) % Math.max(1, shown.length));
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      setActive((current - 1 + shown.length) % Math.max(1, shown.length));
    } else if (event.key === "Enter") {
      event.preventDefault();
      choose(shown[current]);
    }
  }

  return (
    <Dialog.Root
      open={open}
      onOpenChange={(next) => {
        onOpenChange(next);
        if (!next) setText("");
      }}
    >
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-40 bg-black/40" />
        <Dialog.Content className="fixed left-1/2 top-24 z-50 w-[min(32rem,calc(100vw-2rem))] -translate-x-1/2 overflow-hidden rounded-xl bg-white shadow-xl dark:bg-zinc-900">
          <Dialog.Title className="sr-only">Command palette</Dialog.Title>
          <Dialog.Description className="sr-only">
            Type to find a view, project, tag or action; Enter runs it.
          </Dialog.Description>
          <label htmlFor="command-input" className="sr-only">
            Command
          </label>
          <input
            id="command-input"
            role="combobox"
            aria-expanded="true"
            aria-controls="command-list"
            aria-activedescendant={shown[current] ? `command-${shown[current].id}` : undefined}
            autoComplete="off"
            value={text}
            onChange={(event) => {
              setText(event.target.value);
              setActive(0);
            }}
            onKeyDown={onKeyDown}
            placeholder="Go to or do…"
            className="w-full border-b border-zinc-200 bg-transparent px-4 py-3 text-base outline-none dark:border-zinc-700"
          />
          <ul
            id="command-list"
            role="listbox"
            aria-label="Commands"
            className="max-h-80 overflow-y-auto py-1"
          >
            {shown.length === 0 && (
              <li className="px-4 py-2 text-zinc-600 dark:text-zinc-400">Nothing matches.</li>
            )}
            {shown.map((command, index) => (
              <li
                key={command.id}
                id={`command-${command.id}`}
                role="option"
                aria-selected={index === current}
                onMouseEnter={() => setActive(index)}
                onClick={() => choose(command)}
                className={`flex cursor-pointer items-center justify-between px-4 py-2 ${
                  index === current ? "bg-accent-50 dark:bg-zinc-800" : ""
                }`}
              >
                <span>{command.label}</span>
                <span className="text-xs text-zinc-600 dark:text-zinc-400">{command.group}</span>
              </li>
            ))}
          </ul>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
