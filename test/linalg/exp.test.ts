import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expNonPositive } from "../../src/linalg/exp.js";

/** Distance in units in the last place between two positive doubles. */
function ulps(a: number, b: number): number {
  const buf = new DataView(new ArrayBuffer(16));
  buf.setFloat64(0, a);
  buf.setFloat64(8, b);
  return Math.abs(Number(buf.getBigInt64(0) - buf.getBigInt64(8)));
}

describe("expNonPositive (table-driven e^x, x ≤ 0)", () => {
  it("stays within 1 ulp of Math.exp on normal results (fdlibm is itself within 1 ulp of exact)", () => {
    let worst = 0;
    for (let i = 0; i <= 200000; i++) {
      const x = -708 * (i / 200000) ** 2; // dense near 0, where NCA's softmax terms live
      worst = Math.max(worst, ulps(expNonPositive(x), Math.exp(x)));
    }
    expect(worst).toBeLessThanOrEqual(1);
    fc.assert(
      fc.property(fc.double({ min: -708, max: 0, noNaN: true }), (x) => {
        expect(ulps(expNonPositive(x), Math.exp(x))).toBeLessThanOrEqual(1);
      }),
      { numRuns: 20000 },
    );
  });

  it("is exact at 0 and at multiples of ln2/64 where the table is exact, and ends in 0 like Math.exp", () => {
    expect(expNonPositive(0)).toBe(1);
    expect(expNonPositive(-0)).toBe(1);
    expect(expNonPositive(-Math.LN2)).toBe(0.5);
    expect(expNonPositive(-746)).toBe(0);
    expect(expNonPositive(Number.NEGATIVE_INFINITY)).toBe(0);
    // subnormal results: within a few units of the smallest subnormal
    expect(Math.abs(expNonPositive(-740) - Math.exp(-740))).toBeLessThanOrEqual(4 * 5e-324);
    expect(Object.is(expNonPositive(Number.NaN), Number.NaN)).toBe(true);
    expect(expNonPositive(1)).toBe(Math.exp(1));
  });

  it("is monotone on a fine grid (no table seams)", () => {
    let prev = expNonPositive(-50);
    const drops: number[] = [];
    for (let i = 1; i <= 100000; i++) {
      const x = -50 + (50 * i) / 100000;
      const v = expNonPositive(x);
      if (v < prev) drops.push(x);
      prev = v;
    }
    expect(drops).toEqual([]);
  });
});
