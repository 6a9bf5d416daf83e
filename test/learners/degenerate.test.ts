// Every registered learner on degenerate data gives a finite PSD metric and a finite objective trace (the issue
// allows a clear error instead; none of our learners needs one on these). Learners registered later are covered
// automatically.
import { describe, expect, it } from "vitest";
import { iris } from "../../src/data/embedded.js";
import { Rng } from "../../src/data/rng.js";
import { getLearner, learnerNames, resolveParams } from "../../src/learners/index.js";
import { fromRows, type Mat, zeros } from "../../src/linalg/index.js";

/** Small iterations so the whole matrix of learners × data sets stays fast. */
const QUICK: Record<string, Record<string, unknown>> = {
  lmnn: { maxIter: 60 },
  "lmnn-pl": { maxIter: 60 },
  nca: { maxIter: 20 },
  "nca-pl": { maxIter: 20 },
  itml: { maxIter: 30 },
  aml: { maxIter: 20 },
  arml: { epochs: 20 },
};

function quickParams(name: string) {
  const learner = getLearner(name);
  const given = Object.fromEntries(
    Object.entries(QUICK[name] ?? {}).filter(([key]) => key in learner.params),
  );
  return resolveParams(learner, given);
}

function irisWith(map: (X: Mat) => Mat) {
  const ds = iris();
  return { X: map(ds.X), y: ds.y };
}

const rng = new Rng(3);
const gauss = (rows: number, cols: number) => {
  const X = zeros(rows, cols);
  for (let i = 0; i < X.data.length; i++) X.data[i] = rng.normal();
  return X;
};

const cases: Array<[string, () => { X: Mat; y: Int32Array }]> = [
  [
    "a constant column",
    () =>
      irisWith((X) => {
        const out = zeros(X.rows, X.cols + 1);
        for (let i = 0; i < X.rows; i++) {
          out.data.set(X.data.subarray(i * X.cols, (i + 1) * X.cols), i * (X.cols + 1));
          out.data[i * (X.cols + 1) + X.cols] = 7;
        }
        return out;
      }),
  ],
  [
    "every point duplicated",
    () => {
      const ds = iris();
      const X = zeros(300, 4);
      X.data.set(ds.X.data);
      X.data.set(ds.X.data, 600);
      const y = new Int32Array(300);
      y.set(ds.y);
      y.set(ds.y, 150);
      return { X, y };
    },
  ],
  [
    "d > n (12 points, 30 features)",
    () => ({ X: gauss(12, 30), y: Int32Array.from({ length: 12 }, (_, i) => i % 2) }),
  ],
  [
    "one feature",
    () => ({
      X: fromRows(Array.from({ length: 30 }, (_, i) => [i % 2 ? i : -i])),
      y: Int32Array.from({ length: 30 }, (_, i) => i % 2),
    }),
  ],
  [
    "a class with 2 members (k = 3)",
    () => ({
      X: fromRows([
        [0, 1],
        [1, 0],
        [2, 2],
        [3, 1],
        [4, 0],
        [10, 9],
        [11, 10],
      ]),
      y: Int32Array.from([0, 0, 0, 0, 0, 1, 1]),
    }),
  ],
  [
    "two classes only, well separated",
    () => {
      const X = gauss(40, 3);
      const y = Int32Array.from({ length: 40 }, (_, i) => i % 2);
      for (let i = 0; i < 40; i++) X.data[i * 3]! += 6 * y[i]!;
      return { X, y };
    },
  ],
  [
    "three classes, all points identical within each class",
    () => ({
      X: fromRows(Array.from({ length: 12 }, (_, i) => [i % 3, 2 * (i % 3)])),
      y: Int32Array.from({ length: 12 }, (_, i) => i % 3),
    }),
  ],
  ["iris scaled by 1e100", () => irisWith((X) => ({ ...X, data: X.data.map((v) => v * 1e100) }))],
  ["iris scaled by 1e-100", () => irisWith((X) => ({ ...X, data: X.data.map((v) => v * 1e-100) }))],
  ["iris shifted by 1e12", () => irisWith((X) => ({ ...X, data: X.data.map((v) => v + 1e12) }))],
];

describe("every learner on degenerate data", () => {
  const names = learnerNames();
  it("covers the base learners at least", () => {
    for (const n of ["euclidean", "lmnn", "itml", "nca", "gmml"]) expect(names).toContain(n);
  });
  for (const [label, make] of cases) {
    it.each(names)(`${label}: %s gives a finite PSD metric`, (name) => {
      const { X, y } = make();
      const fit = getLearner(name).fit(X, y, quickParams(name), { rng: new Rng(0) });
      expect(Array.from(fit.metric.matrix().data).every(Number.isFinite)).toBe(true);
      expect(fit.objective.every(Number.isFinite)).toBe(true);
      expect(fit.iterations).toBeGreaterThanOrEqual(0);
      expect(typeof fit.converged).toBe("boolean");
      // the metric is PSD: d(x, x') ≥ 0 for every training pair
      const d = fit.metric.pairwiseSquared(X, X);
      expect(Math.min(...d.data)).toBeGreaterThanOrEqual(-1e-9 * Math.max(1, ...d.data));
    });
  }
  it.each(names)(
    "%s at scales 1e±150 (squared distances would overflow or underflow): fitted on X / 2^k, the same bits",
    (name) => {
      // Y has spread in [2^−0.5, 2^0.5), so it is fitted as given; X = Y·2^k is fitted as X / 2^k = Y exactly
      const ds = iris();
      let spread = 0;
      for (let j = 0; j < 4; j++) {
        let m = 0;
        for (let i = 0; i < 150; i++) m += ds.X.data[i * 4 + j]! / 150;
        for (let i = 0; i < 150; i++) spread = Math.max(spread, Math.abs(ds.X.data[i * 4 + j]! - m));
      }
      const Y = { ...ds.X, data: ds.X.data.map((v) => v / 2 ** Math.round(Math.log2(spread))) };
      const base = getLearner(name).fit(Y, ds.y, quickParams(name), { rng: new Rng(0) });
      const Zy = base.metric.transform(Y);
      for (const k of [500, -500]) {
        const X = { ...Y, data: Y.data.map((v) => v * 2 ** k) };
        const fit = getLearner(name).fit(X, ds.y, quickParams(name), { rng: new Rng(0) });
        if (name === "euclidean") {
          // the baseline learns nothing: M = I at every scale
          expect(Array.from(fit.metric.transform(X).data)).toEqual(Array.from(X.data));
          continue;
        }
        expect(Array.from(fit.metric.transform(X).data)).toEqual(Array.from(Zy.data));
        expect(fit.warnings.join(" ")).toMatch(/fitted on X \/ 2\^/);
      }
      const bad = iris();
      bad.X.data[7 * 4 + 2] = Number.NaN;
      if (name !== "euclidean")
        expect(() => getLearner(name).fit(bad.X, bad.y, quickParams(name))).toThrow(/row 7, column 2/);
    },
  );
});
