import { forEachDistanceRow } from "../constraints/neighbours.js";
import { Rng } from "../data/rng.js";
import { RobustMetricError } from "../errors.js";
import { sqDistances } from "../linalg/distance.js";
import { gemmABt } from "../linalg/gemm.js";
import { eye, type Mat } from "../linalg/mat.js";
import { MahalanobisMetric } from "../metric/mahalanobis.js";
import { type ArmlTriplets, armlLoss } from "../objectives/arml.js";
import { guarded } from "./guard.js";
import type { FitOptions, FitResult, Learner, ParamValues } from "./types.js";

/** Up to this many rows the triplet search holds the full n×n distance matrix (3000² doubles = 72 MB). */
const SYMMETRIC_MAX_ROWS = 3000;

/** Inserts (v, j) into the ascending top list (idx, dist) of current length len ≤ k; returns the new length. */
function pushTop(idx: Int32Array, dist: Float64Array, len: number, k: number, v: number, j: number): number {
  if (len === k && !(v < dist[k - 1]!)) return len;
  let pos = len < k ? len++ : k - 1;
  while (pos > 0 && dist[pos - 1]! > v) {
    idx[pos] = idx[pos - 1]!;
    dist[pos] = dist[pos - 1]!;
    pos--;
  }
  idx[pos] = j;
  dist[pos] = v;
  return len;
}

/** What {@link armlTriplets} returns: the triplets and the anchors that had no same-class partner. */
export interface ArmlTripletSample extends ArmlTriplets {
  anchor: Int32Array;
  positive: Int32Array;
  negative: Int32Array;
  /** Anchors skipped because their class has no other member. */
  skipped: number;
}

/**
 * ARML's triplets (reference/certification.md §3 step 2): one per training point z, x⁺ drawn uniformly from the
 * `candidates` nearest other points of z's class, x⁻ uniformly from the `candidates` nearest points of other
 * classes, nearest under the squared Euclidean distance between the rows of Z (Z = X for epoch 0, Z = X·Gᵀ
 * later). Both lists are capped at the points available (§7 item 14: the authors' top-k could return masked
 * entries); equal distances go to the lower index; z itself is excluded by index. A point whose class has no
 * other member gets no triplet (counted in `skipped`). Distances are computed once per pair (n ≤ 3000) or in row
 * blocks (memory O(256·n)).
 *
 * @param workspace optional buffer of ≥ n² doubles reused for the distances (saves a large allocation per epoch).
 * @throws RobustMetricError BAD_INPUT for candidates < 1, fewer than two classes, or a length mismatch.
 * @example const T = armlTriplets(X, y, 10, new Rng(0));
 */
export function armlTriplets(
  Z: Mat,
  y: Int32Array,
  candidates: number,
  rng: Rng,
  workspace?: Float64Array,
): ArmlTripletSample {
  if (!Number.isInteger(candidates) || candidates < 1)
    throw new RobustMetricError("BAD_INPUT", `candidates must be a positive integer, got ${candidates}`);
  if (Z.rows !== y.length)
    throw new RobustMetricError("SHAPE_MISMATCH", `X has ${Z.rows} rows but y has ${y.length} labels`);
  const k = candidates;
  const n = Z.rows;
  const a: number[] = [];
  const pIdx: number[] = [];
  const nIdx: number[] = [];
  const posI = new Int32Array(k);
  const posD = new Float64Array(k);
  const negI = new Int32Array(k);
  const negD = new Float64Array(k);
  let skipped = 0;
  let noNegative = 0;
  const visit = (i: number, d: Float64Array) => {
    const c = y[i]!;
    let np = 0;
    let nn = 0;
    for (let j = 0; j < n; j++) {
      const v = d[j]!;
      if (y[j] === c) {
        if (j !== i) np = pushTop(posI, posD, np, k, v, j);
      } else nn = pushTop(negI, negD, nn, k, v, j);
    }
    if (nn === 0) {
      noNegative++;
      return;
    }
    if (np === 0) {
      skipped++;
      return;
    }
    a.push(i);
    pIdx.push(posI[rng.int(0, np - 1)]!);
    nIdx.push(negI[rng.int(0, nn - 1)]!);
  };
  if (n <= SYMMETRIC_MAX_ROWS) {
    // one symmetric n×n pass computes each distance once (half the work of the row blocks)
    const out =
      workspace && workspace.length >= n * n ? workspace.subarray(0, n * n) : new Float64Array(n * n);
    const D = sqDistances(Z, Z, { rows: n, cols: n, data: out }).data;
    for (let i = 0; i < n; i++) visit(i, D.subarray(i * n, (i + 1) * n));
  } else forEachDistanceRow(Z, visit);
  if (noNegative > 0)
    throw new RobustMetricError("BAD_INPUT", `ARML needs at least two classes, got one among ${n} rows`);
  return {
    anchor: Int32Array.from(a),
    positive: Int32Array.from(pIdx),
    negative: Int32Array.from(nIdx),
    skipped,
  };
}

