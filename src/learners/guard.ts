import { RobustMetricError } from "../errors.js";
import type { Mat } from "../linalg/mat.js";
import { MahalanobisMetric } from "../metric/mahalanobis.js";
import type { FitOptions, FitResult, Learner, ParamValues } from "./types.js";

/** Data whose spread lies in [2^−20, 2^20] is fitted as given; beyond, it is rescaled (see {@link guarded}). */
const SAFE_EXPONENT = 20;

/**
 * Checks what every learner needs of its training data before any arithmetic: y fits X, at least 2 rows, every
 * value finite, class codes non-negative integers. Returns the spread max |x_ij − mean_j| (0 when all points are
 * identical, which every learner accepts).
 *
 * @throws RobustMetricError SHAPE_MISMATCH or BAD_INPUT naming the row, column or value, and the learner.
 * @example checkFitInput(X, y, "lmnn");
 */
export function checkFitInput(X: Mat, y: Int32Array, learner: string): number {
  const { rows: n, cols: p } = X;
  if (y.length !== n) {
    throw new RobustMetricError("SHAPE_MISMATCH", `${learner}: X has ${n} rows but y has ${y.length} labels`);
  }
  if (n < 2) throw new RobustMetricError("BAD_INPUT", `${learner}: need at least 2 training rows, got ${n}`);
  if (p < 1) throw new RobustMetricError("BAD_INPUT", `${learner}: need at least 1 feature column, got ${p}`);
  for (let i = 0; i < n; i++) {
    if (!(y[i]! >= 0)) {
      throw new RobustMetricError(
        "BAD_INPUT",
        `${learner}: class code ${y[i]} at row ${i} (codes are 0, 1, …)`,
      );
    }
  }
  let spread = 0;
  for (let j = 0; j < p; j++) {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const v = X.data[i * p + j]!;
      if (!Number.isFinite(v)) {
        throw new RobustMetricError(
          "BAD_INPUT",
          `${learner}: X has a non-finite value ${v} at row ${i}, column ${j}`,
        );
      }
      sum += v;
    }
    const mean = sum / n;
    for (let i = 0; i < n; i++) spread = Math.max(spread, Math.abs(X.data[i * p + j]! - mean));
  }
  return spread;
}

/**
 * The exact power of two s = 2^k by which data of spread `spread` is divided before fitting: 1 when the spread
 * lies in [2^−20, 2^20] (or is 0), else the power of two nearest to the spread.
 */
export function fitScale(spread: number): number {
  if (!(spread > 0)) return 1;
  // a spread that overflowed to Infinity (values near ±1.8e308 of both signs) gets the largest finite power
  const k = Math.min(1023, Math.round(Math.log2(spread)));
  return Math.abs(k) <= SAFE_EXPONENT ? 1 : 2 ** k;
}

/**
 * A learner whose `fit` first checks its input ({@link checkFitInput}) and, when the data's spread lies outside
 * [2^−20, 2^20], fits on X / s for the exact power of two s nearest to the spread and returns L / s (so
 * d²(x, x′) = d²_{L′}(x/s, x′/s) exactly; no rounding is added by either scaling). Far outside that range squared
 * distances would overflow (1e150 → 1e300·p) or underflow and every learner would end in NaN. For learners whose
 * objective is invariant under M ↦ M/s² (LMNN, LMNN-PL with the automatic τ) this is the same fit; for those with
 * a fixed prior or a scale (ITML's M₀ = I, NCA's exp(−d²), ARML's clamps) the prior is taken in the rescaled
 * units — on such data the unscaled problem has no usable answer.
 *
 * @example export const lmnn = guarded({ name: "lmnn", … , fit(X, y, params) { … } });
 */
export function guarded(learner: Learner): Learner {
  return {
    ...learner,
    fit(X: Mat, y: Int32Array, params: ParamValues, options?: FitOptions): FitResult {
      const s = fitScale(checkFitInput(X, y, learner.name));
      if (s === 1) return learner.fit(X, y, params, options);
      const scaled: Mat = { rows: X.rows, cols: X.cols, data: X.data.map((v) => v / s) };
      const res = learner.fit(scaled, y, params, options);
      const L = res.metric.components();
      const back: Mat = { rows: L.rows, cols: L.cols, data: L.data.map((v) => v / s) };
      return {
        ...res,
        metric: MahalanobisMetric.fromL(back),
        warnings: [
          ...res.warnings,
          `${learner.name}: features spread up to ${s.toExponential(1)}; fitted on X / 2^${Math.log2(s)} and ` +
            "mapped back (standardize such data)",
        ],
      };
    },
  };
}
