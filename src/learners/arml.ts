import { Rng } from "../data/rng.js";
import { RobustMetricError } from "../errors.js";
import { sqDistances } from "../linalg/distance.js";
import { gemmABt } from "../linalg/gemm.js";
import { eye, type Mat } from "../linalg/mat.js";
import { MahalanobisMetric } from "../metric/mahalanobis.js";
import { type ArmlTriplets, armlLoss } from "../objectives/arml.js";
import { guarded } from "./guard.js";
import type { FitOptions, FitResult, Learner, ParamValues } from "./types.js";

/** Rows per distance block of the triplet search (memory O(BLOCK·n) for the distances). */
const BLOCK = 128;

/**
 * Inserts (v, j) into the ascending top-k list of point i (entries [i·k, i·k + len[i]) of idx and dist) unless it
 * is not smaller than the current k-th; an equal distance never displaces an earlier (lower-index) entry.
 */
function pushTop(
  idx: Int32Array,
  dist: Float64Array,
  len: Int32Array,
  i: number,
  k: number,
  v: number,
  j: number,
) {
  const base = i * k;
  let n = len[i]!;
  if (n === k && !(v < dist[base + k - 1]!)) return;
  let pos = n < k ? n++ : k - 1;
  len[i] = n;
  while (pos > 0 && dist[base + pos - 1]! > v) {
    idx[base + pos] = idx[base + pos - 1]!;
    dist[base + pos] = dist[base + pos - 1]!;
    pos--;
  }
  idx[base + pos] = j;
  dist[base + pos] = v;
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
 * other member gets no triplet (counted in `skipped`). Each pairwise distance is computed once, in blocks of 128
 * rows (memory O(128·n + k·n)).
 *
 * @param workspace optional buffer of ≥ 128·n doubles reused for the distance blocks (saves an allocation per epoch).
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
  const posI = new Int32Array(n * k);
  const posD = new Float64Array(n * k);
  const posN = new Int32Array(n);
  const negI = new Int32Array(n * k);
  const negD = new Float64Array(n * k);
  const negN = new Int32Array(n);
  const q = Z.cols;
  const work =
    workspace && workspace.length >= Math.min(BLOCK, n) * n
      ? workspace
      : new Float64Array(Math.min(BLOCK, n) * n);
  // Each distance is computed once, for j > i, in row blocks against the rows from the block on, and offered to
  // both points' lists. Every point then sees its candidates in increasing index order, as a full row scan would.
  for (let b0 = 0; b0 < n; b0 += BLOCK) {
    const b1 = Math.min(n, b0 + BLOCK);
    const w = n - b0;
    const D = sqDistances(
      { rows: b1 - b0, cols: q, data: Z.data.subarray(b0 * q, b1 * q) },
      { rows: w, cols: q, data: Z.data.subarray(b0 * q) },
      { rows: b1 - b0, cols: w, data: work.subarray(0, (b1 - b0) * w) },
    ).data;
    for (let i = b0; i < b1; i++) {
      const c = y[i]!;
      const row = (i - b0) * w - b0;
      for (let j = i + 1; j < n; j++) {
        const v = D[row + j]!;
        if (y[j] === c) {
          pushTop(posI, posD, posN, i, k, v, j);
          pushTop(posI, posD, posN, j, k, v, i);
        } else {
          pushTop(negI, negD, negN, i, k, v, j);
          pushTop(negI, negD, negN, j, k, v, i);
        }
      }
    }
  }
  const a: number[] = [];
  const pIdx: number[] = [];
  const nIdx: number[] = [];
  let skipped = 0;
  let noNegative = 0;
  for (let i = 0; i < n; i++) {
    const np = posN[i]!;
    const nn = negN[i]!;
    if (nn === 0) {
      noNegative++;
      continue;
    }
    if (np === 0) {
      skipped++;
      continue;
    }
    a.push(i);
    pIdx.push(posI[i * k + rng.int(0, np - 1)]!);
    nIdx.push(negI[i * k + rng.int(0, nn - 1)]!);
  }
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
    const work = new Float64Array(Math.min(BLOCK, X.rows) * X.rows);
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
        throw new RobustMetricError(
          "NUMERICAL",
          `ARML loss is ${value} at epoch ${e + 1}: the Adam steps diverged (lr = ${lr}; try a smaller one)`,
        );
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
    const metric = MahalanobisMetric.fromL(G);
    // G may stay finite while M = GᵀG overflows (entries beyond ~1e154): no distance would be finite
    if (!metric.matrix().data.every(Number.isFinite))
      throw new RobustMetricError(
        "NUMERICAL",
        `ARML: after ${epochs} epochs M = GᵀG overflows float64 (lr = ${lr}; try a smaller one)`,
      );
    return {
      metric,
      iterations: epochs,
      converged: false,
      objective: trace,
      seconds: (performance.now() - t0) / 1000,
      params: { ...params },
      warnings,
    };
  },
});
