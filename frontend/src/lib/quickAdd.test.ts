import { describe, expect, it } from "vitest";
import { parseDuePhrase, parseQuickAdd } from "./quickAdd";

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

describe("parseDuePhrase", () => {
  it("reads a day and an optional time", () => {
    expect(parseDuePhrase("tomorrow 17:00", today)).toEqual({ day: "2026-11-26", time: "17:00" });
    expect(parseDuePhrase("Fri 9am", today)).toEqual({ day: "2026-11-27", time: "09:00" });
    expect(parseDuePhrase("2026-12-01", today)).toEqual({ day: "2026-12-01", time: "" });
    expect(parseDuePhrase("today 12pm", today)).toEqual({ day: "2026-11-25", time: "12:00" });
  });

  it("refuses what it cannot read", () => {
    expect(parseDuePhrase("someday", today)).toBeNull();
    expect(parseDuePhrase("tomorrow 25:00", today)).toBeNull();
    expect(parseDuePhrase("", today)).toBeNull();
  });
});
