// Per-triplet half-space distances ε̃ (reference/certification.md §1.2, perturbation-loss.md §1.3) and the shared
// state every certificate and attack of src/robust works on: the training set, M, U = X·M, q_i = x_iᵀMx_i, the
// classifier's transformed rows and the bounds on rounding errors that keep the certificates sound in float64.
import { RobustMetricError } from "../errors.js";
import { sqDistances } from "../linalg/distance.js";
import { gemm } from "../linalg/gemm.js";
import { assertShape, type Mat } from "../linalg/mat.js";
import { MahalanobisMetric } from "../metric/mahalanobis.js";
import { KNeighborsClassifier } from "../neighbors/knn.js";
import {
  adversarialMargin,
  closestAdversarialExample,
  type TripletIndices,
} from "../objectives/perturbation.js";

// The same bindings as src/objectives: ε̃(x⁺, x⁻, z; M) is the adversarial margin with z as the anchor.
export { adversarialMargin, closestAdversarialExample };

const UNIT = 2 ** -53;

/**
 * ε̃(x⁺, x⁻, z; M) = [d_M(z,x⁻) − d_M(z,x⁺)]₊ / (2‖M(x⁺ − x⁻)‖₂) (Wang et al. 2020, reference/certification.md
 * §1.2): the Euclidean distance from z to the closed half-space where x⁻ is at least as M-close as x⁺. It is
 * `adversarialMargin(M, z, xPos, xNeg)` (Yang et al., perturbation-loss.md §1.3): 0 when x⁻ is already as close,
 * +∞ when M(x⁺ − x⁻) = 0 and x⁻ is farther. Plain float64 formula, no rounding safeguard (the certificates use
 * {@link CertificationContext.pairMargin}, which is deflated for rounding).
 *
 * @param M symmetric PSD p×p.
 * @throws RobustMetricError SHAPE_MISMATCH for vectors that are not of length p.
 * @example
 * epsTilde(fromRows([[1.5, 0.3], [0.3, 0.8]]), [0, 0], [0.3, 0.9], [1.2, 1.1]); // 1.0090835147829533
 */
export function epsTilde(
  M: Mat,
  z: ArrayLike<number>,
  xPos: ArrayLike<number>,
  xNeg: ArrayLike<number>,
): number {
  return adversarialMargin(M, z, xPos, xNeg);
}

/**
 * ε̃ for every (negative, positive) pair at once, by the batch scheme of certification.md §1.2: with U = X·M and
 * q_i = x_iᵀMx_i precomputed, d_M(z, x_i) = zᵀMz − 2zᵀu_i + q_i and ‖M(x⁺ − x⁻)‖ = ‖u⁺ − u⁻‖; the cross terms
 * U⁻U⁺ᵀ are one GEMM. Plain values (no rounding safeguard, the expansion cancels when z is near a training point):
 * for analysis and plots, not for certificates.
 *
 * @param Xpos positives (a×p), Xneg negatives (b×p).
 * @returns a b×a matrix, entry (j, i) = ε̃(Xpos_i, Xneg_j, z).
 * @throws RobustMetricError SHAPE_MISMATCH for inconsistent sizes.
 * @example
 * epsTildeBatch(M, [0, 0], fromRows([[0.3, 0.9]]), fromRows([[1.2, 1.1]])).data[0]; // 1.0090835147829533
 */
