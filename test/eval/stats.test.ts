import { describe, expect, it } from "vitest";
import { mean, median, std } from "../../src/eval/stats.js";

describe("stats", () => {
  it("mean, sample std (N − 1) and median", () => {
    const xs = [2, 4, 4, 4, 5, 5, 7, 9];
    expect(mean(xs)).toBe(5);
    // population variance 4, sample variance 32/7
    expect(std(xs)).toBeCloseTo(Math.sqrt(32 / 7), 14);
    expect(median(xs)).toBe(4.5);
    expect(median([3, 1, 2])).toBe(2);
    expect(std([0.7])).toBe(0);
  });
  it("refuses empty lists instead of returning NaN", () => {
    expect(() => mean([])).toThrow(/empty/);
    expect(() => median([])).toThrow(/empty/);
  });
});
