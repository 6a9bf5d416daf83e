// Robust-error / certified-accuracy curves (reference/certification.md §4.4) and robustness to random noise.
import { Rng } from "../data/rng.js";
import { RobustMetricError } from "../errors.js";
import type { Mat } from "../linalg/mat.js";
import { rowParallel } from "../linalg/parallel.js";
import type { KNeighborsClassifier } from "../neighbors/knn.js";
import { type AttackMethod, type AttackOptions, attack, featureStd } from "./attacks.js";
import { exact1nnSettings, exactMinimalPerturbation1nn } from "./exact-1nn.js";
import { knnCertifiedRadius } from "./knn-bound.js";
import { CertificationContext } from "./margins.js";

/**
 * The robust error at each radius with "≤ r" semantics (certification.md §4.4): the fraction of points whose
 * perturbation norm ε_i (0 for misclassified points, +∞ for failed attacks / uncertifiable flips) is ≤ r.
 *
 * @throws RobustMetricError BAD_INPUT for an empty norm list, a NaN norm or a negative or NaN radius.
 * @example
 * robustErrorAt([0, 0.1, 0.5, Infinity], [0, 0.1, 1]); // [0.25, 0.5, 0.75]
 */
export function robustErrorAt(norms: ArrayLike<number>, radii: ArrayLike<number>): number[] {
  checkNorms(norms);
  const sorted = Float64Array.from(norms).sort();
  return Array.from(radii, (r) => {
    if (!(r >= 0)) throw new RobustMetricError("BAD_INPUT", `radius ${r} must be ≥ 0`);
    // number of values ≤ r
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]! <= r) lo = mid + 1;
      else hi = mid;
    }
    return lo / sorted.length;
  });
}

function checkNorms(norms: ArrayLike<number>): void {
  if (norms.length === 0) throw new RobustMetricError("BAD_INPUT", "no perturbation norms given");
  for (let i = 0; i < norms.length; i++) {
    const v = norms[i]!;
    if (Number.isNaN(v) || v < 0) throw new RobustMetricError("BAD_INPUT", `norm ${i} is ${v}, expected ≥ 0`);
  }
}

/**
 * The robust-error step function of certification.md §4.4: evaluated at 0 and at each distinct finite norm, error(r)
 * = #{i : ε_i ≤ r} / n. The clean error is error(0); +∞ (failed attacks) never counts.
 *
 * @throws RobustMetricError BAD_INPUT for an empty list or a NaN / negative norm.
 * @example
 * robustErrorCurve([0, 0.3, Infinity]); // { radii: [0, 0.3], error: [1/3, 2/3] }
 */
export function robustErrorCurve(norms: ArrayLike<number>): { radii: number[]; error: number[] } {
  checkNorms(norms);
  const radii = [0, ...new Set(Array.from(norms).filter((v) => Number.isFinite(v) && v > 0))].sort(
    (a, b) => a - b,
  );
  return { radii, error: robustErrorAt(norms, radii) };
}

/** What {@link certifiedAccuracy} returns. */
export interface CertifiedCurve {
  radii: number[];
  /** Fraction of points correctly classified with a certified radius > r (= 1 − certified robust error at r). */
  accuracy: number[];
  /** Per point: the sound lower bound on its minimal adversarial perturbation (0 if misclassified). */
  lowerBounds: Float64Array;
  /** Per point (exact 1-NN only): a verified upper bound; otherwise undefined. */
  upperBounds?: Float64Array;
  predictions: Int32Array;
}

/** Options of {@link certifiedAccuracy}. */
export interface CertifyOptions {
  /** 1-NN only: the exact minimal perturbation (dual QP) instead of the half-space bound. */
  exact?: boolean;
  /** Reuse a context built for the same classifier. */
  context?: CertificationContext;
  /** Options of the exact solver. */
  screenSize?: number;
  maxIter?: number;
  seed?: number;
  /** Called after each point (progress). */
  onPoint?: (done: number, total: number) => void;
}

