// Metric invariants over random L of every shape, including rank-deficient ones, at scales from 1e−100 to 1e100,
// and the extreme end of float64: data near ±1.8e308 (which the readers accept) through the preprocessing, the
// learners' guard and the distance. test/metric/mahalanobis.test.ts covers the same invariants for one full-rank
// 2×3 L at unit scale; test/learners/degenerate.test.ts covers the learners at 1e±150.
import fc from "fast-check";
import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import { describe, expect, it } from "vitest";
import { iris } from "../../src/data/embedded.js";
import { Preprocessor } from "../../src/data/preprocess.js";
import { Rng } from "../../src/data/rng.js";
import { getLearner, learnerNames, resolveParams } from "../../src/learners/index.js";
import { fromRows, type Mat, zeros } from "../../src/linalg/index.js";
import { MahalanobisMetric } from "../../src/metric/mahalanobis.js";

const EPS = Number.EPSILON;

/** A random L (q×p) that is rank-deficient in one of several ways, with entries at a random scale. */
function randomL(r: Rng, shape: number): Mat {
  const p = r.int(1, 5);
  const q = r.int(1, 6);
  const scale = 10 ** r.int(-4, 4);
  const L = zeros(q, p);
  for (let i = 0; i < L.data.length; i++) L.data[i] = scale * r.normal();
  if (shape === 1) for (let j = 0; j < p; j++) L.data[j] = 0; // a zero row
  if (shape === 2 && q > 1) for (let j = 0; j < p; j++) L.data[p + j] = 2 * L.data[j]!; // dependent rows
  if (shape === 3) for (let i = 0; i < q; i++) L.data[i * p] = 0; // a feature the metric ignores
  if (shape === 4) L.data.fill(0); // M = 0: every distance is 0
  return L;
}
function point(r: Rng, p: number, scale: number): number[] {
  return Array.from({ length: p }, () => scale * r.normal());
}
/** Σ_r (Σ_j |L_rj||x_j − y_j|)²: the magnitude that bounds the rounding error of d(x, y). */
function magnitude(L: Mat, x: number[], y: number[]): number {
  let s = 0;
  for (let r = 0; r < L.rows; r++) {
    let t = 0;
    for (let j = 0; j < L.cols; j++) t += Math.abs(L.data[r * L.cols + j]!) * Math.abs(x[j]! - y[j]!);
    s += t * t;
  }
  return Math.sqrt(s);
}

