import { RobustMetricError } from "../errors.js";
import type { Mat } from "./mat.js";

/**
 * Cholesky factor: lower-triangular L with A = LLᵀ for symmetric positive definite A.
 *
 * @throws RobustMetricError SHAPE_MISMATCH for a non-square matrix, NUMERICAL naming the pivot when A is not
 *   positive definite (or not finite).
 * @example cholesky(fromRows([[4, 2], [2, 3]])) // [[2, 0], [1, √2]]
 */
export function cholesky(a: Mat): Mat {
  const n = a.rows;
  if (a.cols !== n)
    throw new RobustMetricError("SHAPE_MISMATCH", `cholesky needs a square matrix, got ${a.rows}×${a.cols}`);
  const A = a.data;
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let s = A[j * n + j]!;
    for (let k = 0; k < j; k++) s -= L[j * n + k]! * L[j * n + k]!;
    if (!(s > 0) || !Number.isFinite(s)) {
      throw new RobustMetricError(
        "NUMERICAL",
        `cholesky: matrix is not positive definite (pivot ${j} is ${s})`,
      );
    }
    const d = Math.sqrt(s);
    L[j * n + j] = d;
    for (let i = j + 1; i < n; i++) {
      let t = A[i * n + j]!;
      for (let k = 0; k < j; k++) t -= L[i * n + k]! * L[j * n + k]!;
      L[i * n + j] = t / d;
    }
  }
  return { rows: n, cols: n, data: L };
}

/**
 * Solves A X = B for symmetric positive definite A by Cholesky (forward then back substitution per column).
 *
 * @throws RobustMetricError SHAPE_MISMATCH quoting both shapes; NUMERICAL if A is not positive definite.
 */
export function solveSpd(a: Mat, b: Mat): Mat {
  if (a.rows !== b.rows) {
    throw new RobustMetricError(
      "SHAPE_MISMATCH",
      `solveSpd: A is ${a.rows}×${a.cols}, B is ${b.rows}×${b.cols}`,
    );
  }
  const L = cholesky(a).data;
  const n = a.rows;
  const m = b.cols;
  const X = b.data.slice();
  for (let c = 0; c < m; c++) {
    for (let i = 0; i < n; i++) {
      let s = X[i * m + c]!;
      for (let k = 0; k < i; k++) s -= L[i * n + k]! * X[k * m + c]!;
      X[i * m + c] = s / L[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = X[i * m + c]!;
      for (let k = i + 1; k < n; k++) s -= L[k * n + i]! * X[k * m + c]!;
      X[i * m + c] = s / L[i * n + i]!;
    }
  }
  return { rows: n, cols: m, data: X };
}