export function epsTildeBatch(M: Mat, z: ArrayLike<number>, Xpos: Mat, Xneg: Mat): Mat {
  const p = M.rows;
  assertShape(M, p, p, "M");
  assertShape(Xpos, undefined, p, "Xpos");
  assertShape(Xneg, undefined, p, "Xneg");
  if (z.length !== p)
    throw new RobustMetricError("SHAPE_MISMATCH", `z has ${z.length} values, M is ${p}×${p}`);
  const Up = gemm(Xpos, M);
  const Un = gemm(Xneg, M);
  const zm = new Float64Array(p);
  for (let r = 0; r < p; r++) {
    let s = 0;
    for (let c = 0; c < p; c++) s += M.data[r * p + c]! * z[c]!;
    zm[r] = s;
  }
  let zMz = 0;
  for (let r = 0; r < p; r++) zMz += z[r]! * zm[r]!;
  const side = (X: Mat, U: Mat) => {
    const d = new Float64Array(X.rows);
    const nu = new Float64Array(X.rows);
    for (let i = 0; i < X.rows; i++) {
      let q = 0;
      let zu = 0;
      let uu = 0;
      for (let c = 0; c < p; c++) {
        const u = U.data[i * p + c]!;
        q += X.data[i * p + c]! * u;
        zu += z[c]! * u;
        uu += u * u;
      }
      d[i] = zMz - 2 * zu + q;
      nu[i] = uu;
    }
    return { d, nu };
  };
  const P = side(Xpos, Up);
  const N = side(Xneg, Un);
  const cross = gemm(Un, { rows: p, cols: Xpos.rows, data: transposeData(Up) });
  const a = Xpos.rows;
  const out = new Float64Array(Xneg.rows * a);
  for (let j = 0; j < Xneg.rows; j++) {
    for (let i = 0; i < a; i++) {
      const num = N.d[j]! - P.d[i]!;
      if (!(num > 0)) continue;
      const den2 = N.nu[j]! + P.nu[i]! - 2 * cross.data[j * a + i]!;
      out[j * a + i] = den2 > 0 ? num / (2 * Math.sqrt(den2)) : Number.POSITIVE_INFINITY;
    }
  }
  return { rows: Xneg.rows, cols: a, data: out };
}

function transposeData(A: Mat): Float64Array {
  const t = new Float64Array(A.rows * A.cols);
  for (let i = 0; i < A.rows; i++)
    for (let j = 0; j < A.cols; j++) t[j * A.rows + i] = A.data[i * A.cols + j]!;
  return t;
}

/**
 * The certified neighbourhood of each anchor of a triplet set (Yang et al. v1 abstract; perturbation-loss.md §1.3
 * item 5): the minimum adversarial margin over the anchor's triplets. Within this Euclidean radius around x_i
 * every triplet ordering d_M(x, x_j) < d_M(x, x_l) of that anchor is certified. Anchors without triplets get +∞.
 *
 * @param X n×p data, `triplets` row indices into X.
 * @returns a length-n array.
 * @throws RobustMetricError SHAPE_MISMATCH / BAD_INPUT for bad sizes or indices.
 * @example
 * certifiedNeighbourhood(M, X, { anchor: [0], target: [2], impostor: [3] })[0];
 */
export function certifiedNeighbourhood(M: Mat, X: Mat, triplets: TripletIndices): Float64Array {
  const p = M.rows;
  assertShape(X, undefined, p, "X");
  const T = triplets.anchor.length;
  if (triplets.target.length !== T || triplets.impostor.length !== T)
    throw new RobustMetricError("SHAPE_MISMATCH", "triplets: anchor, target and impostor lengths differ");
  const out = new Float64Array(X.rows).fill(Number.POSITIVE_INFINITY);
  const row = (i: number) => {
    if (!Number.isInteger(i) || i < 0 || i >= X.rows)
      throw new RobustMetricError("BAD_INPUT", `triplet index ${i} is outside 0..${X.rows - 1}`);
    return X.data.subarray(i * p, (i + 1) * p);
  };
  for (let t = 0; t < T; t++) {
    const i = triplets.anchor[t]!;
    const m = adversarialMargin(M, row(i), row(triplets.target[t]!), row(triplets.impostor[t]!));
    if (m < out[i]!) out[i] = m;
  }
  return out;
}

