// The certified lower bound on the minimal adversarial perturbation of Mahalanobis k-NN (Wang et al., "Provably
// Robust Metric Learning", NeurIPS 2020; reference/certification.md §2), with the ranks derived for this library's
// tie rule (votes + 0.01 for the nearest neighbour's class, then the smallest class code; equal distances to the
// lower training index).
import { RobustMetricError } from "../errors.js";
import type { Mat } from "../linalg/mat.js";
import type { CertificationContext, PreparedQuery } from "./margins.js";

/** The certificate of one point. */
export interface KnnCertificate {
  /** The classifier's prediction at z. */
  prediction: number;
  /** The label certified (the given label, or the prediction when none was given). */
  label: number;
  /**
   * A sound lower bound on min ‖δ‖₂ s.t. f(z + δ) ≠ label: 0 when the prediction is already wrong, +∞ when the
   * label cannot be overturned (too few points of other classes). Every z + δ with ‖δ‖ < radius is classified
   * `label`.
   */
  radius: number;
}

/** Options of {@link knnCertifiedRadius}. */
export interface KnnBoundOptions {
  /**
   * Use only the this many M-nearest positives (certification.md §2 "valid cheapening": the r-th largest over a
   * subset is ≤ the r-th largest over all, so the bound stays sound; negatives are never subsampled). Default: all.
   */
  maxPositives?: number;
  /**
   * Speed only, the radius is the same up to ties: negatives are first bounded with the screenSize positives nearest
   * to z, then made exact in increasing order of that bound until the rest cannot matter. Default 50.
   */
  screenSize?: number;
  /**
   * Cache the sound denominators 2‖M(x_i − x_j)‖ per class (n × |class| doubles, 25 M at most over all classes;
   * beyond that they are computed per query). Default true.
   */
  cache?: boolean;
}

/**
 * The largest number of positives among the k nearest neighbours that still lets another class win under the
 * library's tie rule: ⌊k/2⌋. For odd k this needs a strict majority of one other class; for even k, k/2 positives
 * lose only if the other k/2 all share one class and that class holds the nearest neighbour (the 0.01 bonus).
 */
export function maxPositivesForFlip(k: number): number {
  return Math.floor(k / 2);
}

/** The r-th smallest (1-based) of `v`, +∞ if there are fewer than r values. */
function kthSmallest(v: Float64Array, r: number): number {
  if (v.length < r) return Number.POSITIVE_INFINITY;
  return Float64Array.from(v).sort()[r - 1]!;
}

/**
 * A certified radius for k-NN under a Mahalanobis metric (certification.md §2). With the per-pair half-space
 * distances ε̃(x_i, x_j, z) (positive i, negative j) and val_r(j) = the r-th largest over positives of ε̃(·, x_j, z)
 * (0 if there are fewer than r positives), LB(p) = the (k − p)-th smallest over negatives of val_{p+1}, +∞ with fewer
 * than k − p negatives. A flip with p positives among the k nearest needs k − p negatives, each nearer than the
 * |P| − p positives outside (hence each ≥ val_{p+1} away). Under the library's tie rule (see
 * {@link maxPositivesForFlip}):
 * - odd k: radius = LB((k−1)/2) = the s-th smallest of the s-th largest, s = ⌊(k+1)/2⌋ (the paper's bound);
 * - even k: radius = min(LB(k/2 − 1), max(LB(k/2), min_j val_1(j))): with k/2 positives inside, the nearest
 *   neighbour must be a negative, nearer than every positive. For k = 2 this is the 1-NN bound. (The authors'
 *   s = k/2 would be unsound here; the spec's corrected (k/2)-th smallest of the (k/2+1)-th largest is sound but
 *   looser.)
 * Every ε̃ is a sound float64 lower bound ({@link CertificationContext.pairMargin}).
 *
 * @param label the true class code; omit to certify the prediction itself.
 * @param k number of neighbours (≤ n).
 * @throws RobustMetricError BAD_INPUT for a bad k, label or option; SHAPE_MISMATCH for a z of the wrong length.
 * @example
 * const ctx = CertificationContext.fromClassifier(knn);
 * knnCertifiedRadius(ctx, [0.3, 0.3], 1, 3).radius;
 */
