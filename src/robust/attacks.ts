// Attacks on Mahalanobis k-NN (reference/certification.md §4): the exact 1-NN attack (§1.3), the QP-greedy attack
// for k > 1 (§4.3, ported from Euclidean to d_M), and random-direction and Gaussian-noise attacks with binary
// search. Every adversarial point returned has been re-classified by the k-NN classifier (the library's tie rule)
// and found to differ from the label; perturbation norms are Euclidean in the space of the training rows.
import { Rng } from "../data/rng.js";
import { RobustMetricError } from "../errors.js";
import type { Mat } from "../linalg/mat.js";
import { exactMinimalPerturbation1nn, gcdDual } from "./exact-1nn.js";
import type { CertificationContext } from "./margins.js";

/** The attack methods of {@link attack}. */
export type AttackMethod = "exact" | "greedy" | "random" | "noise";
export const ATTACK_METHODS: readonly AttackMethod[] = ["exact", "greedy", "random", "noise"];

/** The outcome of an attack on one point. */
export interface AttackResult {
  /** The clean prediction at z. */
  prediction: number;
  /** The label attacked (the given label or the clean prediction). */
  label: number;
  /** z + δ, verified to be classified differently from `label`; z itself when it is already misclassified; null on failure. */
  adversarial: Float64Array | null;
  /** The prediction at `adversarial` (−1 on failure). */
  adversarialPrediction: number;
  /** ‖δ‖₂: an upper bound on the minimal adversarial perturbation; 0 if misclassified, +∞ on failure. */
  norm: number;
}

/** Options shared by the attacks. */
export interface AttackOptions {
  /** Seed of the random attacks (default 0). */
  seed?: number;
  /** random / noise: number of directions tried (default 20). */
  directions?: number;
  /** noise: per-feature scale of the Gaussian directions (default: the training data's per-feature std). */
  featureScale?: ArrayLike<number>;
  /** greedy: far points kept per trial (200), trials (500) and the minimum before stopping on success (10). */
  nFar?: number;
  maxTrials?: number;
  minTrials?: number;
  /** QP solver: iterations (20000) and tolerance (1e−12) of the dual coordinate descent. */
  maxIter?: number;
  eps?: number;
  /** exact: screening subset size (50). */
  screenSize?: number;
}

function checkK(ctx: CertificationContext, k: number): void {
  if (!Number.isInteger(k) || k < 1 || k > ctx.n)
    throw new RobustMetricError("BAD_INPUT", `k = ${k} must be an integer between 1 and ${ctx.n}`);
}

function positiveInt(name: string, v: number | undefined, def: number): number {
  const x = v ?? def;
  if (!Number.isInteger(x) || x < 1)
    throw new RobustMetricError("BAD_INPUT", `${name} must be a positive integer, got ${v}`);
  return x;
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let c = 0; c < v.length; c++) s += v[c]! ** 2;
  return Math.sqrt(s);
}

function start(ctx: CertificationContext, z: ArrayLike<number>, label: number | undefined, k: number) {
  checkK(ctx, k);
  const zz = ctx.prepare(z).z;
  const prediction = ctx.predictOne(zz, k);
  const y = label ?? prediction;
  const done: AttackResult | undefined =
    prediction !== y
      ? { prediction, label: y, adversarial: zz, adversarialPrediction: prediction, norm: 0 }
      : undefined;
  return { zz, prediction, y, done };
}

const failed = (prediction: number, label: number): AttackResult => ({
  prediction,
  label,
  adversarial: null,
  adversarialPrediction: -1,
  norm: Number.POSITIVE_INFINITY,
});

/**
 * The exact attack on 1-NN: the verified adversarial example of {@link exactMinimalPerturbation1nn}.
 *
 * @throws RobustMetricError BAD_INPUT for bad options.
 * @example
 * exactAttack1nn(ctx, z, label).norm;
 */
