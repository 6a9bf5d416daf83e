import {
  fixedTriplets,
  impostorTriplets,
  type Triplets,
  targetNeighbours,
} from "../constraints/neighbours.js";
import type { Mat } from "../linalg/mat.js";
import { MahalanobisMetric } from "../metric/mahalanobis.js";
import { LmnnHinge, LmnnPull } from "../objectives/lmnn.js";
import { TripletEngine, type TripletTerm } from "../objectives/perturbation.js";
import { projectedGradient } from "../solvers/projected-gradient.js";
import type { FitOptions, FitResult, Learner, ParamValues } from "./types.js";

/** Extra slack on the unit margin when the impostor candidates are collected, so the set stays valid between refreshes. */
const CANDIDATE_SLACK = 0.5;

/**
 * Builds the engine and terms of LMNN for a triplet set: pull μ/|B| Σ_B d² and push (1 − μ)/N Σ_T [1 − DM]_+, with
 * N = |B| for refreshed impostors (|T| changes at every refresh; normalising by the fixed |B| keeps F comparable
 * across refreshes) and N = |T| for fixed triplets (the LMNN-PL authors' normalisation).
 */
export function lmnnTerms(
  X: Mat,
  triplets: Triplets,
  pairs: { a: Int32Array; b: Int32Array },
  mu: number,
  pushNorm: number,
  extra: TripletTerm[] = [],
): { engine: TripletEngine; terms: TripletTerm[]; hinge: LmnnHinge } {
  const engine = new TripletEngine(X, triplets, pairs);
  const B = pairs.a.length;
  const hinge = new LmnnHinge(pushNorm > 0 ? (1 - mu) / pushNorm : 0);
  return { engine, terms: [new LmnnPull(B > 0 ? mu / B : 0), hinge, ...extra], hinge };
}

/** Evaluates a sum of triplet terms at M: value and symmetric gradient. */
export function evaluateTerms(engine: TripletEngine, terms: TripletTerm[], M: Mat, withGradient: boolean) {
  engine.setMetric(M, { q: terms.some((t) => t.needsQ) });
  let value = 0;
  for (const t of terms) value += t.accumulate(engine, withGradient);
  return { value, gradient: withGradient ? engine.gradient() : undefined };
}

/** Target pairs (i, j) of a neighbour list, ordered by anchor then rank. */
export function targetPairs(targets: { start: Int32Array; index: Int32Array }): {
  a: Int32Array;
  b: Int32Array;
} {
  const n = targets.start.length - 1;
  const a = new Int32Array(targets.index.length);
  for (let i = 0; i < n; i++) a.fill(i, targets.start[i]!, targets.start[i + 1]!);
  return { a, b: targets.index.slice() };
}

/** Metric from a PSD matrix with known eigenvalues: fromM re-derives L (one more p×p eigendecomposition). */
function metricOf(M: Mat): MahalanobisMetric {
  return MahalanobisMetric.fromM(M, { tol: 1e-8 });
}

/**
 * LMNN, Large Margin Nearest Neighbor (Weinberger & Saul, JMLR 2009): pull each point's k target neighbours
 * (same class, Euclidean, fixed) close and push other-class points ("impostors") out of a unit margin,
 * F(M) = μ·pull + (1 − μ)·push, minimised over PSD M by projected gradient with the bold-driver step (the solver
 * of the LMNN-PL authors). Impostors are re-selected under the current metric every `refresh` evaluations from a
 * candidate set (other-class points within the largest target distance + margin + slack: the active set), and once
 * more when the stopping rule fires; the run only stops when that last refresh changes nothing. With
 * `fixedTriplets`, the set is the LMNN-PL authors' k targets × v nearest other-class points, never refreshed.
 *
 * Parameters: k = 3, mu = 0.5 (metric-learn's `regularization`), maxIter = 1000, eta = 1e−7, stepGrowth = 1.01,
 * refresh = 10, fixedTriplets = false, v = 10. With the authors' strict η the run often reaches the iteration cap
 * on larger sets while the objective still creeps down; that is reported as `converged: false`.
 *
 * @example const fit = lmnn.fit(X, y, resolveParams(lmnn, { k: 3 }));
 */
export const lmnn: Learner = {
  name: "lmnn",
  description: "LMNN, large margin nearest neighbour (Weinberger & Saul, JMLR 2009)",
  params: {
    k: { type: "int", default: 3, min: 1, doc: "target neighbours per point (same class, Euclidean)" },
    mu: { type: "number", default: 0.5, min: 0, max: 1, doc: "pull weight μ in μ·pull + (1 − μ)·push" },
    maxIter: { type: "int", default: 1000, min: 1, doc: "iteration cap of the projected gradient" },
    eta: {
      type: "number",
      default: 1e-7,
      min: 0,
      doc: "relative stopping tolerance on the last 5 objective changes",
    },
    stepGrowth: {
      type: "number",
      default: 1.01,
      min: 1,
      max: 2,
      doc: "bold-driver growth of the step after a decrease of the objective (the LMNN-PL authors' 1.01)",
    },
    refresh: { type: "int", default: 10, min: 1, doc: "re-select impostors every this many iterations" },
    fixedTriplets: {
      type: "boolean",
      default: false,
      doc: "use the fixed k × v Euclidean triplets (LMNN-PL authors)",
    },
    v: { type: "int", default: 10, min: 1, doc: "other-class points per anchor with fixedTriplets" },
  },
  fit(X: Mat, y: Int32Array, params: ParamValues, options: FitOptions = {}): FitResult {
    const t0 = performance.now();
    const k = params.k as number;
    const mu = params.mu as number;
    const targets = targetNeighbours(X, y, k);
    const pairs = targetPairs(targets);
    const fixed = params.fixedTriplets as boolean;
    let state: ReturnType<typeof lmnnTerms>;
    if (fixed) {
      const T = fixedTriplets(X, y, targets, params.v as number);
      state = lmnnTerms(X, T, pairs, mu, T.anchor.length);
    } else {
      state = lmnnTerms(X, impostorTriplets(X, y, targets, 1 + CANDIDATE_SLACK), pairs, mu, pairs.a.length);
    }
    const refreshEvery = params.refresh as number;
    const res = projectedGradient(
      { evaluate: (M, g) => evaluateTerms(state.engine, state.terms, M, g) },
      X.cols,
      {
        maxIter: params.maxIter as number,
        eta: params.eta as number,
        grow: params.stepGrowth as number,
        onIteration: options.onIteration,
        refresh: fixed
          ? undefined
          : (M, t, final) => {
              if (!final && (t - 1) % refreshEvery !== 0) return false;
              const Z = metricOf(M).transform(X);
              const T = impostorTriplets(Z, y, targets, 1 + CANDIDATE_SLACK);
              const before = final ? evaluateTerms(state.engine, state.terms, M, false).value : 0;
              state = lmnnTerms(X, T, pairs, mu, pairs.a.length);
              if (!final) return false;
              const after = evaluateTerms(state.engine, state.terms, M, false).value;
              return Math.abs(after - before) > (params.eta as number) * Math.abs(before);
            },
      },
    );
    return {
      metric: metricOf(res.M),
      iterations: res.iterations,
      converged: res.converged,
      objective: res.trace,
      seconds: (performance.now() - t0) / 1000,
      params: { ...params },
      warnings: targets.warnings,
    };
  },
};