export function knnCertifiedRadius(
  ctx: CertificationContext,
  z: ArrayLike<number>,
  label: number | undefined,
  k: number,
  opts: KnnBoundOptions = {},
): KnnCertificate {
  if (!Number.isInteger(k) || k < 1 || k > ctx.n)
    throw new RobustMetricError("BAD_INPUT", `k = ${k} must be an integer between 1 and ${ctx.n}`);
  if (label !== undefined && (!Number.isInteger(label) || label < -1))
    throw new RobustMetricError("BAD_INPUT", `label ${label} is not a class code`);
  if (opts.maxPositives !== undefined && (!Number.isInteger(opts.maxPositives) || opts.maxPositives < 1))
    throw new RobustMetricError(
      "BAD_INPUT",
      `maxPositives must be a positive integer, got ${opts.maxPositives}`,
    );
  const screen = opts.screenSize ?? 50;
  if (!Number.isInteger(screen) || screen < 1)
    throw new RobustMetricError("BAD_INPUT", `screenSize must be a positive integer, got ${opts.screenSize}`);
  const query = ctx.prepare(z);
  const prediction = ctx.predictOne(query.z, k);
  const y = label ?? prediction;
  if (prediction !== y) return { prediction, label: y, radius: 0 };
  return {
    prediction,
    label: y,
    radius: boundFor(ctx, query, y, k, opts.maxPositives, screen, opts.cache ?? true),
  };
}