export function exactAttack1nn(
  ctx: CertificationContext,
  z: ArrayLike<number>,
  label?: number,
  opts: AttackOptions = {},
): AttackResult {
  const r = exactMinimalPerturbation1nn(ctx, z, label, {
    ...(opts.screenSize !== undefined ? { screenSize: opts.screenSize } : {}),
    ...(opts.maxIter !== undefined ? { maxIter: opts.maxIter } : {}),
    ...(opts.eps !== undefined ? { eps: opts.eps } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
  });
  if (!r.delta) return failed(r.prediction, r.label);
  const zz = ctx.prepare(z).z;
  const adv = zz.map((v, c) => v + r.delta![c]!);
  return {
    prediction: r.prediction,
    label: r.label,
    adversarial: adv,
    adversarialPrediction: ctx.predictOne(adv, 1),
    norm: r.norm,
  };
}

/**
 * The QP-greedy attack on k-NN (certification.md §4.3, from `knn_robustness`, with d_M): for each pivot negative
 * (nearest to z first), "near" = the ⌊k/2⌋ + 1 points of the pivot's class nearest to the pivot (a winning vote
 * under the library's tie rule), "far" = the points of other classes minus the k − ⌊k/2⌋ − 1 nearest to the pivot,
 * restricted to the nFar nearest to z; solve min ‖δ‖ s.t. z + δ is M-closer to every near point than to every far
 * point (rows a = 2M(x_far − x_near), dual coordinate descent), push the solution slightly toward the near points
 * and accept it only if the k-NN prediction changes. Stops after minTrials once a success exists, or maxTrials.
 *
 * @throws RobustMetricError BAD_INPUT for a bad k or option.
 * @example
 * qpGreedyAttack(ctx, z, label, 3).norm;
 */
export function qpGreedyAttack(
  ctx: CertificationContext,
  z: ArrayLike<number>,
  label: number | undefined,
  k: number,
  opts: AttackOptions = {},
): AttackResult {
  const nFar = positiveInt("nFar", opts.nFar, 200);
  const maxTrials = positiveInt("maxTrials", opts.maxTrials, 500);
  const minTrials = positiveInt("minTrials", opts.minTrials, 10);
  const maxIter = positiveInt("maxIter", opts.maxIter, 20000);
  const eps = opts.eps ?? 1e-12;
  const { zz, prediction, y, done } = start(ctx, z, label, k);
  if (done) return done;
  const { n, p } = ctx;
  const query = ctx.prepare(zz);
  const dz = query.d;
  const byZ = Array.from({ length: n }, (_, i) => i).sort((a, b) => dz[a]! - dz[b]! || a - b);
  const pivots = byZ.filter((j) => ctx.y[j] !== y);
  const sNear = Math.floor(k / 2) + 1;
  const nExclude = k - sNear;
  const Zd = ctx.Z.data;
  const qz = ctx.Z.cols;
  const U = ctx.U.data;
  let best: AttackResult = failed(prediction, y);
  let trials = 0;
  for (const j of pivots) {
    if (trials >= maxTrials || (trials >= minTrials && best.adversarial)) break;
    trials++;
    const c = ctx.y[j]!;
    const dp = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let r = 0; r < qz; r++) {
        const t = Zd[i * qz + r]! - Zd[j * qz + r]!;
        s += t * t;
      }
      dp[i] = s;
    }
    const byPivot = Array.from({ length: n }, (_, i) => i).sort((a, b) => dp[a]! - dp[b]! || a - b);
    const near = byPivot.filter((i) => ctx.y[i] === c).slice(0, sNear);
    if (near.length < sNear) continue;
    const excluded = new Set(byPivot.filter((i) => ctx.y[i] !== c).slice(0, nExclude));
    const far = byZ.filter((i) => ctx.y[i] !== c && !excluded.has(i)).slice(0, nFar);
    const m = near.length * far.length;
    const A = new Float64Array(m * p);
    const b = new Float64Array(m);
    let r = 0;
    for (const a of near) {
      for (const f of far) {
        for (let col = 0; col < p; col++) A[r * p + col] = 2 * (U[f * p + col]! - U[a * p + col]!);
        b[r] = dz[f]! - dz[a]!;
        r++;
      }
    }
    const { lambda } = gcdDual(A, b, m, p, maxIter, eps);
    const delta = new Float64Array(p);
    for (let t = 0; t < m; t++) {
      const l = lambda[t]!;
      if (l !== 0) for (let col = 0; col < p; col++) delta[col] = delta[col]! - l * A[t * p + col]!;
    }
    if (norm(delta) >= best.norm) continue;
    const centroid = new Float64Array(p);
    for (const a of near)
      for (let col = 0; col < p; col++)
        centroid[col] = centroid[col]! + ctx.X.data[a * p + col]! / near.length;
    for (const eta of [1e-9, 1e-7, 1e-5, 1e-3]) {
      const w = new Float64Array(p);
      for (let col = 0; col < p; col++) {
        const base = zz[col]! + delta[col]!;
        w[col] = base + eta * (centroid[col]! - base);
      }
      const nw = norm(w.map((v, col) => v - zz[col]!));
      if (nw >= best.norm) break;
      const pw = ctx.predictOne(w, k);
      if (pw !== y) {
        best = { prediction, label: y, adversarial: w, adversarialPrediction: pw, norm: nw };
        break;
      }
    }
  }
  return best;
}

