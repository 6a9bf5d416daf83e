import { Rng } from "../data/rng.js";
import { RobustMetricError } from "../errors.js";
import { forEachDistanceRow } from "../linalg/distance.js";
import { gemmABt } from "../linalg/gemm.js";
import { eye, type Mat } from "../linalg/mat.js";
import { MahalanobisMetric } from "../metric/mahalanobis.js";
import { type ArmlTriplets, armlLoss } from "../objectives/arml.js";
import { guarded } from "./guard.js";
import type { FitOptions, FitResult, Learner, ParamValues } from "./types.js";

/**
 * Offers (v, j) to the list entries [base, base + len) of idx/dist (capacity k), kept ascending by (distance,
 * index), and returns the new length. Ordering ties by index makes the result independent of the scan order: it
 * is the k smallest (distance, index) pairs, which is what a scan in increasing j that never lets an equal
 * distance displace an earlier entry keeps.
 */
function offerTop(
  idx: Int32Array,
  dist: Float64Array,
  base: number,
  len: number,
  k: number,
  v: number,
  j: number,
) {
  if (len === k) {
    const last = dist[base + k - 1]!;
    if (!(v < last || (v === last && j < idx[base + k - 1]!))) return len;
  }
  let pos = len < k ? len++ : k - 1;
  while (pos > 0) {
    const d = dist[base + pos - 1]!;
    if (!(d > v || (d === v && idx[base + pos - 1]! > j))) break;
    idx[base + pos] = idx[base + pos - 1]!;
    dist[base + pos] = d;
    pos--;
  }
  idx[base + pos] = j;
  dist[base + pos] = v;
  return len;
}

/** Reused state of {@link armlTriplets} between the epochs of one fit. */
export interface ArmlTripletScratch {
  buffer?: Float64Array;
  previous?: {
    y: Int32Array;
    k: number;
    posI: Int32Array;
    posN: Int32Array;
    negI: Int32Array;
    negN: Int32Array;
  };
}

/**
 * The largest current distance (in `row`, indexed by sorted position `at[j]`) of the k members of a previous list,
 * an upper bound of the k-th distance now; +∞ when the list was not full.
 */
function previousBound(
  row: Float64Array,
  at: Int32Array,
  idx: Int32Array,
  len: number,
  base: number,
  k: number,
) {
  if (len < k) return Number.POSITIVE_INFINITY;
  let m = Number.NEGATIVE_INFINITY;
  for (let s = 0; s < k; s++) {
    const v = row[at[idx[base + s]!]!]!;
    if (v > m) m = v;
  }
  return m;
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
 * other member gets no triplet (counted in `skipped`). Distances come from forEachDistanceRow (the full matrix up
 * to 2048 points, row blocks beyond), so memory is O(min(n², 256·n) + k·n).
 *
 * @param scratch kept between calls on the same y and `candidates` (one per fit): the distance buffer, and the
 *   previous call's lists, whose members' current distances bound each list's k-th distance before the scan (the
 *   result is the same with or without it; only fewer candidates are inserted).
 * @throws RobustMetricError BAD_INPUT for candidates < 1, fewer than two classes, or a length mismatch.
 * @example const T = armlTriplets(X, y, 10, new Rng(0));
 */
export function armlTriplets(
  Z: Mat,
  y: Int32Array,
  candidates: number,
  rng: Rng,
  scratch: ArmlTripletScratch = {},
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
  // The rows are grouped by class (stably), so a distance row splits into one same-class range and the
  // other-class ranges around it: no per-element class test, whose mispredictions dominated the scan. Each row
  // costs n comparisons against the lists' current k-th distances (kept in locals) and a few insertions; a tie at
  // the k-th distance goes to offerTop, which orders by (distance, index).
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => y[a]! - y[b]! || a - b);
  const q = Z.cols;
  const Zs: Mat = { rows: n, cols: q, data: new Float64Array(n * q) };
  for (let r = 0; r < n; r++) Zs.data.set(Z.data.subarray(order[r]! * q, (order[r]! + 1) * q), r * q);
  const at = new Int32Array(n);
  for (let r = 0; r < n; r++) at[order[r]!] = r;
  const prev = scratch.previous?.y === y && scratch.previous.k === k ? scratch.previous : undefined;
  const groupStart = new Int32Array(n);
  const groupEnd = new Int32Array(n);
  for (let r = 0; r < n; ) {
    let e = r;
    while (e < n && y[order[e]!] === y[order[r]!]) e++;
    for (let t = r; t < e; t++) {
      groupStart[t] = r;
      groupEnd[t] = e;
    }
    r = e;
  }
  forEachDistanceRow(
    Zs,
    (r, row) => {
      const i = order[r]!;
      const base = i * k;
      const g0 = groupStart[r]!;
      const g1 = groupEnd[r]!;
      let np = 0;
      let thr = prev ? previousBound(row, at, prev.posI, prev.posN[i]!, base, k) : Number.POSITIVE_INFINITY;
      for (let t = g0; t < g1; t++) {
        const v = row[t]!;
        if (v <= thr && t !== r) {
          np = offerTop(posI, posD, base, np, k, v, order[t]!);
          if (np === k) thr = posD[base + k - 1]!;
        }
      }
      let nn = 0;
      thr = prev ? previousBound(row, at, prev.negI, prev.negN[i]!, base, k) : Number.POSITIVE_INFINITY;
      for (let t = 0; t < n; t++) {
        if (t === g0) {
          t = g1 - 1;
          continue;
        }
        const v = row[t]!;
        if (v <= thr) {
          nn = offerTop(negI, negD, base, nn, k, v, order[t]!);
          if (nn === k) thr = negD[base + k - 1]!;
        }
      }
      posN[i] = np;
      negN[i] = nn;
    },
    scratch,
  );
  scratch.previous = { y, k, posI, posN, negI, negN };
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
    const scratch = {};
    let T = armlTriplets(X, y, k, rng, scratch);
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
      if (resample && e < epochs - 1) T = armlTriplets(gemmABt(X, G), y, k, rng, scratch);
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
