import { describe, expect, it } from "vitest";
import { classifyRule, ordinal, presetRule, rruleToText } from "./rruleText";

describe("rruleToText", () => {
  it.each([
    ["FREQ=DAILY", "Every day"],
    ["FREQ=DAILY;INTERVAL=3", "Every 3 days"],
    ["RRULE:FREQ=DAILY;INTERVAL=1", "Every day"],
    ["freq=weekly;byday=mo", "Every week on Monday"],
    ["FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", "Every 2 weeks on Monday"],
    ["FREQ=WEEKLY;BYDAY=FR,MO,WE", "Every week on Monday, Wednesday and Friday"],
    ["FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "Every weekday"],
    ["FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", "Every weekday"],
    ["FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU,WE,TH,FR", "Every 2 weeks on weekdays"],
    ["FREQ=WEEKLY;BYDAY=SA,SU", "Every week on Saturday and Sunday"],
    ["FREQ=MONTHLY", "Every month"],
    ["FREQ=MONTHLY;BYMONTHDAY=15", "Every month on the 15th"],
    ["FREQ=MONTHLY;BYMONTHDAY=1,15", "Every month on the 1st and 15th"],
    ["FREQ=MONTHLY;BYMONTHDAY=-1", "Every month on the last day"],
    ["FREQ=MONTHLY;BYMONTHDAY=-2", "Every month on the 2nd to last day"],
    ["FREQ=MONTHLY;BYDAY=2MO", "Every month on the 2nd Monday"],
    ["FREQ=MONTHLY;BYDAY=-1FR", "Every month on the last Friday"],
    ["FREQ=MONTHLY;BYDAY=+3TH", "Every month on the 3rd Thursday"],
    [
      "FREQ=MONTHLY;INTERVAL=3;BYDAY=1MO,-1MO",
      "Every 3 months on the 1st Monday and the last Monday",
    ],
    ["FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "Every month on the last weekday"],
    ["FREQ=MONTHLY;BYDAY=SU;BYSETPOS=2", "Every month on the 2nd Sunday"],
    ["FREQ=MONTHLY;BYMONTHDAY=13;BYDAY=FR", "Every month on the 13th if it is Friday"],
    ["FREQ=YEARLY", "Every year"],
    ["FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=15", "Every year on March 15"],
    ["FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "Every year on February 29"],
    ["FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", "Every year on the 4th Thursday of November"],
    ["FREQ=YEARLY;BYMONTH=6,12", "Every year in June and December"],
    ["FREQ=WEEKLY;COUNT=5", "Every week, 5 times"],
    ["FREQ=DAILY;COUNT=1", "Every day, once"],
    ["FREQ=WEEKLY;BYDAY=TU;UNTIL=20261231", "Every week on Tuesday, until 31 December 2026"],
    ["FREQ=DAILY;UNTIL=20270105T225959Z", "Every day, until 5 January 2027"],
    ["FREQ=HOURLY;INTERVAL=4", "Every 4 hours"],
    ["FREQ=DAILY;BYHOUR=9;BYMINUTE=30", "Every day at 09:30"],
    ["FREQ=DAILY;BYHOUR=0;BYMINUTE=0", "Every day at 00:00"],
    ["FREQ=WEEKLY;BYDAY=MO;BYHOUR=8,17", "Every week on Monday at 08:00 and 17:00"],
    ["FREQ=MONTHLY;INTERVAL=2;BYDAY=2WE;COUNT=6", "Every 2 months on the 2nd Wednesday, 6 times"],
  ])("%s -> %s", (rule, text) => {
    expect(rruleToText(rule)).toBe(text);
  });

  it.each([
    ["", "empty"],
    ["BYDAY=MO", "no FREQ"],
    ["FREQ=FORTNIGHTLY", "unknown FREQ"],
    ["FREQ=DAILY;INTERVAL=0", "interval zero"],
    ["FREQ=WEEKLY;BYDAY=XX", "bad weekday"],
    ["FREQ=MONTHLY;BYMONTHDAY=0", "month day zero"],
    ["FREQ=YEARLY;BYMONTH=13", "month 13"],
    ["FREQ=DAILY;COUNT=0", "count zero"],
    ["FREQ=DAILY;UNTIL=tomorrow", "unreadable until"],
    ["FREQ=DAILY;BYHOUR=25", "hour 25"],
  ])("cannot read %s (%s)", (rule) => {
    expect(rruleToText(rule)).toBeNull();
  });
});

describe("ordinal", () => {
  it.each([
    [1, "1st"],
    [2, "2nd"],
    [3, "3rd"],
    [4, "4th"],
    [11, "11th"],
    [12, "12th"],
    [13, "13th"],
    [21, "21st"],
    [22, "22nd"],
    [31, "31st"],
    [111, "111th"],
  ])("%i -> %s", (n, text) => expect(ordinal(n)).toBe(text));
});

describe("presets", () => {
  it("builds each preset's rule, weekdays in week order", () => {
    expect(presetRule("daily", [], 1)).toBe("FREQ=DAILY");
    expect(presetRule("weekdays", [], 1)).toBe("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR");
    expect(presetRule("weekly", ["FR", "MO"], 1)).toBe("FREQ=WEEKLY;BYDAY=MO,FR");
    expect(presetRule("biweekly", ["TU"], 1)).toBe("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU");
    expect(presetRule("monthly", [], 31)).toBe("FREQ=MONTHLY;BYMONTHDAY=31");
    expect(presetRule("yearly", [], 1)).toBe("FREQ=YEARLY");
    expect(presetRule("none", [], 1)).toBeNull();
  });

  it.each([
    [null, "none", []],
    ["FREQ=DAILY", "daily", []],
    ["FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "weekdays", []],
    ["FREQ=WEEKLY;BYDAY=MO,TH", "weekly", ["MO", "TH"]],
    ["FREQ=WEEKLY;INTERVAL=2;BYDAY=SU", "biweekly", ["SU"]],
    ["FREQ=MONTHLY;BYMONTHDAY=15", "monthly", []],
    ["FREQ=YEARLY", "yearly", []],
    ["FREQ=MONTHLY;BYDAY=2MO", "custom", []],
    ["FREQ=WEEKLY;INTERVAL=3;BYDAY=MO", "custom", []],
    ["FREQ=DAILY;COUNT=3", "custom", []],
  ])("classifies %s as %s", (rule, preset, days) => {
    expect(classifyRule(rule)).toEqual({ preset, days });
  });

  it("round-trips every preset through classifyRule", () => {
    for (const preset of [
      "daily",
      "weekdays",
      "weekly",
      "biweekly",
      "monthly",
      "yearly",
    ] as const) {
      const rule = presetRule(preset, ["WE"], 9)!;
      expect(classifyRule(rule).preset).toBe(preset);
    }
  });
});
