// Neighbourhood Components Analysis (Goldberger, Roweis, Hinton & Salakhutdinov, NIPS 2004, eq. 1–5): with
// z = Lx, p_ij = exp(−‖z_i − z_j‖²) / Σ_{k≠i} exp(−‖z_i − z_k‖²) (p_ii = 0) and p_i = Σ_{j: y_j = y_i} p_ij, minimise
//   f(L) = −Σ_i p_i,   ∂f/∂L = −2L Σ_i Σ_k W_ik x_ik x_ikᵀ,   W_ik = p_i p_ik − [y_k = y_i] p_ik,  x_ik = x_i − x_k.
import { RobustMetricError } from "../errors.js";
import { sqDistances } from "../linalg/distance.js";
import { gemm, gemmABt } from "../linalg/gemm.js";
import type { Mat } from "../linalg/mat.js";

/** Query rows per block: the block's distance rows (BLOCK × n) bound the memory. */
const BLOCK = 256;

/**
 * NCA loss f(L) = −Σ_i p_i and its gradient in L (q×p, row-major, written into `grad`). Softmax rows are computed
 * stably (shifted by their minimum distance); a point whose other points are all infinitely far contributes 0.
 *
 * @throws RobustMetricError SHAPE_MISMATCH when L's size is not a multiple of p or y does not fit X.
 * @example const f = ncaLoss(X, y, L, grad);
 */
export function ncaLoss(X: Mat, y: Int32Array, L: Mat, grad?: Float64Array): number {
  const { rows: n, cols: p } = X;
  if (L.cols !== p)
    throw new RobustMetricError("SHAPE_MISMATCH", `L is ${L.rows}×${L.cols}, data has ${p} columns`);
  if (y.length !== n)
    throw new RobustMetricError("SHAPE_MISMATCH", `X has ${n} rows but y has ${y.length} labels`);
  const Z = gemmABt(X, L);
  const A = grad ? new Float64Array(n * p) : undefined; // rows a_i with S = Σ_i x_i a_iᵀ
  const Xd = X.data;
  let value = 0;
  for (let b0 = 0; b0 < n; b0 += BLOCK) {
    const b1 = Math.min(n, b0 + BLOCK);
    const D = sqDistances(
      { rows: b1 - b0, cols: Z.cols, data: Z.data.subarray(b0 * Z.cols, b1 * Z.cols) },
      Z,
    ).data;
    for (let r = 0; r < b1 - b0; r++) {
      const i = b0 + r;
      const row = D.subarray(r * n, (r + 1) * n);
      let dmin = Number.POSITIVE_INFINITY;
      for (let k = 0; k < n; k++) if (k !== i && row[k]! < dmin) dmin = row[k]!;
      if (!Number.isFinite(dmin)) continue;
      let Zi = 0;
      let same = 0;
      for (let k = 0; k < n; k++) {
        if (k === i) continue;
        const e = Math.exp(dmin - row[k]!);
        row[k] = e;
        Zi += e;
        if (y[k] === y[i]) same += e;
      }
      const pi = same / Zi;
      value -= pi;
      if (!A) continue;
      for (let k = 0; k < n; k++) {
        if (k === i) continue;
        const pik = row[k]! / Zi;
        const w = pi * pik - (y[k] === y[i] ? pik : 0);
        if (w === 0) continue;
        for (let j = 0; j < p; j++) {
          const t = w * (Xd[i * p + j]! - Xd[k * p + j]!);
          A[i * p + j]! += t;
          A[k * p + j]! -= t;
        }
      }
    }
  }
  if (grad && A) {
    // S = Xᵀ A (p×p); ∂f/∂L = −2 L S
    const S = new Float64Array(p * p);
    for (let i = 0; i < n; i++) {
      for (let a = 0; a < p; a++) {
        const xa = Xd[i * p + a]!;
        if (xa === 0) continue;
        for (let b = 0; b < p; b++) S[a * p + b]! += xa * A[i * p + b]!;
      }
    }
    const G = gemm(L, { rows: p, cols: p, data: S });
    for (let k = 0; k < G.data.length; k++) grad[k] = -2 * G.data[k]!;
  }
  return value;
}
