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
});
