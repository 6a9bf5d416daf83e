import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/data/rng.js";
import { parseSplitsFile } from "../../src/data/splits.js";
import { evaluateMethods } from "../../src/eval/evaluate.js";
import { itml, metricLearnBounds, quantiles } from "../../src/learners/itml.js";
import { resolveParams } from "../../src/learners/registry.js";
import { eigh, fromRows, zeros } from "../../src/linalg/index.js";
import { setLinalgBackend } from "../../src/linalg/wasm-linalg.js";
import { readDataset } from "../../src/node/read.js";
import { itmlProjections } from "../../src/solvers/bregman.js";
import { sweepBackend } from "../../src/solvers/bregman-kernel.js";

const shared = fileURLToPath(new URL("../../../shared/", import.meta.url));
const hasShared = existsSync(`${shared}splits/iris-10x70-30.json`);

const quad = (M: { data: Float64Array }, v: number[]) => {
  const p = v.length;
  let s = 0;
  for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) s += v[i]! * M.data[i * p + j]! * v[j]!;
  return s;
};

describe("ITML Bregman projections", () => {
  it("with γ = ∞ one violated similar constraint is projected exactly onto d² = u", () => {
    const v = [3, 4];
    const { M } = itmlProjections(fromRows([v]), Uint8Array.from([1]), [4, 100], {
      gamma: Number.POSITIVE_INFINITY,
      maxIter: 1,
    });
    expect(quad(M, v)).toBeCloseTo(4, 12);
    // the orthogonal direction is untouched (LogDet projection is rank one)
    expect(quad(M, [-4, 3])).toBeCloseTo(25, 12);
  });
  it("with γ = ∞ one violated dissimilar constraint is pushed exactly to d² = l; satisfied ones leave M = I", () => {
    const v = [1, 0];
    const { M } = itmlProjections(fromRows([v]), Uint8Array.from([0]), [0.1, 9], {
      gamma: Number.POSITIVE_INFINITY,
      maxIter: 1,
    });
    expect(quad(M, v)).toBeCloseTo(9, 12);
    const idle = itmlProjections(fromRows([[1, 0]]), Uint8Array.from([1]), [4, 9], { gamma: 1 });
    expect(Array.from(idle.M.data)).toEqual([1, 0, 0, 1]);
    expect(idle.converged).toBe(true);
  });
  it("keeps M positive definite and moves constraints towards their bounds on random problems", () => {
    const rng = new Rng(3);
    const D = zeros(40, 5);
    for (let i = 0; i < D.data.length; i++) D.data[i] = rng.normal();
    const sim = Uint8Array.from({ length: 40 }, (_, i) => i % 2);
    const res = itmlProjections(D, sim, [2, 8], { gamma: 10 });
    expect(eigh(res.M).values[0]!).toBeGreaterThan(0);
    const rows = (s: number) => Array.from({ length: 40 }, (_, i) => i).filter((i) => sim[i] === s);
    const mean = (idx: number[], M: { data: Float64Array }) =>
      idx.reduce((a, i) => a + quad(M, Array.from(D.data.subarray(i * 5, i * 5 + 5))), 0) / idx.length;
    const eye = {
      data: Float64Array.from([1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]),
    };
    expect(mean(rows(1), res.M) / mean(rows(0), res.M)).toBeLessThan(mean(rows(1), eye) / mean(rows(0), eye));
  });
});

describe("ITML sweep backends", () => {
  // p below 4 and every remainder of the kernel's four-row blocks (p mod 4 = 0…3)
  it.each([1, 3, 5, 6, 7, 8, 13])(
    "WebAssembly SIMD and JavaScript sweeps give the same bits (p = %i)",
    (p) => {
      const rng = new Rng(p);
      const D = zeros(60, p);
      for (let i = 0; i < D.data.length; i++) D.data[i] = rng.normal();
      const sim = Uint8Array.from({ length: 60 }, (_, i) => (i < 30 ? 1 : 0));
      expect(sweepBackend()).toBe("wasm");
      const fast = itmlProjections(D, sim, [0.5 * p, 2 * p], { gamma: 1, maxIter: 50 });
      setLinalgBackend("js");
      try {
        expect(sweepBackend()).toBe("js");
        const slow = itmlProjections(D, sim, [0.5 * p, 2 * p], { gamma: 1, maxIter: 50 });
        expect(Array.from(fast.M.data)).toEqual(Array.from(slow.M.data));
        expect(fast.trace).toEqual(slow.trace);
        expect(fast.iterations).toBe(slow.iterations);
      } finally {
        setLinalgBackend("auto");
      }
    },
  );
});

