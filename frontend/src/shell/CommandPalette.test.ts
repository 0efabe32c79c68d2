import { describe, expect, it } from "vitest";
import { matchCommands, type Command } from "./CommandPalette";

const command = (label: string, group: string): Command => ({
  id: label,
  label,
  group,
  run: () => undefined,
});

describe("matchCommands", () => {
  const commands = [
    command("Today", "Go to"),
    command("Garden", "Project"),
    command("#home", "Tag"),
    command("Add a task", "Action"),
  ];

  it("finds by any words of the label or group, in any case and order", () => {
    expect(matchCommands(commands, "gard").map((c) => c.label)).toEqual(["Garden"]);
    expect(matchCommands(commands, "task add").map((c) => c.label)).toEqual(["Add a task"]);
    expect(matchCommands(commands, "project").map((c) => c.label)).toEqual(["Garden"]);
  });

  it("shows everything before anything is typed", () => {
    expect(matchCommands(commands, "  ")).toHaveLength(4);
  });
});
