import { describe, expect, it } from "vitest";
import { ApiError, describeError, fieldErrors } from "./problems";

describe("problem+json", () => {
  it("puts each validation error on its field", () => {
    expect(
      fieldErrors({
        status: 422,
        errors: [
          { loc: ["body", "title"], msg: "String should have at least 1 character" },
          { loc: ["body", "tags", 0], msg: "too long" },
        ],
      }),
    ).toEqual({ title: "String should have at least 1 character", tags: "too long" });
  });

  it("shows the detail of a problem", () => {
    const error = new ApiError(409, { title: "Conflict", detail: "that would make a cycle" });
    expect(describeError(error)).toBe("that would make a cycle");
  });
});
