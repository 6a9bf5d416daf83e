import { RobustMetricError } from "../errors.js";
import { sqDistances } from "../linalg/distance.js";
import { eigh } from "../linalg/eigh.js";
import { gemmABt, gemmAtB } from "../linalg/gemm.js";
import { assertFinite, assertShape, eye, type Mat } from "../linalg/mat.js";
import { mirrorUpper } from "../linalg/sym.js";

/**
 * A Mahalanobis (pseudo-)metric d²(x, y) = (x − y)ᵀ M (x − y) with M = LᵀL ⪰ 0, L of size q×p (the paper
 * convention: the feature map is x ↦ Lx, so `transform(X) = X·Lᵀ`). Stored as L; M is formed on request.
 * Distances are computed in the transformed space by direct differences, never by ‖a‖² + ‖b‖² − 2aᵀb.
 *
 * @example
 * const metric = MahalanobisMetric.fromM(fromRows([[2, 0], [0, 1]]));
 * metric.distance([0, 0], [1, 1], { squared: true }); // 3
 */
export class MahalanobisMetric {
  /** Input dimension. */
  readonly p: number;
  /** Number of rows of L (the dimension of the transformed space). */
  readonly q: number;
  private readonly L: Mat;

  private constructor(L: Mat) {
    this.L = L;
    this.p = L.cols;
    this.q = L.rows;
  }

  /**
   * The metric with components L (q×p), M = LᵀL. L is copied.
   *
   * @throws RobustMetricError BAD_INPUT when L has no columns; NUMERICAL naming a non-finite entry.
   */
  static fromL(L: Mat): MahalanobisMetric {
    if (L.cols < 1 || L.rows < 1)
      throw new RobustMetricError("BAD_INPUT", `L must be non-empty, got ${L.rows}×${L.cols}`);
    assertFinite(L, "L");
    return new MahalanobisMetric({ rows: L.rows, cols: L.cols, data: L.data.slice() });
  }

  /**
   * The metric of a symmetric PSD matrix M (p×p). Symmetry is checked to `tol`·max|M|; eigenvalues down to
   * −tol·max(1, λ_max) are accepted and clipped to 0 (rounding in a learner's last step), anything more negative
   * is an error. L = diag(√λ)·Uᵀ over all p eigenpairs, so q = p and `components()` is square.
   *
   * @param opts.tol relative tolerance, default 1e−10.
   * @throws RobustMetricError SHAPE_MISMATCH (not square), NUMERICAL (non-finite), BAD_INPUT quoting the
   *   asymmetric entry pair or the negative eigenvalue.
   */
  static fromM(M: Mat, opts: { tol?: number } = {}): MahalanobisMetric {
    const tol = opts.tol ?? 1e-10;
    const p = M.rows;
    assertShape(M, p, p, "M");
    if (p < 1) throw new RobustMetricError("BAD_INPUT", "M must be non-empty");
    assertFinite(M, "M");
    let maxAbs = 0;
    for (const v of M.data) maxAbs = Math.max(maxAbs, Math.abs(v));
    for (let i = 0; i < p; i++) {
      for (let j = i + 1; j < p; j++) {
        const a = M.data[i * p + j]!;
        const b = M.data[j * p + i]!;
        if (Math.abs(a - b) > tol * Math.max(1, maxAbs)) {
          throw new RobustMetricError(
            "BAD_INPUT",
            `M is not symmetric: M[${i}][${j}] = ${a} but M[${j}][${i}] = ${b}`,
          );
        }
      }
    }
    const sym: Mat = { rows: p, cols: p, data: M.data.slice() };
    for (let i = 0; i < p; i++) {
      for (let j = i + 1; j < p; j++) {
        const v = 0.5 * (sym.data[i * p + j]! + sym.data[j * p + i]!);
        sym.data[i * p + j] = v;
        sym.data[j * p + i] = v;
      }
    }
    const { values, vectors } = eigh(sym);
    const lmax = values[p - 1]!;
    const floor = -tol * Math.max(1, Math.abs(lmax));
    if (values[0]! < floor) {
      throw new RobustMetricError(
        "BAD_INPUT",
        `M is not positive semi-definite: smallest eigenvalue ${values[0]}`,
      );
    }
    const L = new Float64Array(p * p);
    for (let k = 0; k < p; k++) {
      const s = Math.sqrt(Math.max(0, values[k]!));
      if (s === 0) continue;
      for (let j = 0; j < p; j++) L[k * p + j] = s * vectors.data[j * p + k]!;
    }
    return new MahalanobisMetric({ rows: p, cols: p, data: L });
  }

  /** The Euclidean metric on R^p (L = I). */
  static identity(p: number): MahalanobisMetric {
    if (!Number.isInteger(p) || p < 1)
      throw new RobustMetricError("BAD_INPUT", `dimension must be a positive integer, got ${p}`);
    return new MahalanobisMetric(eye(p));
  }

