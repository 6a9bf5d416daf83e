import { describe, expect, it } from "vitest";
import { normalUpperTail, wilcoxonSignedRank } from "../../src/eval/wilcoxon.js";

// Darwin's Zea mays data as analysed by Fisher (1935): cross- minus self-fertilised heights (eighths of an inch).
const ZEA = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75];
const zeros = (n: number) => new Array<number>(n).fill(0);

describe("wilcoxonSignedRank", () => {
  it("Zea mays: W = 24, exact two-sided p = 1352/32768 (scipy.stats.wilcoxon's documented 0.04125976562499999)", () => {
    const r = wilcoxonSignedRank(ZEA, zeros(15));
    expect(r.method).toBe("exact");
    expect(r.statistic).toBe(24);
    expect(r.wPlus).toBe(96);
    expect(r.wMinus).toBe(24);
    expect(r.p).toBe(1352 / 32768);
  });

  it("Zea mays, normal approximation: z = (24 − 60)/√310, with and without continuity correction", () => {
    const plain = wilcoxonSignedRank(ZEA, zeros(15), { exactMaxN: 0, correction: false });
    expect(plain.method).toBe("normal");
    // 2·(1 − Φ(2.04464…)) = 0.0408881… (scipy: wilcoxon(d, method="approx") → 0.04088813291185591)
    expect(plain.p).toBeCloseTo(0.04088813291185591, 12);
    const cc = wilcoxonSignedRank(ZEA, zeros(15), { exactMaxN: 0 });
    expect(cc.p).toBeCloseTo(2 * normalUpperTail(35.5 / Math.sqrt(310)), 15);
  });

  it("small-sample table values: all n differences positive gives p = 2/2ⁿ", () => {
    expect(wilcoxonSignedRank([1, 2, 3, 4, 5], zeros(5)).p).toBe(0.0625);
    expect(wilcoxonSignedRank([1, 2, 3, 4, 5, 6], zeros(6)).p).toBe(0.03125);
    // two splits can never reject at 5%: the smallest p is 0.5
    expect(wilcoxonSignedRank([0.9, 0.8], [0.7, 0.6]).p).toBe(0.5);
  });

  it("critical values of the n = 10 table (two-sided 5%: reject iff W ≤ 8)", () => {
    // ranks 1..10 with the signs of ranks in `neg` negative: W⁻ = Σ neg
    const withNeg = (neg: number[]) =>
      wilcoxonSignedRank(
        Array.from({ length: 10 }, (_, i) => (neg.includes(i + 1) ? -(i + 1) : i + 1)),
        zeros(10),
      );
    expect(withNeg([8]).statistic).toBe(8);
    expect(withNeg([8]).p).toBeLessThan(0.05);
    expect(withNeg([9]).p).toBeGreaterThan(0.05);
    // P(W⁺ ≤ 8) for n = 10 is 25/1024 (the number of subsets of 1..10 with sum ≤ 8 is 25)
    expect(withNeg([8]).p).toBe(50 / 1024);
  });

  it("drops zero differences and mid-ranks ties (normal approximation with tie-corrected variance)", () => {
    const r = wilcoxonSignedRank([1, 2, 2, 3, 0, -1], [0, 0, 0, 0, 0, 0], { exactMaxN: 0 });
    // non-zero |d| = 1, 2, 2, 3, 1 → ranks 1.5, 3.5, 3.5, 5, 1.5; W⁻ = 1.5
    expect(r.n).toBe(5);
    expect(r.ties).toBe(true);
    expect(r.method).toBe("normal");
    expect(r.wMinus).toBe(1.5);
    expect(r.wPlus).toBe(13.5);
    const sigma = Math.sqrt((5 * 6 * 11) / 24 - (6 + 6) / 48);
    expect(r.p).toBeCloseTo(2 * normalUpperTail((13.5 - 7.5 - 0.5) / sigma), 15);
  });

  it("exact permutation distribution with ties: mid-ranks 1.5, 1.5 give sign-pattern sums {0, 3, 3, 6}/2", () => {
    const r = wilcoxonSignedRank([0.3, 0.3], [0.1, 0.1]);
    expect(r.ties).toBe(true);
    expect(r.method).toBe("exact");
    expect(r.p).toBe(0.5);
    // |d| = 1, 2, 2, 3, 1 (one negative 1): doubled ranks 3, 3, 7, 7, 10, W⁻ = 1.5 → P(2W⁺ ≤ 3) = 3/32
    const t = wilcoxonSignedRank([1, 2, 2, 3, -1], [0, 0, 0, 0, 0]);
    expect(t.p).toBe(6 / 32);
  });

  it("all differences zero gives p = 1; symmetric samples are not significant", () => {
    expect(wilcoxonSignedRank([0.5, 0.6], [0.5, 0.6]).p).toBe(1);
    expect(wilcoxonSignedRank([1, -1, 2, -2], zeros(4)).p).toBe(1);
  });

  it("rejects mismatched lengths and NaN", () => {
    expect(() => wilcoxonSignedRank([1], [1, 2])).toThrow(/lengths 1 and 2/);
    expect(() => wilcoxonSignedRank([Number.NaN], [1])).toThrow(/NaN/);
  });
});

describe("normalUpperTail", () => {
  it("matches tabulated values of 1 − Φ(z)", () => {
    expect(normalUpperTail(0)).toBe(0.5);
    expect(normalUpperTail(1.959963984540054)).toBeCloseTo(0.025, 14);
    expect(normalUpperTail(1)).toBeCloseTo(0.15865525393145707, 14);
    expect(normalUpperTail(3)).toBeCloseTo(0.0013498980316301035, 15);
    expect(normalUpperTail(5) / 2.866515718791939e-7).toBeCloseTo(1, 12);
    expect(normalUpperTail(-1)).toBeCloseTo(0.8413447460685429, 14);
  });
});
