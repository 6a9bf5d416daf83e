import type { Mat } from "../linalg/mat.js";
import { MahalanobisMetric } from "../metric/mahalanobis.js";
import type { FitResult, Learner } from "./types.js";

/**
 * The Euclidean baseline: M = I. It learns nothing and exists so that every comparison has the plain k-NN
 * (on the same preprocessing) beside it.
 *
 * @example
 * const { metric } = euclidean.fit(X, y, {});
 */
export const euclidean: Learner = {
  name: "euclidean",
  description: "Euclidean distance (M = I), the baseline",
  params: {},
  fit(X: Mat): FitResult {
    return {
      metric: MahalanobisMetric.identity(X.cols),
      iterations: 0,
      converged: true,
      objective: [],
      seconds: 0,
      params: {},
      warnings: [],
    };
  },
};
