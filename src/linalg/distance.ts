import { RobustMetricError } from "../errors.js";
import type { Mat } from "./mat.js";

/**
 * Squared Euclidean distances between the rows of A (m×d) and of B (n×d), by direct differences: exact to
 * rounding for points far from the origin, unlike ‖a‖² + ‖b‖² − 2aᵀb, which cancels catastrophically there.
 * Blocked over rows of B so the block stays in cache while the rows of A stream by.
 *
 * @throws RobustMetricError SHAPE_MISMATCH quoting both shapes.
 * @example sqDistances(X, X) // n×n, zero diagonal
 */
export function sqDistances(a: Mat, b: Mat, out?: Mat): Mat {
  if (a.cols !== b.cols) {
    throw new RobustMetricError(
      "SHAPE_MISMATCH",
      `sqDistances: A is ${a.rows}×${a.cols}, B is ${b.rows}×${b.cols}`,
    );
  }
  const m = a.rows;
  const n = b.rows;
  const d = a.cols;
  if (out && (out.rows !== m || out.cols !== n)) {
    throw new RobustMetricError(
      "SHAPE_MISMATCH",
      `sqDistances: output is ${out.rows}×${out.cols}, expected ${m}×${n}`,
    );
  }
  const res = out ?? { rows: m, cols: n, data: new Float64Array(m * n) };
  const A = a.data;
  const B = b.data;
  const C = res.data;
  const block = Math.max(8, Math.floor(4096 / Math.max(1, d)));
  for (let j0 = 0; j0 < n; j0 += block) {
    const j1 = Math.min(n, j0 + block);
    for (let i = 0; i < m; i++) {
      const ao = i * d;
      const co = i * n;
      let j = j0;
      for (; j + 2 <= j1; j += 2) {
        const b0 = j * d;
        const b1 = b0 + d;
        let s0 = 0;
        let s1 = 0;
        for (let k = 0; k < d; k++) {
          const x = A[ao + k]!;
          const t0 = x - B[b0 + k]!;
          const t1 = x - B[b1 + k]!;
          s0 += t0 * t0;
          s1 += t1 * t1;
        }
        C[co + j] = s0;
        C[co + j + 1] = s1;
      }
      for (; j < j1; j++) {
        const bo = j * d;
        let s = 0;
        for (let k = 0; k < d; k++) {
          const t = A[ao + k]! - B[bo + k]!;
          s += t * t;
        }
        C[co + j] = s;
      }
    }
  }
  return res;
}