/** A query point prepared for certification: its squared distances to the training rows and their error bounds. */
export interface PreparedQuery {
  z: Float64Array;
  /** d_M(z, x_i), bit for bit the classifier's. */
  d: Float64Array;
  /** Bounds on |computed d_i − exact d_i| (rounding in the transform and in the sum). */
  dErr: Float64Array;
}

/** Doubles of cached denominator tables a context keeps at most (200 MB). */
export const DENOMINATOR_LIMIT = 25_000_000;

/**
 * Everything the certificates and attacks of a fitted k-NN share: the training set, M (= LᵀL of the metric), U = X·M,
 * q, the classifier's transformed rows (so distances agree bit for bit with {@link KNeighborsClassifier}), and the
 * rounding-error model that keeps lower bounds sound in float64:
 * - every computed squared distance d_i carries a bound dErr_i (error of L·z and L·x_i, ρ‖L‖_F(‖z‖ + ‖x_i‖), and of
 *   the sum of squares);
 * - every computed row a = 2(u_i − u_j) carries a bound 4ρ‖L‖_F²(‖x_i‖ + ‖x_j‖) + ρ‖a‖ on its distance to the exact
 *   2M(x_i − x_j), M = LᵀL exactly;
 * with ρ = 16(p + q + 4)·2⁻⁵³. Lower bounds subtract these errors from numerators and add them to denominators.
 * Training rows whose transformed rows are bitwise equal are tied at every query in the classifier; a pair
 * (positive i, negative j) of such rows is decided by the tie rule (lower index first): ε̃ = 0 if j < i, +∞ if i < j.
 *
 * @example
 * const ctx = CertificationContext.fromClassifier(knn);
 * const r = knnCertifiedRadius(ctx, z, label, 3);
 */
export class CertificationContext {
  readonly n: number;
  readonly p: number;
  readonly nClasses: number;
  readonly X: Mat;
  readonly y: Int32Array;
  readonly metric: MahalanobisMetric;
  /** M = LᵀL, exactly symmetric. */
  readonly M: Mat;
  /** U = X·M (n×p). */
  readonly U: Mat;
  /** q_i = x_iᵀMx_i. */
  readonly q: Float64Array;
  /** The classifier's transformed training rows X·Lᵀ. */
  readonly Z: Mat;
  readonly xNorm: Float64Array;
  /** ‖L‖_F. */
  readonly lNorm: number;
  /** The relative rounding unit of the error model. */
  readonly rho: number;
  /** Training rows of each class. */
  readonly classRows: Int32Array[];
  /** Id of each row's group of bitwise-equal transformed rows (the smallest row index of the group). */
  readonly tieGroup: Int32Array;
  private readonly classifiers = new Map<number, KNeighborsClassifier>();
  private readonly denominatorCache = new Map<number, Float64Array>();
  private denominatorsUsed = 0;
  /**
   * Where {@link classDenominators} takes its tables first, when set: a thread pool's tables, built once in shared
   * memory by all its threads (robust/curves.ts `sharedTableSource`); undefined for a class sends it to the cache.
   */
  sharedDenominators: ((c: number) => Float64Array | undefined) | undefined;

