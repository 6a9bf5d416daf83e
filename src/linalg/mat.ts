import { RobustMetricError } from "../errors.js";

/**
 * A dense row-major float64 matrix: element (i, j) is `data[i * cols + j]`. Kernels take and return `Mat`s and
 * work on the flat `data` array directly; there are no per-element getters.
 */
export interface Mat {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

/** A rows×cols matrix of zeros. Throws SHAPE_MISMATCH for negative or non-integer sizes. */
export function zeros(rows: number, cols: number): Mat {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new RobustMetricError("SHAPE_MISMATCH", `invalid matrix shape ${rows}×${cols}`);
  }
  return { rows, cols, data: new Float64Array(rows * cols) };
}

/** The n×n identity. */
export function eye(n: number): Mat {
  const m = zeros(n, n);
  for (let i = 0; i < n; i++) m.data[i * n + i] = 1;
  return m;
}

/** Wraps a flat array (copied unless `copy` is false) as a rows×cols matrix, checking its length. */
export function fromFlat(rows: number, cols: number, data: ArrayLike<number>, copy = true): Mat {
  if (data.length !== rows * cols) {
    throw new RobustMetricError(
      "SHAPE_MISMATCH",
      `flat data of length ${data.length} cannot be a ${rows}×${cols} matrix (needs ${rows * cols})`,
    );
  }
  const arr = copy || !(data instanceof Float64Array) ? Float64Array.from(data) : data;
  return { rows, cols, data: arr };
}

/** Builds a matrix from an array of equal-length rows. Throws SHAPE_MISMATCH naming the first ragged row. */
export function fromRows(rowsArr: ReadonlyArray<ArrayLike<number>>): Mat {
  const rows = rowsArr.length;
  const cols = rows === 0 ? 0 : rowsArr[0]!.length;
  const m = zeros(rows, cols);
  for (let i = 0; i < rows; i++) {
    const r = rowsArr[i]!;
    if (r.length !== cols) {
      throw new RobustMetricError("SHAPE_MISMATCH", `row ${i} has ${r.length} values, expected ${cols}`);
    }
    for (let j = 0; j < cols; j++) m.data[i * cols + j] = r[j]!;
  }
  return m;
}

/** The matrix as nested arrays (for JSON and tests). */
export function toRows(m: Mat): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < m.rows; i++) out.push(Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
  return out;
}

/** A deep copy. */
export function clone(m: Mat): Mat {
  return { rows: m.rows, cols: m.cols, data: m.data.slice() };
}

/** Aᵀ as a new matrix. */
export function transpose(a: Mat): Mat {
  const { rows, cols, data } = a;
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) t[j * rows + i] = data[o + j]!;
  }
  return { rows: cols, cols: rows, data: t };
}

/** Row i as a view (no copy). */
export function row(m: Mat, i: number): Float64Array {
  return m.data.subarray(i * m.cols, (i + 1) * m.cols);
}

/** A new matrix made of the given rows of `m`, in that order. */
export function selectRows(m: Mat, idx: ArrayLike<number>): Mat {
  const out = zeros(idx.length, m.cols);
  for (let r = 0; r < idx.length; r++) {
    const i = idx[r]!;
    if (!Number.isInteger(i) || i < 0 || i >= m.rows) {
      throw new RobustMetricError("SHAPE_MISMATCH", `row index ${i} out of range for ${m.rows} rows`);
    }
    out.data.set(m.data.subarray(i * m.cols, (i + 1) * m.cols), r * m.cols);
  }
  return out;
}

/** Throws SHAPE_MISMATCH unless `m` is rows×cols (either may be undefined to skip). `what` names the operand. */
export function assertShape(m: Mat, rows: number | undefined, cols: number | undefined, what: string): void {
  if ((rows !== undefined && m.rows !== rows) || (cols !== undefined && m.cols !== cols)) {
    throw new RobustMetricError(
      "SHAPE_MISMATCH",
      `${what} is ${m.rows}×${m.cols}, expected ${rows ?? "any"}×${cols ?? "any"}`,
    );
  }
}

/** Throws NUMERICAL naming the first non-finite entry of `m`. */
export function assertFinite(m: Mat, what: string): void {
  const { data, cols } = m;
  for (let k = 0; k < data.length; k++) {
    const v = data[k]!;
    if (!Number.isFinite(v)) {
      throw new RobustMetricError(
        "NUMERICAL",
        `${what} has a non-finite value ${v} at row ${Math.floor(k / cols)}, column ${k % cols}`,
      );
    }
  }
}
