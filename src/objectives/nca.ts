// Neighbourhood Components Analysis (Goldberger, Roweis, Hinton & Salakhutdinov, NIPS 2004, eq. 1–5): with
// z = Lx, p_ij = exp(−‖z_i − z_j‖²) / Σ_{k≠i} exp(−‖z_i − z_k‖²) (p_ii = 0) and p_i = Σ_{j: y_j = y_i} p_ij, minimise
//   f(L) = −Σ_i p_i,   ∂f/∂L = −2L Σ_i Σ_k W_ik x_ik x_ikᵀ,   W_ik = p_i p_ik − [y_k = y_i] p_ik,  x_ik = x_i − x_k.
import { RobustMetricError } from "../errors.js";
import { forEachDistanceRow } from "../linalg/distance.js";
import { expNonPositive } from "../linalg/exp.js";
import { gemm, gemmABt, gemmAtB } from "../linalg/gemm.js";
import type { Mat } from "../linalg/mat.js";
import { pairAccumulator } from "./nca-kernel.js";

/**
 * Softmax terms exp(d_min − d_ik) below e^−46 ≈ 1e−20 are dropped: even n = 10⁴ of them change Σ_k and every
 * weight by less than one rounding error of a double (1.1e−16), so the loss and gradient equal the dense ones to
 * rounding, while the gradient costs O(kept pairs · p) instead of O(n² · p). Once L has grown, each point keeps a
 * few dozen neighbours.
 */
export const NCA_SOFTMAX_CUTOFF = 46;

/**
 * NCA loss f(L) = −Σ_i p_i and its gradient in L (q×p, row-major, written into `grad`). Softmax rows are computed
 * stably (shifted by their minimum distance, terms below e^−46 of the largest dropped: see
 * {@link NCA_SOFTMAX_CUTOFF}); a point whose other points are all infinitely far contributes 0. `scratch` keeps the
 * distance buffer between calls.
 *
 * @throws RobustMetricError SHAPE_MISMATCH when L's size is not a multiple of p or y does not fit X.
 * @example const f = ncaLoss(X, y, L, grad);
 */
export function ncaLoss(
  X: Mat,
  y: Int32Array,
  L: Mat,
  grad?: Float64Array,
  scratch: { buffer?: Float64Array } = {},
): number {
  const { rows: n, cols: p } = X;
  if (L.cols !== p)
    throw new RobustMetricError("SHAPE_MISMATCH", `L is ${L.rows}×${L.cols}, data has ${p} columns`);
  if (y.length !== n)
    throw new RobustMetricError("SHAPE_MISMATCH", `X has ${n} rows but y has ${y.length} labels`);
  const Z = gemmABt(X, L);
  // pair (i, k) adds w(x_i − x_k) to row i of A and subtracts it from row k; summed over pairs that is
  // A = diag(Σ_k w_ik + Σ_i w_ik)·X − Σ_k w_ik x_k (rows i) − Σ_i w_ik x_i (rows k): two axpys per pair (kernel)
  const acc = grad ? pairAccumulator(X.data, n, p) : undefined;
  const deg = grad ? new Float64Array(n) : undefined;
  const Xd = X.data;
  const kept = new Int32Array(n);
  let value = 0;
  forEachDistanceRow(
    Z,
    (i, row) => {
      let dmin = Number.POSITIVE_INFINITY;
      for (let k = 0; k < n; k++) if (k !== i && row[k]! < dmin) dmin = row[k]!;
      if (!Number.isFinite(dmin)) return;
      const cut = dmin + NCA_SOFTMAX_CUTOFF;
      let Zi = 0;
      let same = 0;
      let m = 0;
      for (let k = 0; k < n; k++) {
        if (k === i || !(row[k]! <= cut)) continue;
        const e = expNonPositive(dmin - row[k]!);
        row[k] = e;
        kept[m++] = k;
        Zi += e;
        if (y[k] === y[i]) same += e;
      }
      const pi = same / Zi;
      value -= pi;
      if (!acc || !deg) return;
      const { idx, wt } = acc;
      let wsum = 0;
      let nz = 0;
      for (let s = 0; s < m; s++) {
        const k = kept[s]!;
        const pik = row[k]! / Zi;
        const w = pi * pik - (y[k] === y[i] ? pik : 0);
        if (w === 0) continue;
        wsum += w;
        deg[k]! += w;
        idx[nz] = k;
        wt[nz++] = w;
      }
      deg[i]! += wsum;
      acc.row(i, nz);
    },
    scratch,
  );
  if (grad && acc && deg) {
    const { a: Ai, b: Bk } = acc.result();
    const A = new Float64Array(n * p);
    for (let i = 0; i < n; i++) {
      const di = deg[i]!;
      for (let j = 0; j < p; j++) A[i * p + j] = Ai[i * p + j]! - Bk[i * p + j]! + di * Xd[i * p + j]!;
    }
    // S = Xᵀ A (p×p); ∂f/∂L = −2 L S
    const S = gemmAtB(X, { rows: n, cols: p, data: A });
    const G = gemm(L, S);
    for (let k = 0; k < G.data.length; k++) grad[k] = -2 * G.data[k]!;
  }
  return value;
}
