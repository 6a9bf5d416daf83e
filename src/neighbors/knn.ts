import { RobustMetricError } from "../errors.js";
import { sqDistances } from "../linalg/distance.js";
import type { Mat } from "../linalg/mat.js";
import { type RowTask, rowParallel } from "../linalg/parallel.js";
import type { MahalanobisMetric } from "../metric/mahalanobis.js";

/** Query rows per block: the block's distance matrix (BLOCK × n doubles) stays small whatever n is. */
const BLOCK = 256;

/**
 * Fraction of equal entries. Both arrays must have the same length.
 *
 * @throws RobustMetricError SHAPE_MISMATCH for different lengths or empty input.
 */
export function accuracy(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  if (yTrue.length !== yPred.length || yTrue.length === 0) {
    throw new RobustMetricError(
      "SHAPE_MISMATCH",
      `accuracy: ${yTrue.length} labels vs ${yPred.length} predictions`,
    );
  }
  let c = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) c++;
  return c / yTrue.length;
}

/**
 * k-nearest-neighbour classifier under a Mahalanobis metric; brute force, blocked over query rows, the training
 * set transformed once at fit.
 *
 * Tie rule (as the LMNN and LMNN-PL MATLAB code, `knncl`): each class scores its number of votes among the k
 * nearest plus 0.01 if it is the class of the single nearest neighbour; the highest score wins, remaining ties go
 * to the smallest class code. Neighbours at equal distance are ordered by the lower training index. For odd k
 * the 0.01 bonus only decides exact vote ties; for even k too — e.g. k = 2 with two different classes goes to the
 * nearest neighbour's class, so 2-NN predicts like 1-NN (unlike `knncl`, which silently runs k − 1).
 *
 * @example
 * const knn = new KNeighborsClassifier({ k: 3, metric }).fit(Xtrain, ytrain);
 * knn.score(Xtest, ytest);
 */
export class KNeighborsClassifier {
  readonly k: number;
  readonly metric: MahalanobisMetric | undefined;
  private Z: Mat | undefined;
  private X: Mat | undefined;
  private y: Int32Array | undefined;
  private nClasses = 0;

  /** @param opts.k neighbours (default 3); opts.metric the metric (default Euclidean). */
  constructor(opts: { k?: number; metric?: MahalanobisMetric } = {}) {
    const k = opts.k ?? 3;
    if (!Number.isInteger(k) || k < 1)
      throw new RobustMetricError("BAD_INPUT", `k must be a positive integer, got ${k}`);
    this.k = k;
    this.metric = opts.metric;
  }

  /**
   * Stores the training set (transformed by the metric). y holds class codes 0..C−1; nClasses defaults to
   * max(y) + 1.
   *
   * @throws RobustMetricError SHAPE_MISMATCH (X rows ≠ y length, metric dimension), BAD_INPUT (k > n, bad codes).
   */
  fit(X: Mat, y: Int32Array, nClasses?: number): this {
    if (X.rows !== y.length)
      throw new RobustMetricError("SHAPE_MISMATCH", `fit: X has ${X.rows} rows but y has ${y.length} labels`);
    if (this.k > X.rows)
      throw new RobustMetricError("BAD_INPUT", `k = ${this.k} is larger than the ${X.rows} training points`);
    let max = -1;
    for (let i = 0; i < y.length; i++) {
      const c = y[i]!;
      if (!Number.isInteger(c) || c < 0)
        throw new RobustMetricError("BAD_INPUT", `fit: label ${c} at row ${i} is not a class code ≥ 0`);
      if (c > max) max = c;
    }
    this.nClasses = Math.max(nClasses ?? 0, max + 1);
    this.X = X;
    this.y = y;
    this.Z = this.metric ? this.metric.transform(X) : X;
    return this;
  }

  /** The training data given to fit (untransformed). */
  trainX(): Mat {
    return this.fitted().X;
  }

  /** The training labels given to fit. */
  trainY(): Int32Array {
    return this.fitted().y;
  }

  private fitted(): { X: Mat; Z: Mat; y: Int32Array } {
    if (!this.X || !this.Z || !this.y)
      throw new RobustMetricError("NOT_FITTED", "KNeighborsClassifier used before fit");
    return { X: this.X, Z: this.Z, y: this.y };
  }

