import { describe, expect, it } from "vitest";
import { dayInZone, localToInstant, relativeDue, startOfDay } from "./dates";

// Wednesday 25 November 2026, 10:00 in Berlin (09:00 UTC).
const now = new Date("2026-11-25T09:00:00Z");
const zone = "Europe/Berlin";

describe("relativeDue", () => {
  it("says Today with the time in the user's zone", () => {
    expect(relativeDue("2026-11-25T16:00:00Z", now, zone)).toMatchObject({
      label: "Today 17:00",
      overdue: false,
    });
  });

  it("marks a time earlier today as overdue but still says Today", () => {
    expect(relativeDue("2026-11-25T07:30:00Z", now, zone)).toMatchObject({
      label: "Today 08:30",
      overdue: true,
    });
  });

  it("counts whole days overdue", () => {
    expect(relativeDue("2026-11-22", now, zone)).toMatchObject({
      label: "3 days overdue",
      overdue: true,
    });
    expect(relativeDue("2026-11-24", now, zone).label).toBe("1 day overdue");
  });

  it("does not call a date-only due today overdue", () => {
    expect(relativeDue("2026-11-25", now, zone)).toMatchObject({ label: "Today", overdue: false });
  });

  it("names tomorrow, then weekdays within the week, then dates", () => {
    expect(relativeDue("2026-11-26", now, zone).label).toBe("Tomorrow");
    expect(relativeDue("2026-11-27", now, zone).label).toBe("Fri");
    expect(relativeDue("2026-12-09", now, zone).label).toBe("Dec 9");
    expect(relativeDue("2027-01-09", now, zone).label).toBe("Jan 9, 2027");
  });

  it("uses the user's zone, not UTC, to decide the day", () => {
    // 23:30 UTC on the 25th is already the 26th in Berlin.
    expect(relativeDue("2026-11-25T23:30:00Z", now, zone).label).toBe("Tomorrow 00:30");
    expect(dayInZone(new Date("2026-11-25T23:30:00Z"), "America/New_York")).toBe("2026-11-25");
  });
});

describe("instants in a zone", () => {
  it("starts a day at local midnight with the zone's offset, across DST", () => {
    expect(startOfDay("2026-11-26", zone)).toBe("2026-11-26T00:00:00+01:00");
    expect(startOfDay("2026-07-01", zone)).toBe("2026-07-01T00:00:00+02:00");
    expect(localToInstant("2026-07-01", "17:00", "America/New_York")).toBe(
      "2026-07-01T17:00:00-04:00",
    );
  });
});