/**
 * ARML, adversarially robust metric learning (Wang, Liu, Yi, Jiang & Hsieh, "Provably Robust Metric Learning",
 * NeurIPS 2020; reference/certification.md §3): maximise the mean signed l2 margin of one triplet per training point
 * (src/objectives/arml.ts) over G, M = GᵀG, by full-batch Adam. The defaults are the authors' effective settings:
 * G₀ = I, `candidates` = 10 nearest same-class / other-class points, Euclidean neighbours at epoch 0 and re-drawn
 * under the current M after every epoch but the last, Adam lr 1e−3, betas (0.9, 0.999), eps 1e−8, 1000 epochs. The
 * authors seed torch with 42; our draws come from the fit's Rng, so results match theirs in distribution, not bit
 * for bit. ARML has no convergence test: it runs its epochs and reports `converged: false`.
 *
 * @throws RobustMetricError BAD_INPUT for one class only or when no class has two members; NUMERICAL if the loss
 *   becomes non-finite (naming the epoch).
 * @example const { metric } = arml.fit(X, y, resolveParams(arml), { rng: new Rng(0) });
 */
export const arml: Learner = guarded({
  name: "arml",
  description: "ARML, provably robust metric learning (Wang et al., NeurIPS 2020)",
  params: {
    epochs: { type: "int", default: 1000, min: 1, doc: "full-batch Adam steps (authors: 1000)" },
    lr: { type: "number", default: 1e-3, min: 0, doc: "Adam learning rate (PyTorch default 1e−3)" },
    beta1: { type: "number", default: 0.9, min: 0, max: 0.999999, doc: "Adam β₁" },
    beta2: { type: "number", default: 0.999, min: 0, max: 0.999999999, doc: "Adam β₂" },
    eps: { type: "number", default: 1e-8, min: 0, doc: "Adam ε" },
    candidates: {
      type: "int",
      default: 10,
      min: 1,
      doc: "x⁺ / x⁻ drawn among this many nearest same / other-class points (authors: 10)",
    },
    resample: {
      type: "boolean",
      default: true,
      doc: "re-draw the triplets under the current M after every epoch but the last (authors: yes)",
    },
    init: {
      type: "string",
      default: "identity",
      choices: ["identity", "random"],
      doc: "G₀ = I (authors) or I + N(0, 1) noise",
    },
  },
  fit(X: Mat, y: Int32Array, params: ParamValues, options: FitOptions = {}): FitResult {
    const t0 = performance.now();
    if (X.rows !== y.length)
      throw new RobustMetricError("SHAPE_MISMATCH", `X has ${X.rows} rows but y has ${y.length} labels`);
    const rng = options.rng ?? new Rng(0);
    const p = X.cols;
    const epochs = params.epochs as number;
    const lr = params.lr as number;
    const b1 = params.beta1 as number;
    const b2 = params.beta2 as number;
    const eps = params.eps as number;
    const k = params.candidates as number;
    const resample = params.resample as boolean;
    const G = eye(p);
    if (params.init === "random") for (let i = 0; i < p * p; i++) G.data[i]! += rng.normal();
    const warnings: string[] = [];
    const work = X.rows <= SYMMETRIC_MAX_ROWS ? new Float64Array(X.rows * X.rows) : undefined;
    let T = armlTriplets(X, y, k, rng, work);
    if (T.anchor.length === 0)
      throw new RobustMetricError(
        "BAD_INPUT",
        `ARML needs a class with at least two members; every one of the ${X.rows} rows is alone in its class`,
      );
    if (T.skipped > 0)
      warnings.push(`ARML: ${T.skipped} point(s) alone in their class have no positive and no triplet`);
    const m1 = new Float64Array(p * p);
    const m2 = new Float64Array(p * p);
    const trace: number[] = [];
    for (let e = 0; e < epochs; e++) {
      const { value, gradient } = armlLoss(X, G, T);
      if (!Number.isFinite(value))
        throw new RobustMetricError("NUMERICAL", `ARML loss is ${value} at epoch ${e + 1}`);
      trace.push(value);
      options.onIteration?.(e + 1, value);
      // Adam (PyTorch's form): G ← G − lr/(1 − β₁ᵗ) · m / (sqrt(v)/sqrt(1 − β₂ᵗ) + ε)
      const g = gradient!.data;
      const bc1 = 1 - b1 ** (e + 1);
      const bc2 = Math.sqrt(1 - b2 ** (e + 1));
      for (let i = 0; i < p * p; i++) {
        const gi = g[i]!;
        m1[i] = b1 * m1[i]! + (1 - b1) * gi;
        m2[i] = b2 * m2[i]! + (1 - b2) * gi * gi;
        G.data[i]! -= ((lr / bc1) * m1[i]!) / (Math.sqrt(m2[i]!) / bc2 + eps);
      }
      if (resample && e < epochs - 1) T = armlTriplets(gemmABt(X, G), y, k, rng, work);
    }
    for (const v of G.data)
      if (!Number.isFinite(v)) throw new RobustMetricError("NUMERICAL", "ARML produced a non-finite G");
    return {
      metric: MahalanobisMetric.fromL(G),
      iterations: epochs,
      converged: false,
      objective: trace,
      seconds: (performance.now() - t0) / 1000,
      params: { ...params },
      warnings,
    };
  },
});
