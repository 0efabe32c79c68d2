import { describe, expect, it } from "vitest";
import {
  describeOffset,
  formatDuration,
  formatElapsed,
  formatInstant,
  relativeTime,
} from "./format";

describe("format", () => {
  it("shows instants in the user's zone", () => {
    expect(formatInstant("2026-11-30T08:00:00Z", "Europe/Berlin")).toBe("Mon, 30 Nov 2026, 09:00");
    expect(formatInstant("2026-11-30T08:00:00Z", "America/New_York")).toBe(
      "Mon, 30 Nov 2026, 03:00",
    );
  });

  it.each([
    [0, "0:00:00"],
    [245, "0:04:05"],
    [3600 * 12, "12:00:00"],
    [-5, "0:00:00"],
  ])("elapsed %i -> %s", (s, text) => expect(formatElapsed(s)).toBe(text));

  it.each([
    [45, "45 s"],
    [720, "12 min"],
    [3900, "1 h 5 min"],
    [10800, "3 h"],
  ])("duration %i -> %s", (s, text) => expect(formatDuration(s)).toBe(text));

  it.each([
    [0, "At the due time"],
    [15, "15 min before"],
    [60, "1 h before"],
    [90, "1 h 30 min before"],
    [1440, "1 day before"],
    [2880, "2 days before"],
  ])("offset %i -> %s", (m, text) => expect(describeOffset(m)).toBe(text));

  it.each([
    ["2026-11-29T09:59:50Z", "just now"],
    ["2026-11-29T09:55:00Z", "5 minutes ago"],
    ["2026-11-29T07:00:00Z", "3 hours ago"],
    ["2026-11-28T10:00:00Z", "yesterday"],
    ["2026-11-25T10:00:00Z", "4 days ago"],
    ["2026-11-08T10:00:00Z", "3 weeks ago"],
    ["2026-12-01T10:00:00Z", "in 2 days"],
  ])("relative %s -> %s", (iso, text) =>
    expect(relativeTime(iso, new Date("2026-11-29T10:00:00Z"))).toBe(text),
  );
});