/** How {@link certifyPoint} certifies: k, and for exact 1-NN the solver's options. */
export interface PointSettings {
  k: number;
  exact: boolean;
  seed: number;
  screenSize?: number;
  maxIter?: number;
}

/** Positives per block of a shared denominator table (the unit threads claim). */
const TABLE_BLOCK = 8;

/**
 * The denominator tables of all classes in one shared buffer, built together by the threads that certify points:
 * `tables` holds n² doubles (class c's table, n·|P_c|, after those of the classes before it) and `counters` two
 * Int32 per class (blocks claimed, blocks done), zero at first. The returned source, set as the context's
 * `sharedDenominators`, gives class c's table once built: the first thread to need it claims blocks of
 * TABLE_BLOCK positives until none is left, fills them by `fillDenominators` (the entries of the context's own
 * cache, bit for bit), then waits for the blocks others claimed. A wait with no block done for `stallMs` returns
 * undefined: the context then builds its own table (a thread that failed mid-block never stalls the others).
 */
export function sharedTableSource(
  ctx: CertificationContext,
  tables: Float64Array,
  counters: Int32Array,
  stallMs = 10_000,
): (c: number) => Float64Array | undefined {
  const n = ctx.n;
  const start: number[] = [];
  let at = 0;
  for (const P of ctx.classRows) {
    start.push(at);
    at += n * P.length;
  }
  return (c) => {
    const P = ctx.classRows[c];
    if (!P || P.length === 0) return undefined;
    const table = tables.subarray(start[c]!, start[c]! + n * P.length);
    const blocks = Math.ceil(P.length / TABLE_BLOCK);
    for (let b = Atomics.add(counters, 2 * c, 1); b < blocks; b = Atomics.add(counters, 2 * c, 1)) {
      ctx.fillDenominators(c, table, b * TABLE_BLOCK, Math.min(P.length, (b + 1) * TABLE_BLOCK));
      Atomics.add(counters, 2 * c + 1, 1);
    }
    let done = Atomics.load(counters, 2 * c + 1);
    let since = performance.now();
    while (done < blocks) {
      const now = Atomics.load(counters, 2 * c + 1);
      if (now !== done) {
        done = now;
        since = performance.now();
      } else if (performance.now() - since > stallMs) return undefined;
    }
    return table;
  };
}

/**
 * One point's certificate as {@link certifiedAccuracy} computes it: the lower bound (exact 1-NN: the dual bound of
 * {@link exactMinimalPerturbation1nn}, else {@link knnCertifiedRadius}), the verified upper bound (exact only, else
 * NaN) and the prediction.
 */
export function certifyPoint(
  ctx: CertificationContext,
  z: ArrayLike<number>,
  label: number,
  s: PointSettings,
): { lower: number; upper: number; prediction: number } {
  if (s.exact) {
    const r = exactMinimalPerturbation1nn(ctx, z, label, {
      ...(s.screenSize !== undefined ? { screenSize: s.screenSize } : {}),
      ...(s.maxIter !== undefined ? { maxIter: s.maxIter } : {}),
      seed: s.seed,
    });
    return { lower: r.lowerBound, upper: r.norm, prediction: r.prediction };
  }
  const c = knnCertifiedRadius(ctx, z, label, s.k);
  return { lower: c.radius, upper: Number.NaN, prediction: c.prediction };
}

function checkLabels(X: Mat, y: ArrayLike<number>): void {
  if (X.rows !== y.length)
    throw new RobustMetricError("SHAPE_MISMATCH", `${X.rows} points but ${y.length} labels`);
  if (X.rows === 0) throw new RobustMetricError("BAD_INPUT", "no points to evaluate");
}