  /**
   * d(x, y) = ‖L(x − y)‖ (or its square with `squared`).
   *
   * @throws RobustMetricError SHAPE_MISMATCH when x or y do not have p entries.
   */
  distance(x: ArrayLike<number>, y: ArrayLike<number>, opts: { squared?: boolean } = {}): number {
    const { p, q } = this;
    if (x.length !== p || y.length !== p) {
      throw new RobustMetricError(
        "SHAPE_MISMATCH",
        `distance: points have ${x.length} and ${y.length} values, the metric ${p}`,
      );
    }
    const L = this.L.data;
    let s = 0;
    for (let r = 0; r < q; r++) {
      let t = 0;
      const o = r * p;
      for (let j = 0; j < p; j++) t += L[o + j]! * (x[j]! - y[j]!);
      s += t * t;
    }
    if (!Number.isFinite(s)) return this.distanceScaled(x, y, opts.squared === true);
    return opts.squared ? s : Math.sqrt(s);
  }

  /**
   * distance() when the direct sum overflowed (coordinates or differences beyond ~1e154): the same sum on
   * differences scaled by the exact power 2^−600, so no intermediate is Infinity or Infinity·0 = NaN; the result is
   * Infinity only when the distance itself is not representable.
   */
  private distanceScaled(x: ArrayLike<number>, y: ArrayLike<number>, squared: boolean): number {
    const { p, q } = this;
    const L = this.L.data;
    const down = 2 ** -600;
    let s = 0;
    for (let r = 0; r < q; r++) {
      let t = 0;
      const o = r * p;
      for (let j = 0; j < p; j++) t += L[o + j]! * (x[j]! * down - y[j]! * down);
      s += t * t;
    }
    return squared ? s * 2 ** 600 * 2 ** 600 : Math.sqrt(s) * 2 ** 600;
  }

  /** Squared distances between the rows of A (m×p) and of B (n×p): an m×n matrix, exact (direct differences). */
  pairwiseSquared(A: Mat, B: Mat): Mat {
    return sqDistances(this.transform(A), this.transform(B));
  }

  /**
   * X·Lᵀ: the rows of X mapped to the space where this metric is Euclidean.
   *
   * @throws RobustMetricError SHAPE_MISMATCH when X does not have p columns.
   */
  transform(X: Mat): Mat {
    if (X.cols !== this.p) {
      throw new RobustMetricError(
        "SHAPE_MISMATCH",
        `transform: data has ${X.cols} columns, the metric expects ${this.p}`,
      );
    }
    return gemmABt(X, this.L);
  }

  /** M = LᵀL (a new p×p matrix, exactly symmetric). */
  matrix(): Mat {
    const M = gemmAtB(this.L, this.L);
    mirrorUpper(M.data, this.p);
    return M;
  }

  /** L (a copy), q×p. */
  components(): Mat {
    return { rows: this.q, cols: this.p, data: this.L.data.slice() };
  }

  /** Plain JSON {p, q, L} for the model file. */
  toJSON(): { p: number; q: number; L: number[][] } {
    const L: number[][] = [];
    for (let r = 0; r < this.q; r++) L.push(Array.from(this.L.data.subarray(r * this.p, (r + 1) * this.p)));
    return { p: this.p, q: this.q, L };
  }

  /**
   * Reads {p, q, L} back, validating every field.
   *
   * @throws RobustMetricError BAD_INPUT naming the field, e.g. "metric.L[2][1] is not a finite number".
   */
  static fromJSON(o: unknown): MahalanobisMetric {
    const bad = (msg: string): never => {
      throw new RobustMetricError("BAD_INPUT", msg);
    };
    if (typeof o !== "object" || o === null || Array.isArray(o))
      return bad("metric must be an object {p, q, L}");
    const { p, q, L } = o as Record<string, unknown>;
    if (typeof p !== "number" || !Number.isInteger(p) || p < 1)
      return bad(`metric.p must be a positive integer, got ${JSON.stringify(p)}`);
    if (typeof q !== "number" || !Number.isInteger(q) || q < 1)
      return bad(`metric.q must be a positive integer, got ${JSON.stringify(q)}`);
    if (!Array.isArray(L)) return bad("metric.L must be an array of rows");
    if (L.length !== q) return bad(`metric.L has ${L.length} rows but metric.q is ${q}`);
    const data = new Float64Array(p * q);
    L.forEach((row, r) => {
      if (!Array.isArray(row)) bad(`metric.L[${r}] must be an array`);
      if (row.length !== p) bad(`metric.L[${r}] has ${row.length} values but metric.p is ${p}`);
      (row as unknown[]).forEach((v, c) => {
        if (typeof v !== "number" || !Number.isFinite(v))
          bad(`metric.L[${r}][${c}] is not a finite number: ${JSON.stringify(v)}`);
        data[r * p + c] = v as number;
      });
    });
    return new MahalanobisMetric({ rows: q, cols: p, data });
  }
}
