// Neighbourhood Components Analysis (Goldberger, Roweis, Hinton & Salakhutdinov, NIPS 2004, eq. 1–5): with
// z = Lx, p_ij = exp(−‖z_i − z_j‖²) / Σ_{k≠i} exp(−‖z_i − z_k‖²) (p_ii = 0) and p_i = Σ_{j: y_j = y_i} p_ij, minimise
//   f(L) = −Σ_i p_i,   ∂f/∂L = −2L Σ_i Σ_k W_ik x_ik x_ikᵀ,   W_ik = p_i p_ik − [y_k = y_i] p_ik,  x_ik = x_i − x_k.
// The double sum is Xᵀ (D − W − Wᵀ) X with D = diag(row sums + column sums of W) = Xᵀ D X − P − Pᵀ, P = Xᵀ (W X):
// one multiply-add per kept pair and coordinate (row i of W X), not two (the row and the column scatter).
import { RobustMetricError } from "../errors.js";
import { forEachDistanceRow } from "../linalg/distance.js";
import { gemm, gemmABt, gemmAtB } from "../linalg/gemm.js";
import type { Mat } from "../linalg/mat.js";
import { NCA_SOFTMAX_CUTOFF, ncaRows } from "./nca-kernel.js";

export { NCA_SOFTMAX_CUTOFF };

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
  // p_i per row, and with the gradient row i of W X and deg = row sums + column sums of W, by the kernels
  const rows = ncaRows(X.data, y, n, p, grad !== undefined);
  const Xd = X.data;
  let value = 0;
  forEachDistanceRow(
    Z,
    (i, row) => {
      value -= rows.row(i, row);
    },
    scratch,
  );
  if (grad) {
    const deg = rows.deg;
    const WX = rows.result();
    // one product Xᵀ [D X | W X] = [Q | P] (p × 2p), then S = Q − P − Pᵀ and ∂f/∂L = −2 L S
    const B = new Float64Array(n * 2 * p);
    for (let i = 0; i < n; i++) {
      const di = deg[i]!;
      for (let j = 0; j < p; j++) {
        B[i * 2 * p + j] = di * Xd[i * p + j]!;
        B[i * 2 * p + p + j] = WX[i * p + j]!;
      }
    }
    const R = gemmAtB(X, { rows: n, cols: 2 * p, data: B }).data;
    const S = new Float64Array(p * p);
    for (let r = 0; r < p; r++)
      for (let c = 0; c < p; c++)
        S[r * p + c] = R[r * 2 * p + c]! - R[r * 2 * p + p + c]! - R[c * 2 * p + p + r]!;
    const G = gemm(L, { rows: p, cols: p, data: S });
    for (let k = 0; k < G.data.length; k++) grad[k] = -2 * G.data[k]!;
  }
  return value;
}