  /**
   * The k nearest training points of each row of Q, ascending by (squared distance, training index).
   *
   * @returns indices and squared distances, both rows×k, row-major.
   */
  kneighbors(Q: Mat, k = this.k): { indices: Int32Array; sqDistances: Float64Array } {
    const { X, Z } = this.fitted();
    if (Q.cols !== X.cols) {
      throw new RobustMetricError(
        "SHAPE_MISMATCH",
        `query has ${Q.cols} columns but the training data has ${X.cols}`,
      );
    }
    if (!Number.isInteger(k) || k < 1 || k > X.rows) {
      throw new RobustMetricError(
        "BAD_INPUT",
        `k = ${k} must be between 1 and the ${X.rows} training points`,
      );
    }
    const m = Q.rows;
    const Zq = this.metric ? this.metric.transform(Q) : Q;
    const indices = new Int32Array(m * k);
    const dists = new Float64Array(m * k);
    // query rows are independent: a registered kernel pool may split them among threads (same bits)
    const task = { name: "kneighbors", Q: Zq.data, Z: Z.data, m, n: Z.rows, d: Z.cols, k, indices, dists };
    if (!rowParallel()?.run(task as RowTask))
      KNeighborsClassifier.kneighborsRows(Zq, Z, k, 0, m, indices, dists);
    return { indices, sqDistances: dists };
  }

  /**
   * The k nearest rows of Z of the query rows [r0, r1) of Zq (both already transformed), into those rows of
   * `indices` and `dists` (rows×k): the per-row kernel of {@link kneighbors}, shared with the kernel pool
   * (src/node/kernel-pool.ts) so that a row split gives the same bits.
   *
   * @throws RobustMetricError BAD_INPUT naming the first query row with a non-finite distance among its k nearest.
   * @example KNeighborsClassifier.kneighborsRows(Zq, Z, 3, 0, Zq.rows, indices, dists)
   */
  static kneighborsRows(
    Zq: Mat,
    Z: Mat,
    k: number,
    r0: number,
    r1: number,
    indices: Int32Array,
    dists: Float64Array,
  ): void {
    const n = Z.rows;
    for (let b0 = r0; b0 < r1; b0 += BLOCK) {
      const b1 = Math.min(r1, b0 + BLOCK);
      const sub: Mat = { rows: b1 - b0, cols: Zq.cols, data: Zq.data.subarray(b0 * Zq.cols, b1 * Zq.cols) };
      const D = sqDistances(sub, Z).data;
      for (let r = 0; r < b1 - b0; r++) {
        const o = (b0 + r) * k;
        let filled = 0;
        const row = r * n;
        for (let j = 0; j < n; j++) {
          const d = D[row + j]!;
          // strictly smaller than the current k-th: equal distances keep the lower index already stored
          if (filled === k && !(d < dists[o + k - 1]!)) continue;
          let pos = filled < k ? filled++ : k - 1;
          while (pos > 0 && dists[o + pos - 1]! > d) {
            dists[o + pos] = dists[o + pos - 1]!;
            indices[o + pos] = indices[o + pos - 1]!;
            pos--;
          }
          dists[o + pos] = d;
          indices[o + pos] = j;
        }
        // an Infinity (or NaN) among the k nearest means the ranking is meaningless, not merely far
        for (let t = 0; t < k; t++) {
          if (!Number.isFinite(dists[o + t]!)) {
            throw new RobustMetricError(
              "BAD_INPUT",
              `k-NN: query row ${b0 + r} has a squared distance ${dists[o + t]} to a neighbour (beyond float64): ` +
                "the metric's scale times the data's overflows; standardize the data or check the model's L",
            );
          }
        }
      }
    }
  }

  /** Predicted class codes of the rows of Q (tie rule in the class doc). */
  predict(Q: Mat): Int32Array {
    const { y } = this.fitted();
    const k = this.k;
    const { indices } = this.kneighbors(Q, k);
    const out = new Int32Array(Q.rows);
    const score = new Float64Array(this.nClasses);
    for (let i = 0; i < Q.rows; i++) {
      score.fill(0);
      for (let t = 0; t < k; t++) score[y[indices[i * k + t]!]!]! += 1;
      score[y[indices[i * k]!]!]! += 0.01;
      let best = 0;
      for (let c = 1; c < score.length; c++) if (score[c]! > score[best]!) best = c;
      out[i] = best;
    }
    return out;
  }

  /** Accuracy on (Q, y). */
  score(Q: Mat, y: ArrayLike<number>): number {
    return accuracy(y, this.predict(Q));
  }
}
