import { RobustMetricError } from "../errors.js";
import { type Mat, transpose } from "./mat.js";
import { gemmWasm } from "./wasm-linalg.js";

/** Below this many multiply-adds the copies into WebAssembly memory cost more than the kernel saves. */
const WASM_MIN_WORK = 1 << 15;

function out(rows: number, cols: number, given: Mat | undefined, what: string): Mat {
  if (!given) return { rows, cols, data: new Float64Array(rows * cols) };
  if (given.rows !== rows || given.cols !== cols) {
    throw new RobustMetricError(
      "SHAPE_MISMATCH",
      `${what}: output is ${given.rows}×${given.cols}, expected ${rows}×${cols}`,
    );
  }
  return given;
}

/**
 * C = A·B (A m×k, B k×n).
 *
 * @throws RobustMetricError SHAPE_MISMATCH quoting both shapes.
 * @example gemm(fromRows([[1, 2]]), fromRows([[3], [4]])) // [[11]]
 */
export function gemm(a: Mat, b: Mat, o?: Mat): Mat {
  if (a.cols !== b.rows) {
    throw new RobustMetricError("SHAPE_MISMATCH", `gemm: A is ${a.rows}×${a.cols}, B is ${b.rows}×${b.cols}`);
  }
  const c = out(a.rows, b.cols, o, "gemm");
  if (a.rows * a.cols * b.cols >= WASM_MIN_WORK && gemmWasm(a.data, b.data, c.data, a.rows, a.cols, b.cols))
    return c;
  // Packing Bᵀ once makes every entry a contiguous dot product (the register-blocked gemmABt kernel).
  return gemmABtJs(a, transpose(b), c);
}

/**
 * C = A·Bᵀ (A m×k, B n×k): every entry is a dot product of two rows, computed in 2×2 register blocks with four
 * accumulators so that each loaded value is used twice.
 *
 * @throws RobustMetricError SHAPE_MISMATCH quoting both shapes.
 * @example gemmABt(X, L) // X·Lᵀ, the transform of a Mahalanobis metric
 */
export function gemmABt(a: Mat, b: Mat, o?: Mat): Mat {
  if (a.cols !== b.cols) {
    throw new RobustMetricError(
      "SHAPE_MISMATCH",
      `gemmABt: A is ${a.rows}×${a.cols}, B is ${b.rows}×${b.cols}`,
    );
  }
  const c = out(a.rows, b.rows, o, "gemmABt");
  if (a.rows * a.cols * b.rows >= WASM_MIN_WORK) {
    const bt = transpose(b);
    if (gemmWasm(a.data, bt.data, c.data, a.rows, a.cols, b.rows)) return c;
  }
  return gemmABtJs(a, b, c);
}

/**
 * The JavaScript kernel of C = A·Bᵀ: every entry a dot product Σ_t A_it·B_jt in ascending t — the order of the
 * wasm kernel, so both give the same bits.
 */
function gemmABtJs(a: Mat, b: Mat, c: Mat): Mat {
  const m = a.rows;
  const n = b.rows;
  const k = a.cols;
  const A = a.data;
  const B = b.data;
  const C = c.data;
  let i = 0;
  for (; i + 2 <= m; i += 2) {
    const a0 = i * k;
    const a1 = a0 + k;
    let j = 0;
    for (; j + 2 <= n; j += 2) {
      const b0 = j * k;
      const b1 = b0 + k;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let p = 0; p < k; p++) {
        const x0 = A[a0 + p]!;
        const x1 = A[a1 + p]!;
        const y0 = B[b0 + p]!;
        const y1 = B[b1 + p]!;
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      C[i * n + j] = s00;
      C[i * n + j + 1] = s01;
      C[(i + 1) * n + j] = s10;
      C[(i + 1) * n + j + 1] = s11;
    }
    for (; j < n; j++) {
      const b0 = j * k;
      let s0 = 0;
      let s1 = 0;
      for (let p = 0; p < k; p++) {
        s0 += A[a0 + p]! * B[b0 + p]!;
        s1 += A[a1 + p]! * B[b0 + p]!;
      }
      C[i * n + j] = s0;
      C[(i + 1) * n + j] = s1;
    }
  }
  for (; i < m; i++) {
    const a0 = i * k;
    for (let j = 0; j < n; j++) {
      const b0 = j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += A[a0 + p]! * B[b0 + p]!;
      C[i * n + j] = s;
    }
  }
  return c;
}

/**
 * C = Aᵀ·B (A k×m, B k×n), accumulated row by row of A and B (rank-one updates), so neither is transposed.
 *
 * @throws RobustMetricError SHAPE_MISMATCH quoting both shapes.
 */
export function gemmAtB(a: Mat, b: Mat, o?: Mat): Mat {
  if (a.rows !== b.rows) {
    throw new RobustMetricError(
      "SHAPE_MISMATCH",
      `gemmAtB: A is ${a.rows}×${a.cols}, B is ${b.rows}×${b.cols}`,
    );
  }
  const m = a.cols;
  const n = b.cols;
  const c = out(m, n, o, "gemmAtB");
  if (a.rows * m * n >= WASM_MIN_WORK && gemmWasm(transpose(a).data, b.data, c.data, m, a.rows, n)) return c;
  const C = c.data;
  C.fill(0);
  const A = a.data;
  const B = b.data;
  // two rank-one updates per pass over C, each entry still summed in row order (the same bits as one at a time)
  let r = 0;
  for (; r + 2 <= a.rows; r += 2) {
    const ao = r * m;
    const bo = r * n;
    for (let i = 0; i < m; i++) {
      const av0 = A[ao + i]!;
      const av1 = A[ao + m + i]!;
      const co = i * n;
      for (let j = 0; j < n; j++) {
        let s = C[co + j]!;
        s += av0 * B[bo + j]!;
        s += av1 * B[bo + n + j]!;
        C[co + j] = s;
      }
    }
  }
  for (; r < a.rows; r++) {
    const ao = r * m;
    const bo = r * n;
    for (let i = 0; i < m; i++) {
      const av = A[ao + i]!;
      const co = i * n;
      for (let j = 0; j < n; j++) C[co + j]! += av * B[bo + j]!;
    }
  }
  return c;
}

/** Dot product of the first n entries of x and y. */
export function dot(x: ArrayLike<number>, y: ArrayLike<number>, n = x.length): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i]! * y[i]!;
  return s;
}
