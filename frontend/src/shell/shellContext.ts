import { createContext, useContext } from "react";

export interface Shell {
  workspaceId?: string;
  timeZone: string;
  openShortcuts: () => void;
}

export const ShellContext = createContext<Shell>({
  timeZone: "UTC",
  openShortcuts: () => undefined,
});

export function useShell(): Shell {
  return useContext(ShellContext);
}
