import type { Rng } from "../data/rng.js";
import type { Mat } from "../linalg/mat.js";
import type { MahalanobisMetric } from "../metric/mahalanobis.js";

/** A hyper-parameter's declaration: type, default, range and a one-line doc (shown by the CLI). */
export interface ParamSpec {
  type: "number" | "int" | "boolean" | "string";
  default: number | boolean | string;
  /** Inclusive bounds for numbers (checked by `resolveParams`). */
  min?: number;
  max?: number;
  /** Allowed values for strings. */
  choices?: readonly string[];
  doc: string;
}

export type ParamValues = Record<string, number | boolean | string>;

/** What every learner returns: the metric and an honest account of the optimisation. */
export interface FitResult {
  metric: MahalanobisMetric;
  iterations: number;
  converged: boolean;
  /**
   * Objective value per iteration (one value for closed-form learners; for ITML, whose Bregman projections have no
   * cheap objective, the convergence measure per sweep).
   */
  objective: number[];
  seconds: number;
  /** The resolved hyper-parameters actually used. */
  params: ParamValues;
  /** Non-fatal warnings (e.g. a class with fewer than k + 1 members). */
  warnings: string[];
}

export interface FitOptions {
  /** Randomness (pair sampling, initialisation). Defaults to `new Rng(0)`. */
  rng?: Rng;
  /** Called now and then with (iteration, objective) for progress reporting. */
  onIteration?: (iteration: number, objective: number) => void;
}

/**
 * A metric learner: constraints + objective terms + solver + defaults. `fit` receives preprocessed training
 * data (X n×p, y class codes 0..C−1) and the resolved hyper-parameters.
 */
export interface Learner {
  name: string;
  /** One line: method and paper. */
  description: string;
  params: Record<string, ParamSpec>;
  fit(X: Mat, y: Int32Array, params: ParamValues, options?: FitOptions): FitResult;
}
