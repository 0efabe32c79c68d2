import { describe, expect, it } from "vitest";
import {
  completedSummary,
  durationUnit,
  fillDays,
  formatDuration,
  statsWindow,
  trackedSummary,
} from "./stats";

describe("stats logic", () => {
  it("takes the window's days in the user's zone, today included", () => {
    // 23:30 UTC on 29 Nov is already 30 Nov in Tokyo.
    const now = new Date("2026-11-29T23:30:00Z");
    expect(statsWindow(7, now, "Asia/Tokyo")).toEqual({ start: "2026-11-24", end: "2026-11-30" });
    expect(statsWindow(7, now, "America/New_York")).toEqual({
      start: "2026-11-23",
      end: "2026-11-29",
    });
  });

  it("fills days the API left out with zero, across a DST change", () => {
    const days = fillDays([{ day: "2026-10-26", count: 2 }], "2026-10-24", "2026-10-27");
    expect(days).toEqual([
      { day: "2026-10-24", count: 0 },
      { day: "2026-10-25", count: 0 },
      { day: "2026-10-26", count: 2 },
      { day: "2026-10-27", count: 0 },
    ]);
  });

  it("formats durations and summarises both charts in words", () => {
    expect(formatDuration(45)).toBe("45 s");
    expect(formatDuration(12 * 60)).toBe("12 min");
    expect(formatDuration(3 * 3600 + 5 * 60)).toBe("3 h 5 min");
    expect(formatDuration(7200)).toBe("2 h");
    expect(
      completedSummary([
        { day: "2026-11-27", count: 1 },
        { day: "2026-11-28", count: 4 },
      ]),
    ).toBe("5 tasks completed in the last 2 days, most on Sat 28 Nov (4).");
    expect(completedSummary([{ day: "2026-11-28", count: 0 }])).toBe(
      "No tasks completed in the last 1 days.",
    );
    expect(
      trackedSummary([
        { project_id: "p1", name: "Garden", seconds: 5400 },
        { project_id: null, name: null, seconds: 600 },
      ]),
    ).toBe("1 h 40 min tracked in 2 projects, most in Garden (1 h 30 min).");
    expect(trackedSummary([])).toBe("No time tracked in this period.");
  });

  it("draws short times in minutes or seconds, not as empty hour bars", () => {
    expect(durationUnit(3).suffix).toBe(" s");
    expect(durationUnit(45 * 60).suffix).toBe(" min");
    expect(durationUnit(5 * 3600)).toEqual({ per: 3600, suffix: " h" });
  });
});
