import { describe, expect, it } from "vitest";
import { moveProject, neighbourId } from "./projectOrder";

const list = ["a", "b", "c", "d"].map((id) => ({ id }));
const ids = (items: { id: string }[]) => items.map((item) => item.id).join("");

describe("moveProject", () => {
  it("moving down lands after the project dropped on", () => {
    const moved = moveProject(list, "a", "c")!;
    expect(ids(moved.items)).toBe("bcad");
    expect(moved.afterId).toBe("c");
  });

  it("moving up lands before it, after the one above", () => {
    const moved = moveProject(list, "d", "b")!;
    expect(ids(moved.items)).toBe("adbc");
    expect(moved.afterId).toBe("a");
  });

  it("to the top follows nothing", () => {
    const moved = moveProject(list, "c", "a")!;
    expect(ids(moved.items)).toBe("cabd");
    expect(moved.afterId).toBeNull();
  });

  it("to the bottom follows the last", () => {
    expect(moveProject(list, "a", "d")).toMatchObject({ afterId: "d" });
  });

  it("dropping on itself, or on something unknown, moves nothing", () => {
    expect(moveProject(list, "b", "b")).toBeNull();
    expect(moveProject(list, "b", "zz")).toBeNull();
    expect(ids(list)).toBe("abcd"); // the input is left alone
  });
});

describe("neighbourId", () => {
  it("walks down and up, and stops at the ends", () => {
    const order = ["a", "b", "c"];
    expect(neighbourId(order, "a", "ArrowDown")).toBe("b");
    expect(neighbourId(order, "c", "ArrowDown")).toBeUndefined();
    expect(neighbourId(order, "b", "ArrowUp")).toBe("a");
    expect(neighbourId(order, "a", "ArrowUp")).toBeUndefined();
    expect(neighbourId(order, "a", "ArrowLeft")).toBeUndefined();
  });
});