describe("metric invariants over random rank-deficient L (fast-check)", () => {
  const cases = fc.record({
    seed: fc.integer(),
    shape: fc.integer({ min: 0, max: 4 }),
    e: fc.integer({ min: -100, max: 100 }),
  });

  it("symmetry and d(x, x) = 0 hold exactly; the triangle inequality within rounding", () => {
    fc.assert(
      fc.property(cases, ({ seed, shape, e }) => {
        const r = new Rng(seed);
        const L = randomL(r, shape);
        const m = MahalanobisMetric.fromL(L);
        const s = 10 ** e;
        const [x, y, z] = [point(r, L.cols, s), point(r, L.cols, s), point(r, L.cols, s)];
        expect(m.distance(x, y)).toBe(m.distance(y, x));
        expect(m.distance(x, y, { squared: true })).toBe(m.distance(y, x, { squared: true }));
        expect(m.distance(x, x)).toBe(0);
        const [dxy, dyz, dxz] = [m.distance(x, y), m.distance(y, z), m.distance(x, z)];
        for (const d of [dxy, dyz, dxz]) expect(Number.isFinite(d) && d >= 0).toBe(true);
        const tol = 8 * (L.cols + 1) * EPS * (magnitude(L, x, y) + magnitude(L, y, z) + magnitude(L, x, z));
        expect(dxz).toBeLessThanOrEqual(dxy + dyz + tol);
        if (shape === 4) expect([dxy, dyz, dxz]).toEqual([0, 0, 0]);
      }),
      { numRuns: 500 },
    );
  });

  it("M = LᵀL is exactly symmetric and PSD (eigenvalues ≥ −16p²ε·max|M|, ml-matrix oracle); rank ≤ rank L", () => {
    fc.assert(
      fc.property(cases, ({ seed, shape }) => {
        const r = new Rng(seed);
        const L = randomL(r, shape);
        const M = MahalanobisMetric.fromL(L).matrix();
        const p = M.rows;
        let norm = 0;
        for (let i = 0; i < p; i++)
          for (let j = 0; j < p; j++) {
            expect(M.data[i * p + j]).toBe(M.data[j * p + i]);
            norm = Math.max(norm, Math.abs(M.data[i * p + j]!));
          }
        const rows = Array.from({ length: p }, (_, i) => Array.from(M.data.subarray(i * p, (i + 1) * p)));
        const ev = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true }).realEigenvalues;
        const floor = -16 * p * p * EPS * norm; // rounding of LᵀL and of the eigen-solver
        for (const l of ev) expect(l).toBeGreaterThanOrEqual(floor);
        // rank(M) ≤ min(q, p) minus the dependencies built in: count eigenvalues clearly above rounding
        const big = ev.filter((l) => l > 1e3 * p * EPS * norm).length;
        const rankL = Math.min(L.rows, L.cols) - (shape === 4 ? Math.min(L.rows, L.cols) : 0);
        expect(big).toBeLessThanOrEqual(rankL);
      }),
      { numRuns: 300 },
    );
  });

  it("distance² agrees with (x − y)ᵀM(x − y) and with pairwiseSquared; pairwise is symmetric with a zero diagonal", () => {
    fc.assert(
      fc.property(cases, ({ seed, shape, e }) => {
        const r = new Rng(seed);
        const L = randomL(r, shape);
        const m = MahalanobisMetric.fromL(L);
        const p = L.cols;
        const s = 10 ** Math.trunc(e / 2);
        const pts = Array.from({ length: 4 }, () => point(r, p, s));
        const A = fromRows(pts);
        const D = m.pairwiseSquared(A, A);
        const M = m.matrix();
        for (let i = 0; i < 4; i++) {
          expect(D.data[i * 4 + i]).toBe(0);
          for (let j = 0; j < 4; j++) {
            expect(D.data[i * 4 + j]).toBe(D.data[j * 4 + i]);
            const d2 = m.distance(pts[i]!, pts[j]!, { squared: true });
            const mag = magnitude(L, pts[i]!, pts[j]!) ** 2;
            // pairwise rounds L·x and L·y before subtracting: its error scales with |L|(|x| + |y|), not |L||x − y|
            const absSum = (v: number[]) => v.map(Math.abs);
            const big =
              magnitude(
                L,
                absSum(pts[i]!),
                absSum(pts[j]!).map((v) => -v),
              ) ** 2;
            expect(Math.abs(D.data[i * 4 + j]! - d2)).toBeLessThanOrEqual(16 * (p + 1) * EPS * big);
            let quad = 0;
            for (let a = 0; a < p; a++)
              for (let b = 0; b < p; b++)
                quad += (pts[i]![a]! - pts[j]![a]!) * M.data[a * p + b]! * (pts[i]![b]! - pts[j]![b]!);
            expect(Math.abs(quad - d2)).toBeLessThanOrEqual(16 * (p + 1) ** 2 * EPS * mag);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it("fromM of a rank-deficient PSD matrix (q < p) gives the distances of L, and a −1e−14·λmax eigenvalue is clipped", () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const r = new Rng(seed);
        const p = r.int(2, 5);
        const L = zeros(r.int(1, p - 1), p);
        for (let i = 0; i < L.data.length; i++) L.data[i] = r.normal();
        const exact = MahalanobisMetric.fromL(L);
        const M = exact.matrix();
        const fromM = MahalanobisMetric.fromM(M);
        const x = point(r, p, 1);
        const y = point(r, p, 1);
        const mag = magnitude(L, x, y) ** 2;
        expect(
          Math.abs(fromM.distance(x, y, { squared: true }) - exact.distance(x, y, { squared: true })),
        ).toBeLessThan(1e-12 * Math.max(1, mag));
        // nudge: M − 1e−14·λmax·I has a slightly negative eigenvalue; it is accepted as rounding
        let lmax = 0;
        for (let i = 0; i < p; i++) lmax = Math.max(lmax, M.data[i * p + i]!);
        const nudged = { ...M, data: M.data.slice() };
        for (let i = 0; i < p; i++) nudged.data[i * p + i] = nudged.data[i * p + i]! - 1e-14 * lmax;
        const d = MahalanobisMetric.fromM(nudged).distance(x, y, { squared: true });
        expect(d).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 200 },
    );
  });
});

describe("the edge of float64: values near ±1.8e308", () => {
  it("distance() of finite points is never NaN (differences that overflow are taken on scaled values)", () => {
    const m = MahalanobisMetric.fromL(
      fromRows([
        [0, 1],
        [1, 0],
      ]),
    );
    // |x − y| = 2e308 overflows; the old sum did 0·Infinity = NaN
    // the distance 2e308 itself is beyond float64: Infinity, not NaN
    expect(m.distance([1e308, 0], [-1e308, 0])).toBe(Number.POSITIVE_INFINITY);
    // 1.6e308 is representable although its square is not
    expect(m.distance([8e307, 0], [-8e307, 0]) / 1e308).toBeCloseTo(1.6, 12);
    expect(m.distance([8e307, 0], [-8e307, 0], { squared: true })).toBe(Number.POSITIVE_INFINITY);
    expect(m.distance([1e200, 3], [-1e200, 3]) / 1e200).toBeCloseTo(2, 12);
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1.7e308, max: 1.7e308, noNaN: true }), { minLength: 6, maxLength: 6 }),
        fc.array(fc.constantFrom(0, 1, -1, 0.5, 1e-300, 1e10), { minLength: 6, maxLength: 6 }),
        (v, l) => {
          const metric = MahalanobisMetric.fromL({ rows: 2, cols: 3, data: Float64Array.from(l) });
          const d = metric.distance(v.slice(0, 3), v.slice(3));
          expect(Number.isNaN(d)).toBe(false);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(metric.distance(v.slice(0, 3), v.slice(0, 3))).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("standardize on columns at ±1e308: finite mean and scale, standardized values exact (±1)", () => {
    const X = fromRows([
      [1e308, 1],
      [1e308, 2],
      [-1e308, 3],
      [-1e308, 4],
    ]);
    const pre = Preprocessor.fit(X, "standardize");
    const json = pre.toJSON();
    expect(json.mean!.every(Number.isFinite) && json.scale!.every(Number.isFinite)).toBe(true);
    expect(json.mean![0]).toBe(0);
    expect(json.scale![0]! / 1e308).toBeCloseTo(1, 12);
    const Z = pre.apply(X);
    expect(Array.from(Z.data).filter((_, i) => i % 2 === 0)).toEqual([1, 1, -1, -1]);
    // a test value beyond the training range: x − mean would overflow, the halved form does not
    const T = pre.apply(fromRows([[1.7e308, 2.5]]));
    expect(T.data[0]).toBeCloseTo(1.7, 12);
    // a column whose plain sum overflows (all positive)
    const P = Preprocessor.fit(
      fromRows([
        [1.5e308, 0],
        [1.7e308, 1],
        [1.6e308, 0],
      ]),
      "standardize",
    ).toJSON();
    expect(P.mean![0]! / 1e308).toBeCloseTo(1.6, 12);
    expect(P.scale![0]! / 1e306).toBeCloseTo(Math.sqrt(2 / 3) * 10, 10);
  });

  const QUICK: Record<string, Record<string, unknown>> = {
    lmnn: { maxIter: 40 },
    "lmnn-pl": { maxIter: 40 },
    nca: { maxIter: 15 },
    "nca-pl": { maxIter: 15 },
    itml: { maxIter: 20 },
    aml: { maxIter: 10 },
    arml: { epochs: 10 },
  };
  it.each(learnerNames())(
    "%s on data spanning ±1.7e308 (spread overflows to Infinity) fits X / 2^1023: finite, non-zero, same neighbours",
    (name) => {
      // Y: iris centred and scaled to max |value| in [1, 2): X = Y·2^1023 reaches ±1.7e308
      const ds = iris();
      const Y = ds.X.data.slice();
      for (let j = 0; j < 4; j++) {
        let m = 0;
        for (let i = 0; i < 150; i++) m += Y[i * 4 + j]! / 150;
        for (let i = 0; i < 150; i++) Y[i * 4 + j] = Y[i * 4 + j]! - m;
      }
      let big = 0;
      for (const v of Y) big = Math.max(big, Math.abs(v));
      const Ym: Mat = { rows: 150, cols: 4, data: Y.map((v) => v / 2 ** Math.floor(Math.log2(big))) };
      const X: Mat = { ...Ym, data: Ym.data.map((v) => v * 2 ** 1023) };
      expect(Array.from(X.data).every(Number.isFinite)).toBe(true);
      const learner = getLearner(name);
      const params = resolveParams(
        learner,
        Object.fromEntries(Object.entries(QUICK[name] ?? {}).filter(([k]) => k in learner.params)),
      );
      const fit = learner.fit(X, ds.y, params, { rng: new Rng(0) });
      const Lx = fit.metric.components();
      expect(Array.from(Lx.data).every(Number.isFinite)).toBe(true);
      expect(Array.from(Lx.data).some((v) => v !== 0)).toBe(true);
      if (name === "euclidean") {
        // the baseline learns nothing: M = I at every scale
        expect(Array.from(fit.metric.transform(X).data)).toEqual(Array.from(X.data));
        return;
      }
      // the same learner on Ym (fitted as given): the transformed points agree to the precision left in L / 2^1023
      const base = learner.fit(Ym, ds.y, params, { rng: new Rng(0) });
      const Tx = fit.metric.transform(X).data;
      const Ty = base.metric.transform(Ym).data;
      let scale = 0;
      for (const v of Ty) scale = Math.max(scale, Math.abs(v));
      for (let i = 0; i < Tx.length; i++) expect(Math.abs(Tx[i]! - Ty[i]!)).toBeLessThanOrEqual(1e-9 * scale);
    },
  );
});