function boundFor(
  ctx: CertificationContext,
  query: PreparedQuery,
  y: number,
  k: number,
  maxPositives: number | undefined,
  screenSize: number,
  useCache: boolean,
): number {
  const pmax = maxPositivesForFlip(k);
  const R = pmax + 1;
  const allP = ctx.classRows[y] ?? new Int32Array(0);
  const nNeg = ctx.n - allP.length;
  // every flip needs at least k − pmax negatives among the k nearest
  if (nNeg < k - pmax) return Number.POSITIVE_INFINITY;
  // positions (in the class list) of the positives, nearest to z first
  const byD = Array.from(allP.keys()).sort(
    (a, b) => query.d[allP[a]!]! - query.d[allP[b]!]! || allP[a]! - allP[b]!,
  );
  const pos = Int32Array.from(
    maxPositives !== undefined && maxPositives < allP.length ? byD.slice(0, Math.max(maxPositives, R)) : byD,
  );
  const negs = new Int32Array(nNeg);
  for (let j = 0, t = 0; j < ctx.n; j++) if (ctx.y[j] !== y) negs[t++] = j;
  const cache = useCache ? ctx.classDenominators(y) : undefined;
  const n = ctx.n;
  const { d, dErr } = query;
  const tg = ctx.tieGroup;
  const rho = ctx.rho;
  const top = new Float64Array(R);
  // top[0..R) = the R largest sound ε̃(x_i, x_j, z) over positives pos[from..to)
  const topOver = (j: number, from: number, to: number): void => {
    top.fill(0);
    const dj = d[j]!;
    const ej = dErr[j]!;
    const gj = tg[j]!;
    for (let t = from; t < to; t++) {
      const pi = pos[t]!;
      const i = allP[pi]!;
      let m: number;
      if (tg[i] === gj) m = j < i ? 0 : Number.POSITIVE_INFINITY;
      else if (cache) {
        // inlined CertificationContext.pairMargin with the cached denominator
        const raw = dj - d[i]!;
        const num = raw - dErr[i]! - ej - rho * Math.abs(raw);
        if (!(num > 0)) continue;
        const den = cache[pi * n + j]!;
        m = den > 0 ? (num / den) * (1 - rho) : Number.POSITIVE_INFINITY;
      } else m = ctx.pairMargin(query, i, j);
      if (m <= top[R - 1]!) continue;
      let s = R - 1;
      while (s > 0 && top[s - 1]! < m) {
        top[s] = top[s - 1]!;
        s--;
      }
      top[s] = m;
    }
  };
  // vals[r][t] = (r+1)-th largest over the positives for negative negs[t]. Pass 1: over the screenSize positives
  // nearest to z only, a lower bound (the (r+1)-th largest over a subset is ≤ that over all). Pass 2 makes them exact
  // in increasing order of the bound, until no remaining negative can lower any order statistic the radius uses.
  // Order statistics are monotone in every value, so any mix of exact values and lower bounds gives a sound radius.
  const vals = Array.from({ length: R }, () => new Float64Array(nNeg));
  const S = Math.min(screenSize, pos.length);
  // positive-major so that the cached denominators stream
  const last = vals[R - 1]!;
  for (let q = 0; q < S; q++) {
    const pi = pos[q]!;
    const i = allP[pi]!;
    const di = d[i]!;
    const ei = dErr[i]!;
    const gi = tg[i]!;
    const base = pi * n;
    for (let t = 0; t < nNeg; t++) {
      const j = negs[t]!;
      let m: number;
      if (tg[j] === gi) m = j < i ? 0 : Number.POSITIVE_INFINITY;
      else if (cache) {
        const raw = d[j]! - di;
        const num = raw - ei - dErr[j]! - rho * Math.abs(raw);
        if (!(num > 0)) continue;
        const den = cache[base + j]!;
        m = den > 0 ? (num / den) * (1 - rho) : Number.POSITIVE_INFINITY;
      } else m = ctx.pairMargin(query, i, j);
      if (m <= last[t]!) continue;
      let r = R - 1;
      while (r > 0 && vals[r - 1]![t]! < m) {
        vals[r]![t] = vals[r - 1]![t]!;
        r--;
      }
      vals[r]![t] = m;
    }
  }
  if (S < pos.length) {
    // the order statistics the radius uses: [rank index r, order o] = the o-th smallest of vals[r]
    const needed: [number, number][] =
      k % 2 === 1
        ? [[pmax, k - pmax]]
        : [
            [pmax - 1, k - pmax + 1],
            [pmax, k - pmax],
            [0, 1],
          ];
    const order = Array.from(negs.keys()).sort((a, b) => vals[R - 1]![a]! - vals[R - 1]![b]! || a - b);
    const suffixMin = needed.map(([r]) => {
      const m = new Float64Array(nNeg + 1).fill(Number.POSITIVE_INFINITY);
      for (let t = nNeg - 1; t >= 0; t--) m[t] = Math.min(m[t + 1]!, vals[r]![order[t]!]!);
      return m;
    });
    const smallest = needed.map(() => [] as number[]);
    for (let t = 0; t < nNeg; t++) {
      const done = needed.every(([, o], q) => {
        const list = smallest[q]!;
        return list.length >= o && suffixMin[q]![t]! >= list[o - 1]!;
      });
      if (done) break;
      const jt = order[t]!;
      topOver(negs[jt]!, S, pos.length);
      // merge the subset's and the rest's top-R lists: the exact top-R over all positives
      const merged = [...Array.from({ length: R }, (_, q) => vals[q]![jt]!), ...top].sort((a, b) => b - a);
      for (let r = 0; r < R; r++) vals[r]![jt] = merged[r]!;
      needed.forEach(([r, o], q) => {
        const list = smallest[q]!;
        list.push(vals[r]![jt]!);
        list.sort((a, b) => a - b);
        if (list.length > o) list.length = o;
      });
    }
  }
  const LB = (p: number) => kthSmallest(vals[p]!, k - p);
  if (k % 2 === 1) return LB(pmax);
  let minVal1 = Number.POSITIVE_INFINITY;
  for (const v of vals[0]!) minVal1 = Math.min(minVal1, v);
  return Math.min(LB(pmax - 1), Math.max(LB(pmax), minVal1));
}

/**
 * {@link knnCertifiedRadius} for every row of Q.
 *
 * @param labels true class codes (−1 for a label the model never saw: radius 0), or undefined to certify the
 *   predictions.
 * @throws RobustMetricError SHAPE_MISMATCH when labels and Q disagree in length.
 * @example
 * knnCertifiedRadii(ctx, Xtest, ytest, 3).map((c) => c.radius);
 */
export function knnCertifiedRadii(
  ctx: CertificationContext,
  Q: Mat,
  labels: ArrayLike<number> | undefined,
  k: number,
  opts: KnnBoundOptions = {},
): KnnCertificate[] {
  if (labels && labels.length !== Q.rows)
    throw new RobustMetricError("SHAPE_MISMATCH", `${Q.rows} points but ${labels.length} labels`);
  const out: KnnCertificate[] = [];
  for (let r = 0; r < Q.rows; r++) {
    out.push(knnCertifiedRadius(ctx, Q.data.subarray(r * Q.cols, (r + 1) * Q.cols), labels?.[r], k, opts));
  }
  return out;
}
