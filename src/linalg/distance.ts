import { RobustMetricError } from "../errors.js";
import type { Mat } from "./mat.js";
import { rowParallel } from "./parallel.js";
import { mirrorUpper } from "./sym.js";
import { sqDistancesWasm } from "./wasm-linalg.js";

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
  // The same matrix on both sides (training-set distances): compute the upper triangle and mirror it.
  const symmetric = A === B && m === n;
  // rows are independent: a registered kernel pool may compute them on several threads (same bits, mirror included)
  if (rowParallel()?.run({ name: "sqDistances", A, B, C, m, n, d, symmetric })) return res;
  if (m * n * d < WASM_MIN_WORK || !sqDistancesWasm(A, B, C, m, n, d, symmetric)) {
    sqDistancesJs(A, B, C, m, n, d, symmetric);
  }
  if (symmetric) {
    for (let i = 0; i < m; i++) C[i * n + i] = 0;
    mirrorUpper(C, n);
  }
  return res;
}

/** Below this many multiply-adds the copies into WebAssembly memory cost more than they save. */
const WASM_MIN_WORK = 1 << 14;

/**
 * The JavaScript kernel: 2×2 blocks of (row of A, row of B), each distance summed as the wasm kernel sums it — even
 * and odd coordinates in two partial sums, added, then the odd last coordinate — so both give the same bits.
 */
function sqDistancesJs(
  A: Float64Array,
  B: Float64Array,
  C: Float64Array,
  m: number,
  n: number,
  d: number,
  symmetric: boolean,
): void {
  const d2 = d & ~1;
  const block = Math.max(8, Math.floor(4096 / Math.max(1, d)));
  for (let j0 = 0; j0 < n; j0 += block) {
    const j1 = Math.min(n, j0 + block);
    const iEnd = symmetric ? Math.min(m, j1) : m;
    let i = 0;
    for (; i + 2 <= iEnd; i += 2) {
      const a0 = i * d;
      const a1 = a0 + d;
      let j = symmetric ? Math.max(j0, i) : j0;
      for (; j + 2 <= j1; j += 2) {
        const b0 = j * d;
        const b1 = b0 + d;
        let e00 = 0;
        let e01 = 0;
        let e10 = 0;
        let e11 = 0;
        let o00 = 0;
        let o01 = 0;
        let o10 = 0;
        let o11 = 0;
        for (let k = 0; k < d2; k += 2) {
          const x0 = A[a0 + k]!;
          const x1 = A[a1 + k]!;
          const y0 = B[b0 + k]!;
          const y1 = B[b1 + k]!;
          const t00 = x0 - y0;
          const t01 = x0 - y1;
          const t10 = x1 - y0;
          const t11 = x1 - y1;
          e00 += t00 * t00;
          e01 += t01 * t01;
          e10 += t10 * t10;
          e11 += t11 * t11;
          const u0 = A[a0 + k + 1]!;
          const u1 = A[a1 + k + 1]!;
          const v0 = B[b0 + k + 1]!;
          const v1 = B[b1 + k + 1]!;
          const w00 = u0 - v0;
          const w01 = u0 - v1;
          const w10 = u1 - v0;
          const w11 = u1 - v1;
          o00 += w00 * w00;
          o01 += w01 * w01;
          o10 += w10 * w10;
          o11 += w11 * w11;
        }
        let s00 = e00 + o00;
        let s01 = e01 + o01;
        let s10 = e10 + o10;
        let s11 = e11 + o11;
        if (d2 < d) {
          const t00 = A[a0 + d2]! - B[b0 + d2]!;
          const t01 = A[a0 + d2]! - B[b1 + d2]!;
          const t10 = A[a1 + d2]! - B[b0 + d2]!;
          const t11 = A[a1 + d2]! - B[b1 + d2]!;
          s00 += t00 * t00;
          s01 += t01 * t01;
          s10 += t10 * t10;
          s11 += t11 * t11;
        }
        C[i * n + j] = s00;
        C[i * n + j + 1] = s01;
        C[(i + 1) * n + j] = s10;
        C[(i + 1) * n + j + 1] = s11;
      }
      for (; j < j1; j++) {
        C[i * n + j] = rowDist(A, a0, B, j * d, d);
        C[(i + 1) * n + j] = rowDist(A, a1, B, j * d, d);
      }
    }
    for (; i < iEnd; i++) {
      for (let j = symmetric ? Math.max(j0, i) : j0; j < j1; j++)
        C[i * n + j] = rowDist(A, i * d, B, j * d, d);
    }
  }
}

/** One distance, summed in the kernels' order (even and odd coordinates apart, then the odd last one). */
export function rowDist(A: Float64Array, ao: number, B: Float64Array, bo: number, d: number): number {
  let e = 0;
  let o = 0;
  const d2 = d & ~1;
  for (let k = 0; k < d2; k += 2) {
    const t = A[ao + k]! - B[bo + k]!;
    const u = A[ao + k + 1]! - B[bo + k + 1]!;
    e += t * t;
    o += u * u;
  }
  let s = e + o;
  if (d2 < d) {
    const t = A[ao + d2]! - B[bo + d2]!;
    s += t * t;
  }
  return s;
}

/** Rows per block when the full distance matrix would be too large: memory O(DISTANCE_BLOCK·n). */
const DISTANCE_BLOCK = 256;
/** Up to this many points the whole n×n matrix is computed at once (≤ 32 MiB) and its symmetry halves the work. */
const FULL_MATRIX_LIMIT = 2048;

/**
 * Calls `visit(i, row)` for every row i of Z (in order) with its squared distances to all rows, by direct
 * differences. Up to 2048 points the full symmetric matrix is computed once (upper triangle, mirrored: half the
 * work); beyond, in blocks of 256 rows so memory stays O(256·n). `visit` may overwrite the row it is given (it is
 * never read again). `scratch`, when given, keeps the buffer between calls (an optimiser evaluating many metrics).
 *
 * @example forEachDistanceRow(Z, (i, d) => { nearestOf[i] = argminExcept(d, i); });
 */
export function forEachDistanceRow(
  Z: Mat,
  visit: (i: number, d: Float64Array) => void,
  scratch: { buffer?: Float64Array } = {},
): void {
  const n = Z.rows;
  const size = n <= FULL_MATRIX_LIMIT ? n * n : DISTANCE_BLOCK * n;
  if (!scratch.buffer || scratch.buffer.length < size) scratch.buffer = new Float64Array(size);
  const buf = scratch.buffer;
  if (n <= FULL_MATRIX_LIMIT) {
    const D = sqDistances(Z, Z, { rows: n, cols: n, data: buf.subarray(0, n * n) }).data;
    for (let i = 0; i < n; i++) visit(i, D.subarray(i * n, (i + 1) * n));
    return;
  }
  for (let b0 = 0; b0 < n; b0 += DISTANCE_BLOCK) {
    const b1 = Math.min(n, b0 + DISTANCE_BLOCK);
    const block = { rows: b1 - b0, cols: Z.cols, data: Z.data.subarray(b0 * Z.cols, b1 * Z.cols) };
    const D = sqDistances(block, Z, { rows: b1 - b0, cols: n, data: buf.subarray(0, (b1 - b0) * n) }).data;
    for (let r = 0; r < b1 - b0; r++) visit(b0 + r, D.subarray(r * n, (r + 1) * n));
  }
}
