import { describe, expect, it } from "vitest";
import { samplePairs } from "../../src/constraints/pairs.js";
import { iris } from "../../src/data/embedded.js";
import { Rng } from "../../src/data/rng.js";
import { evaluateMethods } from "../../src/eval/evaluate.js";
import { gmml } from "../../src/learners/gmml.js";
import { resolveParams } from "../../src/learners/registry.js";
import { fromRows, gemm, type Mat, syrk, zeros } from "../../src/linalg/index.js";
import { geometricMean, gmmlLoss } from "../../src/objectives/gmml.js";

function spd(p: number, rng: Rng): Mat {
  const X = zeros(p + 3, p);
  for (let i = 0; i < X.data.length; i++) X.data[i] = rng.normal();
  const S = syrk(X);
  for (let i = 0; i < p; i++) S.data[i * p + i]! += 0.5;
  return S;
}

describe("GMML objective", () => {
  const rng = new Rng(4);
  const A = spd(4, rng);
  const B = spd(4, rng);
  it("gradient A − M⁻¹BM⁻¹ matches central finite differences", () => {
    const M = spd(4, rng);
    const { gradient } = gmmlLoss(M, A, B);
    for (let r = 0; r < 4; r++)
      for (let c = r; c < 4; c++) {
        const h = 1e-6;
        const shift = (s: number) => {
          const N = { ...M, data: M.data.slice() };
          N.data[r * 4 + c]! += s;
          if (r !== c) N.data[c * 4 + r]! += s;
          return gmmlLoss(N, A, B).value;
        };
        const fd = (shift(h) - shift(-h)) / (2 * h);
        const an = r === c ? gradient.data[r * 4 + c]! : 2 * gradient.data[r * 4 + c]!;
        expect(Math.abs(fd - an)).toBeLessThan(1e-6 * Math.max(1, Math.abs(an)));
      }
  });
  it("the geometric mean solves M A M = B and minimises the loss (zero gradient)", () => {
    const M = geometricMean(A, B);
    const MAM = gemm(gemm(M, A), M);
    for (let i = 0; i < 16; i++) expect(MAM.data[i]).toBeCloseTo(B.data[i]!, 9);
    const g = gmmlLoss(M, A, B).gradient;
    expect(Math.max(...g.data.map(Math.abs))).toBeLessThan(1e-9);
    // t = 0 gives A⁻¹, t = 1 gives B
    const B1 = geometricMean(A, B, 1);
    for (let i = 0; i < 16; i++) expect(B1.data[i]).toBeCloseTo(B.data[i]!, 9);
    expect(() =>
      geometricMean(
        fromRows([
          [1, 0],
          [0, -1],
        ]),
        B,
      ),
    ).toThrow(/not positive definite/);
  });
});

describe("pairs from labels", () => {
  it("count similar then count dissimilar, never self, seeded", () => {
    const y = Int32Array.from([0, 0, 1, 1, 1, 2]);
    const P = samplePairs(y, 50, new Rng(1));
    expect(P.a.length).toBe(100);
    for (let t = 0; t < 100; t++) {
      expect(P.a[t]).not.toBe(P.b[t]);
      expect(y[P.a[t]!] === y[P.b[t]!]).toBe(P.similar[t] === 1);
    }
    expect(Array.from(samplePairs(y, 50, new Rng(1)).b)).toEqual(Array.from(P.b));
  });
});

describe("gmml learner", () => {
  it("classifies raw (unstandardised) iris above 90 %", () => {
    const r = evaluateMethods(iris(), { methods: ["euclidean", "gmml"], nSplits: 5, preprocess: "none" });
    expect(r.methods[1]!.accuracy.mean).toBeGreaterThan(0.9);
  });
  it("degenerate data (constant column, d > n, duplicates): finite metric, never NaN", () => {
    const rng = new Rng(2);
    const X = zeros(8, 20);
    for (let i = 0; i < 8; i++) for (let j = 0; j < 19; j++) X.data[i * 20 + j] = rng.normal();
    X.data.copyWithin(20, 0, 20); // row 1 duplicates row 0; column 19 is constant 0
    const fit = gmml.fit(X, Int32Array.from([0, 0, 0, 0, 1, 1, 1, 1]), resolveParams(gmml), { rng });
    expect(Array.from(fit.metric.matrix().data).every(Number.isFinite)).toBe(true);
    expect(fit.objective.every(Number.isFinite)).toBe(true);
  });
});