  private constructor(metric: MahalanobisMetric, X: Mat, y: Int32Array, nClasses: number) {
    const { rows: n, cols: p } = X;
    this.n = n;
    this.p = p;
    this.X = X;
    this.y = y;
    this.metric = metric;
    this.nClasses = nClasses;
    this.M = metric.matrix();
    this.U = gemm(X, this.M);
    this.Z = metric.transform(X);
    this.q = new Float64Array(n);
    this.xNorm = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      let t = 0;
      for (let c = 0; c < p; c++) {
        const x = X.data[i * p + c]!;
        s += x * this.U.data[i * p + c]!;
        t += x * x;
      }
      this.q[i] = s;
      this.xNorm[i] = Math.sqrt(t);
    }
    const L = metric.components();
    let l2 = 0;
    for (const v of L.data) l2 += v * v;
    this.lNorm = Math.sqrt(l2);
    this.rho = 16 * (p + metric.q + 4) * UNIT;
    const lists: number[][] = Array.from({ length: nClasses }, () => []);
    for (let i = 0; i < n; i++) lists[y[i]!]!.push(i);
    this.classRows = lists.map((l) => Int32Array.from(l));
    this.tieGroup = new Int32Array(n);
    const seen = new Map<string, number>();
    const zq = this.Z.cols;
    for (let i = 0; i < n; i++) {
      const key = Array.from(this.Z.data.subarray(i * zq, (i + 1) * zq), (v) =>
        Object.is(v, -0) ? 0 : v,
      ).join(",");
      const g = seen.get(key);
      if (g === undefined) {
        seen.set(key, i);
        this.tieGroup[i] = i;
      } else this.tieGroup[i] = g;
    }
  }

  /**
   * A context for the training set (X, y) under `metric`; y holds class codes 0..nClasses−1.
   *
   * @throws RobustMetricError SHAPE_MISMATCH / BAD_INPUT for inconsistent sizes or bad labels.
   */
  static fromMetric(
    metric: MahalanobisMetric,
    X: Mat,
    y: Int32Array,
    nClasses?: number,
  ): CertificationContext {
    if (X.cols !== metric.p)
      throw new RobustMetricError(
        "SHAPE_MISMATCH",
        `X has ${X.cols} columns, the metric expects ${metric.p}`,
      );
    if (X.rows !== y.length)
      throw new RobustMetricError("SHAPE_MISMATCH", `X has ${X.rows} rows but y has ${y.length} labels`);
    if (X.rows < 1) throw new RobustMetricError("BAD_INPUT", "the training set is empty");
    let max = -1;
    for (let i = 0; i < y.length; i++) {
      const c = y[i]!;
      if (!Number.isInteger(c) || c < 0)
        throw new RobustMetricError("BAD_INPUT", `label ${c} at row ${i} is not a class code ≥ 0`);
      max = Math.max(max, c);
    }
    return new CertificationContext(metric, X, y, Math.max(nClasses ?? 0, max + 1));
  }

  /**
   * The context of a fitted classifier (its training data and metric; Euclidean when it has none).
   *
   * @throws RobustMetricError NOT_FITTED.
   */
  static fromClassifier(knn: KNeighborsClassifier): CertificationContext {
    const X = knn.trainX();
    const y = knn.trainY();
    const ctx = CertificationContext.fromMetric(knn.metric ?? MahalanobisMetric.identity(X.cols), X, y);
    return ctx;
  }

  /** A k-NN classifier on this training set and metric (cached per k). */
  classifier(k: number): KNeighborsClassifier {
    let c = this.classifiers.get(k);
    if (!c) {
      c = new KNeighborsClassifier({ k, metric: this.metric }).fit(this.X, this.y, this.nClasses);
      this.classifiers.set(k, c);
    }
    return c;
  }

  /** Predictions of the k-NN classifier (the library's tie rule) for the rows of Q. */
  predict(Q: Mat, k: number): Int32Array {
    return this.classifier(k).predict(Q);
  }

  /** Prediction of one point. */
  predictOne(z: ArrayLike<number>, k: number): number {
    return this.predict({ rows: 1, cols: this.p, data: Float64Array.from(z) }, k)[0]!;
  }

  /**
   * Squared distances from z to every training row (the classifier's computation) and their error bounds.
   *
   * @throws RobustMetricError SHAPE_MISMATCH for a z of the wrong length.
   */
  prepare(z: ArrayLike<number>): PreparedQuery {
    if (z.length !== this.p)
      throw new RobustMetricError(
        "SHAPE_MISMATCH",
        `point has ${z.length} values, the model expects ${this.p}`,
      );
    const zz = Float64Array.from(z);
    for (let c = 0; c < this.p; c++)
      if (!Number.isFinite(zz[c]!)) throw new RobustMetricError("BAD_INPUT", `point value ${c} is ${zz[c]}`);
    const tz = this.metric.transform({ rows: 1, cols: this.p, data: zz });
    const d = sqDistances(tz, this.Z).data;
    let zn = 0;
    for (let c = 0; c < this.p; c++) zn += zz[c]! * zz[c]!;
    zn = Math.sqrt(zn);
    const dErr = new Float64Array(this.n);
    for (let i = 0; i < this.n; i++) {
      const e = this.rho * this.lNorm * (zn + this.xNorm[i]!);
      dErr[i] = 2 * Math.sqrt(d[i]!) * e + e * e + this.rho * d[i]!;
    }
    return { z: zz, d, dErr };
  }

  /** Bound on ‖computed 2(u_i − u_j) − exact 2M(x_i − x_j)‖ given the computed norm `aNorm`. */
  rowError(i: number, j: number, aNorm: number): number {
    return 4 * this.rho * this.lNorm * this.lNorm * (this.xNorm[i]! + this.xNorm[j]!) + this.rho * aNorm;
  }

  /** ‖2(u_i − u_j)‖ by direct differences. */
  rowNorm(i: number, j: number): number {
    const p = this.p;
    const U = this.U.data;
    let s = 0;
    for (let c = 0; c < p; c++) {
      const t = U[i * p + c]! - U[j * p + c]!;
      s += t * t;
    }
    return 2 * Math.sqrt(s);
  }

  /**
   * The sound denominators of {@link pairMargin} for class c, ‖2(u_i − u_j)‖ + its rounding bound, for every row i of
   * the class (by position t in `classRows[c]`) and every training row j, at [t·n + j] (0 where j is in the class).
   * Built on first use and kept, as long as all cached classes stay within `limit` doubles in total (default 25 M =
   * 200 MB); otherwise undefined and callers compute them per query.
   */
  classDenominators(c: number, limit = DENOMINATOR_LIMIT): Float64Array | undefined {
    const shared = this.sharedDenominators?.(c);
    if (shared) return shared;
    const hit = this.denominatorCache.get(c);
    if (hit) return hit;
    const P = this.classRows[c];
    if (!P) return undefined;
    const size = this.n * P.length;
    if (this.denominatorsUsed + size > limit) return undefined;
    const out = new Float64Array(size);
    this.fillDenominators(c, out, 0, P.length);
    this.denominatorsUsed += size;
    this.denominatorCache.set(c, out);
    return out;
  }

  /** Rows [t0, t1) (positions in `classRows[c]`) of class c's denominator table `out` (see classDenominators). */
  fillDenominators(c: number, out: Float64Array, t0: number, t1: number): void {
    const P = this.classRows[c]!;
    for (let t = t0; t < t1; t++) {
      const i = P[t]!;
      for (let j = 0; j < this.n; j++) {
        if (this.y[j] === c) continue;
        const a = this.rowNorm(i, j);
        out[t * this.n + j] = a + this.rowError(i, j, a);
      }
    }
  }

  /**
   * A sound lower bound on ε̃(x_i, x_j, z) for positive i and negative j: the numerator lowered and the denominator
   * raised by their rounding bounds, and the tie rule for bitwise-tied rows. `aNorm` may pass ‖2(u_i − u_j)‖ when
   * known.
   */
  pairMargin(query: PreparedQuery, i: number, j: number, aNorm?: number): number {
    if (this.tieGroup[i] === this.tieGroup[j]) return j < i ? 0 : Number.POSITIVE_INFINITY;
    const raw = query.d[j]! - query.d[i]!;
    const num = raw - query.dErr[i]! - query.dErr[j]! - this.rho * Math.abs(raw);
    if (!(num > 0)) return 0;
    const a = aNorm ?? this.rowNorm(i, j);
    const den = a + this.rowError(i, j, a);
    return den > 0 ? (num / den) * (1 - this.rho) : Number.POSITIVE_INFINITY;
  }
}