/**
 * Certified accuracy of a fitted k-NN at each radius: per point the sound lower bound of
 * {@link knnCertifiedRadius} (or, with `exact` and k = 1, of {@link exactMinimalPerturbation1nn}, which also gives
 * upper bounds), then accuracy(r) = #{LB_i > r} / n, i.e. 1 − robust error with "≤ r" semantics. Radii are
 * Euclidean in the space of the classifier's training rows (after preprocessing).
 *
 * @param y true class codes (−1 for an unseen label counts as an error).
 * @throws RobustMetricError SHAPE_MISMATCH / BAD_INPUT for inconsistent sizes, a bad radius, or exact with k ≠ 1.
 * @example
 * certifiedAccuracy(knn, Xtest, ytest, [0, 0.1, 0.2]).accuracy;
 */
export function certifiedAccuracy(
  knn: KNeighborsClassifier,
  X: Mat,
  y: ArrayLike<number>,
  radii: ArrayLike<number>,
  opts: CertifyOptions = {},
): CertifiedCurve {
  checkLabels(X, y);
  const k = knn.k;
  if (opts.exact && k !== 1)
    throw new RobustMetricError("BAD_INPUT", `exact certification is for 1-NN only, got k = ${k}`);
  const ctx = opts.context ?? CertificationContext.fromClassifier(knn);
  const n = X.rows;
  const lowerBounds = new Float64Array(n);
  const upperBounds = opts.exact ? new Float64Array(n) : undefined;
  const predictions = new Int32Array(n);
  const settings: PointSettings = {
    k,
    exact: !!opts.exact,
    seed: opts.seed ?? 0,
    ...(opts.screenSize !== undefined ? { screenSize: opts.screenSize } : {}),
    ...(opts.maxIter !== undefined ? { maxIter: opts.maxIter } : {}),
  };
  // bad options and labels fail here, before any point (the points may be computed on several threads)
  if (settings.exact) exact1nnSettings(settings);
  for (let i = 0; i < n; i++) {
    const c = y[i]!;
    if (!Number.isInteger(c) || c < -1)
      throw new RobustMetricError("BAD_INPUT", `label ${c} of point ${i} is not a class code (or −1)`);
  }
  const point = (i: number) => {
    const r = certifyPoint(ctx, X.data.subarray(i * X.cols, (i + 1) * X.cols), y[i]!, settings);
    lowerBounds[i] = r.lower;
    if (upperBounds) upperBounds[i] = r.upper;
    predictions[i] = r.prediction;
  };
  // the points are independent: a thread pool (Node's kernel pool) certifies them on all threads, each point by
  // certifyPoint on a context built from the same training rows and L, so with the bits of this loop; the threads
  // share the denominator tables (built once, together, in shared memory) while the task runs
  const pooled = rowParallel()?.run({
    name: "certify",
    L: ctx.metric.components(),
    X: ctx.X,
    y: ctx.y,
    nClasses: ctx.nClasses,
    Q: X,
    labels: y,
    settings,
    lower: lowerBounds,
    upper: upperBounds,
    predictions,
    point,
    shareTables: (tables, counters) => {
      ctx.sharedDenominators = tables && counters ? sharedTableSource(ctx, tables, counters) : undefined;
    },
    ...(opts.onPoint ? { onDone: opts.onPoint } : {}),
  });
  if (!pooled) {
    for (let i = 0; i < n; i++) {
      point(i);
      opts.onPoint?.(i + 1, n);
    }
  } else opts.onPoint?.(n, n);
  const err = robustErrorAt(lowerBounds, radii);
  return {
    radii: Array.from(radii),
    accuracy: err.map((e) => 1 - e),
    lowerBounds,
    ...(upperBounds ? { upperBounds } : {}),
    predictions,
  };
}

/**
 * Empirical robust accuracy at each radius under an attack: accuracy(r) = #{attack norm_i > r} / n (failed attacks
 * count as robust). An upper bound on the true robust accuracy.
 *
 * @throws RobustMetricError SHAPE_MISMATCH / BAD_INPUT for inconsistent sizes, a bad radius or method.
 * @example
 * empiricalRobustAccuracy(knn, Xtest, ytest, [0.1], "greedy").accuracy;
 */
