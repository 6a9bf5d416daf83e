import { RobustMetricError } from "../errors.js";
import type { Mat } from "./mat.js";

/**
 * Weighted outer-product accumulation S (+)= Σ_i w_i v_i v_iᵀ over the rows v_i of V (n×p), giving p×p. Only
 * the upper triangle is accumulated, then mirrored, so the result is exactly symmetric. With `out` the sum is
 * added to it (scatter matrices are built in pieces); without, a new matrix is returned.
 *
 * @throws RobustMetricError SHAPE_MISMATCH when w or out do not fit V.
 * @example outerSum(differences, weights) // Σ w_ij (x_i − x_j)(x_i − x_j)ᵀ
 */
export function outerSum(v: Mat, w?: ArrayLike<number>, out?: Mat): Mat {
  const n = v.rows;
  const p = v.cols;
  if (w && w.length !== n) {
    throw new RobustMetricError("SHAPE_MISMATCH", `outerSum: ${w.length} weights for ${n} vectors`);
  }
  if (out && (out.rows !== p || out.cols !== p)) {
    throw new RobustMetricError(
      "SHAPE_MISMATCH",
      `outerSum: output is ${out.rows}×${out.cols}, expected ${p}×${p}`,
    );
  }
  const acc = new Float64Array(p * p);
  const V = v.data;
  for (let r = 0; r < n; r++) {
    const wr = w ? w[r]! : 1;
    if (wr === 0) continue;
    const o = r * p;
    for (let i = 0; i < p; i++) {
      const a = wr * V[o + i]!;
      if (a === 0) continue;
      const row = i * p;
      for (let j = i; j < p; j++) acc[row + j]! += a * V[o + j]!;
    }
  }
  const res = out ?? { rows: p, cols: p, data: new Float64Array(p * p) };
  const R = res.data;
  for (let i = 0; i < p; i++) {
    for (let j = i; j < p; j++) {
      const s = acc[i * p + j]!;
      R[i * p + j]! += s;
      if (j !== i) R[j * p + i]! += s;
    }
  }
  return res;
}

/** XᵀX (p×p, exactly symmetric). */
export function syrk(x: Mat): Mat {
  return outerSum(x);
}
