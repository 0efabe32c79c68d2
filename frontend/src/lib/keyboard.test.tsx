import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { isChord, isTypingTarget, useShortcuts } from "./keyboard";

function Harness({ onQ }: { onQ: () => void }) {
  useShortcuts({ q: onQ });
  return (
    <div>
      <label>
        Notes <input />
      </label>
      <button type="button">Elsewhere</button>
    </div>
  );
}

describe("shortcuts", () => {
  it("fire on the page but never while typing in a field", () => {
    const onQ = vi.fn();
    render(<Harness onQ={onQ} />);
    fireEvent.keyDown(screen.getByRole("textbox", { name: "Notes" }), { key: "q" });
    expect(onQ).not.toHaveBeenCalled();
    fireEvent.keyDown(screen.getByRole("button", { name: "Elsewhere" }), { key: "q" });
    expect(onQ).toHaveBeenCalledTimes(1);
    fireEvent.keyDown(document.body, { key: "q", ctrlKey: true });
    expect(onQ).toHaveBeenCalledTimes(1);
  });

  it("take a symbol typed with Shift, Option or AltGr, never a chord with a letter", () => {
    const key = (init: KeyboardEventInit) => new KeyboardEvent("keydown", init);
    expect(isChord(key({ key: "#", shiftKey: true }))).toBe(false); // US, most layouts
    expect(isChord(key({ key: "#", altKey: true }))).toBe(false); // a Mac's Option-3
    expect(isChord(key({ key: "#", ctrlKey: true, altKey: true }))).toBe(false); // AltGr
    expect(isChord(key({ key: "#", ctrlKey: true }))).toBe(true);
    expect(isChord(key({ key: "#", metaKey: true }))).toBe(true);
    expect(isChord(key({ key: "x", altKey: true }))).toBe(true);
    expect(isChord(key({ key: "ß", altKey: true }))).toBe(true);
  });

  it("treat checkboxes as not typing", () => {
    const box = document.createElement("input");
    box.type = "checkbox";
    expect(isTypingTarget(box)).toBe(false);
    expect(isTypingTarget(document.createElement("textarea"))).toBe(true);
  });
});
