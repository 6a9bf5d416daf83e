// The training objective of ARML, Wang, Liu, Yi, Jiang, Hsieh, "Provably Robust Metric Learning" (NeurIPS 2020,
// arXiv 2006.07024; code wangwllu/provably_robust_metric_learning @ 08962ef, `TripleNet` with criterion `neg`;
// spec reference/certification.md §3).
//
// For a triplet (z, x⁺, x⁻) the margin is the l2 distance from z to the M-bisector of x⁺ and x⁻ (signed, not
// clamped at 0 during training, §7 item 12):
//   margin = (d_M(z,x⁻) − d_M(z,x⁺)) / (2·sqrt(max(‖M(x⁺−x⁻)‖², 1e−6))),   M = GᵀG,  d_M squared,
// and the loss is mean(−margin). With a = z − x⁻, b = z − x⁺, c = x⁺ − x⁻, num = ‖Ga‖² − ‖Gb‖², s = ‖Mc‖²:
//   ∂num/∂G = 2G(aaᵀ − bbᵀ),   ∂s/∂G = 2G(ccᵀM + Mccᵀ)   (0 where s is clamped),
// so the gradient of the loss is G·(W₁ + W₂M + MW₂) with W₁ = Σ w_t(aaᵀ − bbᵀ), W₂ = Σ u_t ccᵀ,
//   w_t = −2/(T·den_t),  u_t = 2·num_t/(T·den_t²·sqrt(s_t)),  den_t = 2·sqrt(max(s_t, 1e−6)),
// built from weighted outer-product sums (O(T·p²)), never one p×p matrix per triplet.
import { RobustMetricError } from "../errors.js";
import { gemm, gemmABt, gemmAtB } from "../linalg/gemm.js";
import { assertShape, type Mat } from "../linalg/mat.js";
import { outerSum } from "../linalg/syrk.js";

/** The clamp on the squared denominator norm in the authors' training net (spec §1.2). */
export const ARML_EPS = 1e-6;

/** Triplets as parallel row-index arrays: anchor z, a same-class x⁺ and an other-class x⁻. */
export interface ArmlTriplets {
  readonly anchor: ArrayLike<number>;
  readonly positive: ArrayLike<number>;
  readonly negative: ArrayLike<number>;
}

/** What {@link armlLoss} returns. */
export interface ArmlLossResult {
  /** mean over triplets of −margin. */
  value: number;
  /** ∂value/∂G, same shape as G (q×p); absent when not requested. */
  gradient: Mat | undefined;
  /** The signed margin of every triplet (l2 input-space distance to the bisector; negative when violated). */
  margins: Float64Array;
}

function checkTriplets(X: Mat, T: ArmlTriplets): number {
  const n = T.anchor.length;
  if (T.positive.length !== n || T.negative.length !== n)
    throw new RobustMetricError(
      "SHAPE_MISMATCH",
      `triplets: ${n} anchors, ${T.positive.length} positives, ${T.negative.length} negatives`,
    );
  for (let t = 0; t < n; t++) {
    for (const i of [T.anchor[t]!, T.positive[t]!, T.negative[t]!]) {
      if (!(i >= 0 && i < X.rows))
        throw new RobustMetricError(
          "BAD_INPUT",
          `triplet ${t} refers to row ${i}, outside the ${X.rows} rows of X`,
        );
    }
  }
  return n;
}

/**
 * ARML's training loss mean_t(−margin_t) over triplets (z, x⁺, x⁻), with M = GᵀG, and its exact gradient in G
 * (reference/certification.md §3, "Exact objective as run"; the `neg` criterion; the denominator's squared norm
 * is clamped at 1e−6 before the square root, as the authors' training net does). Cost O(n·q·p + T·(q + p²)).
 *
 * @param X data rows (n×p). @param G factor (q×p), M = GᵀG. @param triplets row indices into X.
 * @param withGradient default true.
 * @throws RobustMetricError SHAPE_MISMATCH when G does not have p columns or the triplet arrays differ in length;
 *   BAD_INPUT for no triplets or an index outside X.
 * @example
 * const { value, gradient, margins } = armlLoss(X, eye(p), { anchor: [0], positive: [1], negative: [2] });
 */
