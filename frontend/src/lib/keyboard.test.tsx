import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { isTypingTarget, useShortcuts } from "./keyboard";

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

  it("treat checkboxes as not typing", () => {
    const box = document.createElement("input");
    box.type = "checkbox";
    expect(isTypingTarget(box)).toBe(false);
    expect(isTypingTarget(document.createElement("textarea"))).toBe(true);
  });
});
