import { RobustMetricError } from "../errors.js";
import { tridiagonalQlWasm } from "./eigh-kernel.js";
import { assertFinite, type Mat, transpose } from "./mat.js";

/** Eigen-decomposition of a symmetric matrix: values ascending, column k of `vectors` belongs to values[k]. */
export interface EighResult {
  values: Float64Array;
  vectors: Mat;
}

function hypot(x: number, y: number): number {
  const a = Math.abs(x);
  const b = Math.abs(y);
  if (a > b) {
    const t = b / a;
    return a * Math.sqrt(1 + t * t);
  }
  if (b === 0) return 0;
  const t = a / b;
  return b * Math.sqrt(1 + t * t);
}

/**
 * Symmetric eigendecomposition A = V diag(λ) Vᵀ: Householder reduction to tridiagonal form, then the implicit
 * QL algorithm with Wilkinson-type shifts (the EISPACK tred2/tql2 pair). Eigenvalues ascending, eigenvectors
 * orthonormal to rounding (‖VᵀV − I‖ ~ 1e−15·n). Both triangles of A are read, so pass an exactly symmetric
 * matrix (symmetrize first if in doubt).
 *
 * @throws RobustMetricError SHAPE_MISMATCH for a non-square matrix, NUMERICAL for non-finite entries or if QL
 *   fails to converge (60 sweeps for one eigenvalue; never seen on finite input).
 * @example
 * const { values, vectors } = eigh(fromRows([[2, 1], [1, 2]])); // values [1, 3]
 */
export function eigh(a: Mat): EighResult {
  const n = a.rows;
  if (a.cols !== n)
    throw new RobustMetricError("SHAPE_MISMATCH", `eigh needs a square matrix, got ${a.rows}×${a.cols}`);
  assertFinite(a, "eigh input");
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 0) return { values: d, vectors: { rows: 0, cols: 0, data: a.data.slice() } };
  // both stages work on the transpose of the classic V (see tred2): QL rotates pairs of eigenvector columns of V,
  // contiguous rows of W = Vᵀ
  const W = transpose(a).data;
  // the WebAssembly kernels when available (same operations, same bits), else the JavaScript ones below
  if (!tridiagonalQlWasm(n, W, d, e, qlFailed(n))) {
    tred2(n, W, d, e);
    tql2(n, W, d, e);
  }
  // ascending order, ties by original position so the result is deterministic
  const order = ascendingOrder(d);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const src = order[k]!;
    values[k] = d[src]!;
    for (let i = 0; i < n; i++) vectors[i * n + k] = W[src * n + i]!;
  }
  return { values, vectors: { rows: n, cols: n, data: vectors } };
}

/** Indices sorting d ascending, ties by index (insertion sort: n is a matrix dimension, d often nearly sorted). */
function ascendingOrder(d: Float64Array): Int32Array {
  const order = new Int32Array(d.length);
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    let j = i;
    // earlier indices come first among equal values, so only strictly larger values move up
    while (j > 0 && d[order[j - 1]!]! > v) {
      order[j] = order[j - 1]!;
      j--;
    }
    order[j] = i;
  }
  return order;
}

/**
 * Householder tridiagonalisation (EISPACK tred2) on the TRANSPOSE: T[c·n + r] holds V[r][c], so the loops that
 * walk a column of V walk a contiguous row of T; on return T is Vᵀ, the rows tql2 rotates. Same operations in the
 * same order as on V, so the same bits.
 */
function tred2(n: number, T: Float64Array, d: Float64Array, e: Float64Array): void {
  for (let j = 0; j < n; j++) d[j] = T[j * n + (n - 1)]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = T[j * n + (i - 1)]!;
        T[j * n + i] = 0;
        T[i * n + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] = d[k]! / scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        T[i * n + j] = f;
        g = e[j]! + T[j * n + j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += T[j * n + k]! * d[k]!;
          e[k] = e[k]! + T[j * n + k]! * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] = e[j]! / h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] = e[j]! - hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k <= i - 1; k++) T[j * n + k] = T[j * n + k]! - (f * e[k]! + g * d[k]!);
        d[j] = T[j * n + (i - 1)]!;
        T[j * n + i] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    T[i * n + (n - 1)] = T[i * n + i]!;
    T[i * n + i] = 1;
    const h = d[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = T[(i + 1) * n + k]! / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += T[(i + 1) * n + k]! * T[j * n + k]!;
        for (let k = 0; k <= i; k++) T[j * n + k] = T[j * n + k]! - g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) T[(i + 1) * n + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = T[j * n + (n - 1)]!;
    T[j * n + (n - 1)] = 0;
  }
  T[(n - 1) * n + (n - 1)] = 1;
  e[0] = 0;
}

function qlFailed(n: number): (l: number) => never {
  return (l) => {
    throw new RobustMetricError(
      "NUMERICAL",
      `eigh: QL iteration did not converge for eigenvalue ${l} of ${n}`,
    );
  };
}

/** Implicit QL on the tridiagonal (d, e); W holds eigenvectors as ROWS (the transpose of tred2's V). */
function tql2(n: number, W: Float64Array, d: Float64Array, e: Float64Array): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]!) > eps * tst1) m++;
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) qlFailed(n)(l);
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i] = d[i]! - h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          const r0 = i * n;
          const r1 = r0 + n;
          for (let k = 0; k < n; k++) {
            const w1 = W[r1 + k]!;
            const w0 = W[r0 + k]!;
            W[r1 + k] = s * w0 + c * w1;
            W[r0 + k] = c * w0 - s * w1;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}