/**
 * Binary search along a ray z + t·u (‖u‖ = 1): finds some t with f(z + t·u) ≠ label by doubling from t0 (at most
 * `doublings` times, and not past `maxT`), then halves [lo, hi] until the end points are equal to 1e−10 relative, returning the
 * adversarial end (verified). Returns null when no flip is found along the ray.
 *
 * @example
 * binarySearchRay(ctx, z, u, label, 3, 0.1);
 */
export function binarySearchRay(
  ctx: CertificationContext,
  z: Float64Array,
  u: Float64Array,
  label: number,
  k: number,
  t0: number,
  doublings = 16,
  maxT = Number.POSITIVE_INFINITY,
): { point: Float64Array; t: number; prediction: number } | null {
  const p = z.length;
  const at = (t: number) => {
    const w = new Float64Array(p);
    for (let c = 0; c < p; c++) w[c] = z[c]! + t * u[c]!;
    return w;
  };
  let lo = 0;
  let hi = t0 > 0 ? t0 : 1;
  let hiPoint = at(hi);
  let hiPred = ctx.predictOne(hiPoint, k);
  let steps = 0;
  while (hiPred === label) {
    if (++steps > doublings || hi >= maxT) return null;
    lo = hi;
    hi *= 2;
    hiPoint = at(hi);
    hiPred = ctx.predictOne(hiPoint, k);
  }
  for (let it = 0; it < 200 && hi - lo > 1e-10 * hi; it++) {
    const mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    const w = at(mid);
    const pm = ctx.predictOne(w, k);
    if (pm !== label) {
      hi = mid;
      hiPoint = w;
      hiPred = pm;
    } else lo = mid;
  }
  return { point: hiPoint, t: hi, prediction: hiPred };
}

function rayAttack(
  ctx: CertificationContext,
  z: ArrayLike<number>,
  label: number | undefined,
  k: number,
  opts: AttackOptions,
  direction: (rng: Rng) => Float64Array,
): AttackResult {
  const directions = positiveInt("directions", opts.directions, 20);
  const { zz, prediction, y, done } = start(ctx, z, label, k);
  if (done) return done;
  const { d } = ctx.prepare(zz);
  // scale of the first step: the Euclidean distance to the nearest point of another class
  let t0 = Number.POSITIVE_INFINITY;
  let nearest = -1;
  for (let j = 0; j < ctx.n; j++) if (ctx.y[j] !== y && (nearest < 0 || d[j]! < d[nearest]!)) nearest = j;
  if (nearest < 0) return failed(prediction, y);
  t0 = norm(zz.map((v, c) => v - ctx.X.data[nearest * ctx.p + c]!)) / 4 || 1;
  const rng = new Rng(opts.seed ?? 0);
  let best = failed(prediction, y);
  for (let t = 0; t < directions; t++) {
    const u = direction(rng);
    const nu = norm(u);
    if (!(nu > 0)) continue;
    for (let c = 0; c < u.length; c++) u[c] = u[c]! / nu;
    const r = binarySearchRay(ctx, zz, u, y, k, Math.min(t0, best.norm), 16, best.norm);
    if (r && r.t < best.norm) {
      const nr = norm(r.point.map((v, c) => v - zz[c]!));
      best = { prediction, label: y, adversarial: r.point, adversarialPrediction: r.prediction, norm: nr };
    }
  }
  return best;
}

