import { describe, expect, it } from "vitest";
import { parseDuePhrase, quickAddBody, segments } from "./quickAdd";

const today = "2026-11-25"; // a Wednesday

describe("segments", () => {
  it("cuts the line into plain text and the parts the API understood", () => {
    const text = "Call the dentist tomorrow at 5pm, remind me 30 minutes before";
    expect(
      segments(text, [
        { text: "remind me 30 minutes before", start: 34, end: 61, kind: "reminder" },
        { text: "tomorrow at 5pm", start: 17, end: 32, kind: "due" },
      ]),
    ).toEqual([
      { text: "Call the dentist ", kind: null },
      { text: "tomorrow at 5pm", kind: "due" },
      { text: ", ", kind: null },
      { text: "remind me 30 minutes before", kind: "reminder" },
    ]);
  });

  it("counts UTF-16 units, as the API does", () => {
    const text = "😀😀 Call Ann tomorrow";
    expect(segments(text, [{ text: "tomorrow", start: 14, end: 22, kind: "due" }])).toEqual([
      { text: "😀😀 Call Ann ", kind: null },
      { text: "tomorrow", kind: "due" },
    ]);
  });

  it("skips parts of an older line that no longer fit", () => {
    expect(segments("Pay", [{ text: "tomorrow", start: 4, end: 12, kind: "due" }])).toEqual([
      { text: "Pay", kind: null },
    ]);
    expect(
      segments("Pay rent", [
        { text: "Pay rent", start: 0, end: 8, kind: "due" },
        { text: "rent", start: 4, end: 8, kind: "tag" },
      ]),
    ).toEqual([{ text: "Pay rent", kind: "due" }]);
  });
});

describe("quickAddBody", () => {
  it("sends only the list's defaults the API takes", () => {
    expect(
      quickAddBody("Pay rent", { workspace_id: "w", project_id: "p", tags: [], title: "x" }, "id"),
    ).toEqual({ text: "Pay rent", id: "id", workspace_id: "w", project_id: "p" });
    expect(quickAddBody("Pay rent", { due: today, tags: ["home"] })).toEqual({
      text: "Pay rent",
      due: today,
      tags: ["home"],
    });
  });
});

describe("parseDuePhrase", () => {
  it("reads a day and an optional time", () => {
    expect(parseDuePhrase("tomorrow 17:00", today)).toEqual({ day: "2026-11-26", time: "17:00" });
    expect(parseDuePhrase("Fri 9am", today)).toEqual({ day: "2026-11-27", time: "09:00" });
    expect(parseDuePhrase("wednesday", today)).toEqual({ day: "2026-12-02", time: "" });
    expect(parseDuePhrase("2026-12-01", today)).toEqual({ day: "2026-12-01", time: "" });
    expect(parseDuePhrase("today 12pm", today)).toEqual({ day: "2026-11-25", time: "12:00" });
  });

  it("refuses what it cannot read", () => {
    expect(parseDuePhrase("someday", today)).toBeNull();
    expect(parseDuePhrase("tomorrow 25:00", today)).toBeNull();
    expect(parseDuePhrase("", today)).toBeNull();
  });
});