describe("quantiles by selection", () => {
  // numpy's linear interpolation on a sorted copy: the definition the selection must reproduce exactly
  const bySort = (xs: number[], q: number) => {
    const s = Float64Array.from(xs).sort();
    const pos = q * (s.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(s.length - 1, lo + 1);
    return s[lo]! + (pos - lo) * (s[hi]! - s[lo]!);
  };
  it("equal the sort-based quantiles, bit for bit, with many ties and any order", () => {
    // (v + 0 turns −0 into 0: a sort orders −0 before 0, comparisons do not, and distances are never −0)
    const qs = [0, 0.05, 0.5, 0.95, 1];
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.integer({ min: -3, max: 3 }),
            fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => v + 0),
          ),
          {
            minLength: 1,
            maxLength: 300,
          },
        ),
        (xs) => {
          expect(quantiles(xs, qs)).toEqual(qs.map((q) => bySort(xs, q)));
        },
      ),
      { numRuns: 300 },
    );
    // sorted, reversed and constant inputs (the pivot choice's bad cases)
    const up = Array.from({ length: 5001 }, (_, i) => i / 7);
    for (const xs of [up, [...up].reverse(), new Array(4000).fill(2.5)]) {
      expect(quantiles(xs, qs)).toEqual(qs.map((q) => bySort(xs, q)));
    }
  });
});

describe("itml learner", () => {
  it("metric-learn's bounds: percentiles of unsquared distances between the pairs' unique points, 0 → 1e−9", () => {
    // points 0, 1, 3 (and a duplicate of 1): distances {0 ×3, 1 ×2, 2 ×2, 3 ×2}; numpy's linear percentile
    const X = fromRows([[0], [1], [3], [1]]);
    expect(metricLearnBounds(X, Int32Array.of(0, 1, 3), Int32Array.of(1, 2, 0))).toEqual([1e-9, 3]);
    const Y = fromRows([[0], [2], [5], [9], [14]]);
    // 25 distances: 0 ×5, then {2, 3, 4, 5, 5, 7, 9, 9, 12, 14} twice; 5th pct at 1.2 → 0 → 1e−9; 95th at
    // position 22.8 → 12 + 0.8·(14 − 12)
    const [u, l] = metricLearnBounds(Y, Int32Array.of(0, 1, 2, 3), Int32Array.of(1, 2, 3, 4));
    expect(u).toBe(1e-9);
    expect(l).toBeCloseTo(13.6, 12);
  });
  it("the two bound conventions differ, and both give a finite PSD metric", () => {
    const ds = { X: zeros(30, 3), y: Int32Array.from({ length: 30 }, (_, i) => i % 3) };
    const rng = new Rng(2);
    for (let i = 0; i < 90; i++) ds.X.data[i] = rng.normal() + (i % 3 === 0 ? ds.y[Math.floor(i / 3)]! : 0);
    const ml = itml.fit(ds.X, ds.y, resolveParams(itml), { rng: new Rng(0) });
    const pr = itml.fit(ds.X, ds.y, resolveParams(itml, { bounds: "pairs" }), { rng: new Rng(0) });
    expect(Array.from(ml.metric.matrix().data)).not.toEqual(Array.from(pr.metric.matrix().data));
    for (const f of [ml, pr]) expect(eigh(f.metric.matrix()).values[0]!).toBeGreaterThanOrEqual(-1e-9);
  });
  it("is seeded and finite on degenerate data (duplicates, constant column, d > n)", () => {
    const rng = new Rng(5);
    const X = zeros(10, 15);
    for (let i = 0; i < 10; i++) for (let j = 0; j < 14; j++) X.data[i * 15 + j] = rng.normal();
    X.data.copyWithin(15, 0, 15);
    const y = Int32Array.from({ length: 10 }, (_, i) => (i < 5 ? 0 : 1));
    const a = itml.fit(X, y, resolveParams(itml), { rng: new Rng(1) });
    const b = itml.fit(X, y, resolveParams(itml), { rng: new Rng(1) });
    expect(Array.from(a.metric.components().data)).toEqual(Array.from(b.metric.components().data));
    expect(Array.from(a.metric.matrix().data).every(Number.isFinite)).toBe(true);
  });
});

describe.skipIf(!hasShared)("ITML parity with metric-learn 0.7.0", () => {
  it.each([
    ["iris", 0.9644],
    ["wine", 0.9815],
  ])("%s: mean accuracy within 1.5 points of metric-learn's", (name, reference) => {
    const ds = readDataset(`${shared}datasets/${name}.csv`);
    const splits = parseSplitsFile(readFileSync(`${shared}splits/${name}-10x70-30.json`, "utf8"), ds.X.rows);
    const r = evaluateMethods(ds, { methods: ["itml"], splits });
    expect(r.methods[0]!.accuracy.mean).toBeGreaterThanOrEqual(reference - 0.015);
  });
});
if (!hasShared) console.warn(`skipping ITML parity tests: ${shared}splits/iris-10x70-30.json is missing`);