/**
 * Random-direction attack: `directions` isotropic Gaussian directions (seeded), each searched by
 * {@link binarySearchRay}; the shortest verified adversarial point wins.
 *
 * @throws RobustMetricError BAD_INPUT for a bad k or option.
 * @example
 * randomDirectionAttack(ctx, z, label, 3, { seed: 1, directions: 50 }).norm;
 */
export function randomDirectionAttack(
  ctx: CertificationContext,
  z: ArrayLike<number>,
  label: number | undefined,
  k: number,
  opts: AttackOptions = {},
): AttackResult {
  return rayAttack(ctx, z, label, k, opts, (rng) => Float64Array.from({ length: ctx.p }, () => rng.normal()));
}

/**
 * Population standard deviation of each column of a matrix (1 for a constant column).
 *
 * @example featureStd(Xtrain)
 */
export function featureStd(data: Mat): Float64Array {
  const { rows: n, cols: p } = data;
  const X = data.data;
  const mean = new Float64Array(p);
  for (let i = 0; i < n; i++) for (let c = 0; c < p; c++) mean[c] = mean[c]! + X[i * p + c]! / n;
  const s = new Float64Array(p);
  for (let i = 0; i < n; i++) for (let c = 0; c < p; c++) s[c] = s[c]! + (X[i * p + c]! - mean[c]!) ** 2 / n;
  return s.map((v) => (v > 0 ? Math.sqrt(v) : 1));
}

/**
 * Gaussian-noise attack: directions drawn as N(0, diag(σ²)) with σ the per-feature scale (default the training
 * data's per-feature std), searched by {@link binarySearchRay}; the shortest verified adversarial point wins.
 *
 * @throws RobustMetricError BAD_INPUT / SHAPE_MISMATCH for a bad k, option or featureScale length.
 * @example
 * gaussianNoiseAttack(ctx, z, label, 3, { seed: 1 }).norm;
 */
export function gaussianNoiseAttack(
  ctx: CertificationContext,
  z: ArrayLike<number>,
  label: number | undefined,
  k: number,
  opts: AttackOptions = {},
): AttackResult {
  const scale = opts.featureScale ? Float64Array.from(opts.featureScale) : featureStd(ctx.X);
  if (scale.length !== ctx.p)
    throw new RobustMetricError(
      "SHAPE_MISMATCH",
      `featureScale has ${scale.length} values, data has ${ctx.p}`,
    );
  return rayAttack(ctx, z, label, k, opts, (rng) => scale.map((s) => s * rng.normal()));
}

/**
 * Runs one attack by name: `exact` (1-NN only), `greedy`, `random` or `noise`.
 *
 * @throws RobustMetricError BAD_INPUT for an unknown method, or `exact` with k ≠ 1.
 * @example
 * attack(ctx, z, label, 1, "exact").norm;
 */
export function attack(
  ctx: CertificationContext,
  z: ArrayLike<number>,
  label: number | undefined,
  k: number,
  method: AttackMethod,
  opts: AttackOptions = {},
): AttackResult {
  switch (method) {
    case "exact":
      if (k !== 1)
        throw new RobustMetricError(
          "BAD_INPUT",
          `the exact attack is for 1-NN only, got k = ${k}; use greedy`,
        );
      return exactAttack1nn(ctx, z, label, opts);
    case "greedy":
      return qpGreedyAttack(ctx, z, label, k, opts);
    case "random":
      return randomDirectionAttack(ctx, z, label, k, opts);
    case "noise":
      return gaussianNoiseAttack(ctx, z, label, k, opts);
    default:
      throw new RobustMetricError(
        "BAD_INPUT",
        `unknown attack method '${String(method)}'; valid: ${ATTACK_METHODS.join(", ")}`,
      );
  }
}