export function armlLoss(X: Mat, G: Mat, triplets: ArmlTriplets, withGradient = true): ArmlLossResult {
  const p = X.cols;
  assertShape(G, undefined, p, "G");
  const T = checkTriplets(X, triplets);
  if (T === 0) throw new RobustMetricError("BAD_INPUT", "ARML loss needs at least one triplet");
  const q = G.rows;
  const Z = gemmABt(X, G); // rows Gx_i (n×q)
  const U = gemm(Z, G); // rows Mx_i (n×p)
  const Zd = Z.data;
  const Ud = U.data;
  const Xd = X.data;
  const margins = new Float64Array(T);
  const w = withGradient ? new Float64Array(2 * T) : undefined;
  const u = withGradient ? new Float64Array(T) : undefined;
  let total = 0;
  for (let t = 0; t < T; t++) {
    const z = triplets.anchor[t]!;
    const xp = triplets.positive[t]!;
    const xn = triplets.negative[t]!;
    let dn = 0;
    let dp = 0;
    for (let r = 0; r < q; r++) {
      const zz = Zd[z * q + r]!;
      const an = zz - Zd[xn * q + r]!;
      const bp = zz - Zd[xp * q + r]!;
      dn += an * an;
      dp += bp * bp;
    }
    let s = 0;
    for (let r = 0; r < p; r++) {
      const v = Ud[xp * p + r]! - Ud[xn * p + r]!;
      s += v * v;
    }
    const clamped = !(s >= ARML_EPS);
    const rs = Math.sqrt(clamped ? ARML_EPS : s);
    const den = 2 * rs;
    const num = dn - dp;
    const m = num / den;
    margins[t] = m;
    total -= m;
    if (w && u) {
      w[t] = -2 / (T * den);
      w[T + t] = 2 / (T * den);
      u[t] = clamped ? 0 : (2 * num) / (T * den * den * rs);
    }
  }
  const value = total / T;
  if (!w || !u) return { value, gradient: undefined, margins };

  // W₁ = Σ w_t(aaᵀ − bbᵀ) from the 2T differences [a; b] with weights [w; −w]; W₂ = Σ u_t ccᵀ.
  const AB: Mat = { rows: 2 * T, cols: p, data: new Float64Array(2 * T * p) };
  const C: Mat = { rows: T, cols: p, data: new Float64Array(T * p) };
  for (let t = 0; t < T; t++) {
    const z = triplets.anchor[t]! * p;
    const xp = triplets.positive[t]! * p;
    const xn = triplets.negative[t]! * p;
    for (let r = 0; r < p; r++) {
      const xz = Xd[z + r]!;
      AB.data[t * p + r] = xz - Xd[xn + r]!;
      AB.data[(T + t) * p + r] = xz - Xd[xp + r]!;
      C.data[t * p + r] = Xd[xp + r]! - Xd[xn + r]!;
    }
  }
  const W = outerSum(AB, w);
  const W2 = outerSum(C, u);
  const M = gemmAtB(G, G);
  const W2M = gemm(W2, M);
  // S = W₁ + W₂M + (W₂M)ᵀ (M, W₂ symmetric), gradient = G·S
  for (let i = 0; i < p; i++)
    for (let j = 0; j < p; j++) W.data[i * p + j]! += W2M.data[i * p + j]! + W2M.data[j * p + i]!;
  return { value, gradient: gemm(G, W), margins };
}

/**
 * The signed ARML margins of triplets under M = GᵀG (see {@link armlLoss}), e.g. to compare a learned metric with
 * the identity on the same triplets. Certification clamps them at 0; training does not.
 *
 * @throws RobustMetricError as {@link armlLoss}.
 * @example armlMargins(X, fit.metric.components(), triplets)
 */
export function armlMargins(X: Mat, G: Mat, triplets: ArmlTriplets): Float64Array {
  return armlLoss(X, G, triplets, false).margins;
}
