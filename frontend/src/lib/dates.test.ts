import { describe, expect, it } from "vitest";
import {
  dayHeading,
  dayInZone,
  dueDay,
  groupByDay,
  localToInstant,
  relativeDue,
  startOfDay,
} from "./dates";

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

describe("groupByDay", () => {
  const task = (id: string, due: string | null) => ({ id, due });
  const ids = (groups: { heading: string; items: { id: string }[] }[]) =>
    groups.map((group) => [group.heading, group.items.map((item) => item.id)]);

  it("heads each day the way a calendar list does, in the user's zone", () => {
    expect(dayHeading("2026-11-25", "2026-11-25")).toBe("Today");
    expect(dayHeading("2026-11-26", "2026-11-25")).toBe("Tomorrow");
    expect(dayHeading("2026-12-02", "2026-11-25")).toBe("Wed 2 Dec");
    expect(dayHeading("2027-01-05", "2026-11-25")).toBe("Tue 5 Jan 2027");
    // 23:30 UTC on the 25th is already the 26th in Berlin, still the 25th in New York.
    expect(dueDay("2026-11-25T23:30:00Z", "Europe/Berlin")).toBe("2026-11-26");
    expect(dueDay("2026-11-25T23:30:00Z", "America/New_York")).toBe("2026-11-25");
    // A date-only due is that calendar day in any zone.
    expect(dueDay("2026-11-26", "Pacific/Kiritimati")).toBe("2026-11-26");
  });

  it("orders days, puts all-day tasks first and the rest by time, undated last", () => {
    const groups = groupByDay(
      [
        task("late-tomorrow", "2026-11-26T18:00:00Z"),
        task("undated", null),
        task("next-week", "2026-12-02"),
        task("all-day-tomorrow", "2026-11-26"),
        task("early-tomorrow", "2026-11-26T07:00:00Z"),
        task("berlin-midnight", "2026-11-26T23:15:00Z"),
      ],
      zone,
      "2026-11-25",
    );
    expect(ids(groups)).toEqual([
      ["Tomorrow", ["all-day-tomorrow", "early-tomorrow", "late-tomorrow"]],
      ["Fri 27 Nov", ["berlin-midnight"]],
      ["Wed 2 Dec", ["next-week"]],
      ["No date", ["undated"]],
    ]);
  });

  it("keeps a day whole across a DST change and sorts its times by the instant", () => {
    // New York falls back on Sunday 1 November 2026: 01:30 happens twice.
    const groups = groupByDay(
      [
        task("second-0115", "2026-11-01T06:15:00Z"), // 01:15 EST, after the change
        task("first-0130", "2026-11-01T05:30:00Z"), // 01:30 EDT, before it
        task("evening", "2026-11-02T04:30:00Z"), // 23:30 EST, still the 1st
        task("monday", "2026-11-02T05:30:00Z"), // 00:30 EST on the 2nd
      ],
      "America/New_York",
      "2026-10-31",
    );
    expect(ids(groups)).toEqual([
      ["Tomorrow", ["first-0130", "second-0115", "evening"]],
      ["Mon 2 Nov", ["monday"]],
    ]);
    // Berlin springs forward on 29 March 2026: 02:00-03:00 does not exist that day.
    expect(dueDay("2026-03-29T00:30:00Z", "Europe/Berlin")).toBe("2026-03-29");
    expect(dueDay("2026-03-28T22:59:00Z", "Europe/Berlin")).toBe("2026-03-28");
    expect(dueDay("2026-03-29T22:30:00Z", "Europe/Berlin")).toBe("2026-03-30");
  });
});