export function empiricalRobustAccuracy(
  knn: KNeighborsClassifier,
  X: Mat,
  y: ArrayLike<number>,
  radii: ArrayLike<number>,
  method: AttackMethod = "greedy",
  opts: AttackOptions & { context?: CertificationContext } = {},
): { radii: number[]; accuracy: number[]; norms: Float64Array } {
  checkLabels(X, y);
  const ctx = opts.context ?? CertificationContext.fromClassifier(knn);
  const norms = new Float64Array(X.rows);
  for (let i = 0; i < X.rows; i++) {
    norms[i] = attack(ctx, X.data.subarray(i * X.cols, (i + 1) * X.cols), y[i]!, knn.k, method, opts).norm;
  }
  return { radii: Array.from(radii), accuracy: robustErrorAt(norms, radii).map((e) => 1 - e), norms };
}

/**
 * Accuracy under random Gaussian noise: for each level σ, the mean (and std over repeats, N − 1) accuracy of the
 * classifier on X + σ·s ⊙ N(0, I), s the per-feature population std of the training data. The perturbation-loss
 * paper's noise protocol is [UNKNOWN] (perturbation-loss.md §5.5); this is the choice documented in
 * docs/certification.md. Seeded: the same seed gives the same noise.
 *
 * @throws RobustMetricError SHAPE_MISMATCH / BAD_INPUT for inconsistent sizes, a negative level or repeats < 1.
 * @example
 * noiseRobustness(knn, Xtest, ytest, [0, 0.1, 0.5], { seed: 0, repeats: 5 }).accuracy;
 */
export function noiseRobustness(
  knn: KNeighborsClassifier,
  X: Mat,
  y: ArrayLike<number>,
  levels: ArrayLike<number>,
  opts: { seed?: number; repeats?: number } = {},
): { levels: number[]; accuracy: number[]; std: number[] } {
  checkLabels(X, y);
  const repeats = opts.repeats ?? 5;
  if (!Number.isInteger(repeats) || repeats < 1)
    throw new RobustMetricError("BAD_INPUT", `repeats must be a positive integer, got ${repeats}`);
  const ctxStd = featureStd(knn.trainX());
  if (ctxStd.length !== X.cols)
    throw new RobustMetricError(
      "SHAPE_MISMATCH",
      `points have ${X.cols} columns, the training data ${ctxStd.length}`,
    );
  const rng = new Rng(opts.seed ?? 0);
  const accuracy: number[] = [];
  const std: number[] = [];
  for (const sigma of Array.from(levels)) {
    if (!(sigma >= 0) || !Number.isFinite(sigma))
      throw new RobustMetricError("BAD_INPUT", `noise level ${sigma} must be a finite number ≥ 0`);
    const accs: number[] = [];
    let correct = 0;
    for (let r = 0; r < repeats; r++) {
      const data = X.data.slice();
      for (let i = 0; i < data.length; i++) data[i] = data[i]! + sigma * ctxStd[i % X.cols]! * rng.normal();
      const pred = knn.predict({ rows: X.rows, cols: X.cols, data });
      let c = 0;
      for (let i = 0; i < X.rows; i++) if (pred[i] === y[i]) c++;
      accs.push(c / X.rows);
      correct += c;
    }
    // one division of the pooled count: at σ = 0 (or wherever every repeat agrees) this is the clean accuracy to
    // the bit, which a mean of the repeats' ratios is not
    const mean = correct / (X.rows * repeats);
    accuracy.push(mean);
    std.push(repeats > 1 ? Math.sqrt(accs.reduce((s, v) => s + (v - mean) ** 2, 0) / (repeats - 1)) : 0);
  }
  return { levels: Array.from(levels), accuracy, std };
}
