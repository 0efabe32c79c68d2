import { describe, expect, it } from "vitest";
import { parseQuickAdd } from "./quickAdd";

const today = "2026-11-25"; // a Wednesday

describe("parseQuickAdd", () => {
  it("takes tags, priority and a due day out of the title", () => {
    expect(parseQuickAdd("Pay rent tomorrow #home p1", today)).toEqual({
      title: "Pay rent",
      tags: ["home"],
      priority: "urgent",
      due: "2026-11-26",
    });
  });

  it("reads weekdays as the next such day", () => {
    expect(parseQuickAdd("Call mum fri", today).due).toBe("2026-11-27");
    expect(parseQuickAdd("Standup wednesday", today).due).toBe("2026-12-02");
  });

  it("keeps words it does not understand", () => {
    expect(parseQuickAdd("Read chapter 3 of Monday Begins on Saturday", today).title).toContain(
      "chapter 3",
    );
  });

  it("never makes an empty title", () => {
    expect(parseQuickAdd("today", today)).toEqual({ title: "today", tags: [] });
  });
});
