import {
  fixedTriplets,
  impostorTriplets,
  type Triplets,
  targetNeighbours,
} from "../constraints/neighbours.js";
import { gemm, gemmAtB } from "../linalg/gemm.js";
import { eye, type Mat, zeros } from "../linalg/mat.js";
import { MahalanobisMetric } from "../metric/mahalanobis.js";
import { LmnnHinge, LmnnPull } from "../objectives/lmnn.js";
import { TripletEngine, type TripletTerm } from "../objectives/perturbation.js";
import { lbfgs } from "../solvers/lbfgs.js";
import { projectedGradient } from "../solvers/projected-gradient.js";
import { guarded } from "./guard.js";
import type { FitOptions, FitResult, Learner, ParamValues } from "./types.js";

/** Extra slack on the unit margin when the impostor candidates are collected, so the set stays valid between refreshes. */
const CANDIDATE_SLACK = 0.5;
/** The refresh interval doubles (up to this many times the `refresh` parameter) while refreshes change nothing. */
const MAX_INTERVAL_FACTOR = 8;
/** Bounds of the L-BFGS round length on a fixed impostor set (the set is re-selected between rounds). */
const LBFGS_ROUND_MIN = 5;
const LBFGS_ROUND_MAX = 50;

/**
 * Builds the engine and terms of LMNN for a triplet set: pull μ/|B| Σ_B d² and push (1 − μ)/N Σ_T [1 − DM]_+, with
 * N = |B| for refreshed impostors (|T| changes at every refresh; normalising by the fixed |B| keeps F comparable
 * across refreshes) and N = |T| for fixed triplets (the LMNN-PL authors' normalisation). `engine.recycle`: the
 * engine this one replaces (its WebAssembly memory is reused; it must not be used again); `engine.jl: false` when
 * no term will need q (see TripletEngine).
 */
export function lmnnTerms(
  X: Mat,
  triplets: Triplets,
  pairs: { a: Int32Array; b: Int32Array },
  mu: number,
  pushNorm: number,
  extra: TripletTerm[] = [],
  engineOptions: { recycle?: TripletEngine; jl?: boolean } = {},
): { engine: TripletEngine; terms: TripletTerm[]; hinge: LmnnHinge } {
  const engine = new TripletEngine(X, triplets, pairs, engineOptions);
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
export const lmnn: Learner = guarded({
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
    solver: {
      type: "string",
      default: "pg",
      choices: ["pg", "lbfgs"],
      doc: "pg: projected gradient on M (bold driver); lbfgs: L-BFGS on L with M = LᵀL, impostors re-selected between rounds",
    },
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
      state = lmnnTerms(X, T, pairs, mu, T.anchor.length, [], { jl: false });
    } else {
      state = lmnnTerms(
        X,
        impostorTriplets(X, y, targets, 1 + CANDIDATE_SLACK),
        pairs,
        mu,
        pairs.a.length,
        [],
        {
          jl: false,
        },
      );
    }
    const refreshEvery = params.refresh as number;
    const eta = params.eta as number;
    const distanceScratch = {};
    // Both solvers evaluate the new objective, with its gradient, at the very M of the re-selection next: the
    // re-selection computes it once and the next evaluation takes it if the engine and M are unchanged to the bit.
    let pending:
      | { engine: TripletEngine; M: Float64Array; result: ReturnType<typeof evaluateTerms> }
      | undefined;
    const reselect = (M: Mat, Z: Mat): boolean => {
      const before = evaluateTerms(state.engine, state.terms, M, false).value;
      const T = impostorTriplets(Z, y, targets, 1 + CANDIDATE_SLACK, distanceScratch);
      state = lmnnTerms(X, T, pairs, mu, pairs.a.length, [], { recycle: state.engine, jl: false });
      const result = evaluateTerms(state.engine, state.terms, M, true);
      pending = { engine: state.engine, M: M.data.slice(), result };
      return Math.abs(result.value - before) > eta * Math.abs(before);
    };
    const evaluate = (M: Mat, withGradient: boolean) => {
      const cached = pending;
      pending = undefined;
      if (cached && cached.engine === state.engine && sameBits(cached.M, M.data)) return cached.result;
      return evaluateTerms(state.engine, state.terms, M, withGradient);
    };
    if (params.solver === "lbfgs") {
      return lbfgsOnL(X, evaluate, reselect, {
        maxIter: params.maxIter as number,
        eta,
        fixed,
        onIteration: options.onIteration,
        t0,
        params,
        warnings: targets.warnings,
      });
    }
    // Adaptive active set: a refresh that leaves the objective unchanged shows the candidate set still held every
    // active triplet, so the next one can wait twice as long (up to 8 × `refresh`); one that changed it halves the
    // wait. The first steps move M most (a stale set there lets M collapse onto millions of impostors), so the
    // interval starts at one evaluation.
    let interval = 1;
    let nextRefresh = 2;
    const res = projectedGradient({ evaluate }, X.cols, {
      maxIter: params.maxIter as number,
      eta,
      grow: params.stepGrowth as number,
      onIteration: options.onIteration,
      refresh: fixed
        ? undefined
        : (M, t, final) => {
            if (!final && t < nextRefresh) return false;
            const changed = reselect(M, metricOf(M).transform(X));
            interval = changed
              ? Math.max(1, interval >> 1)
              : Math.min(2 * interval, MAX_INTERVAL_FACTOR * refreshEvery);
            nextRefresh = t + interval;
            return changed;
          },
    });
    return {
      metric: metricOf(res.M),
      iterations: res.iterations,
      converged: res.converged,
      objective: res.trace,
      seconds: (performance.now() - t0) / 1000,
      params: { ...params },
      warnings: [...targets.warnings, ...collapseWarning(res.M.data, X)],
    };
  },
});

/** Equal arrays, entry by entry as bits (−0 ≠ 0; no NaN arises here). */
function sameBits(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (!Object.is(a[k], b[k])) return false;
  return true;
}

/**
 * M = 0 minimises LMNN's objective when pulling the targets in costs more than the impostors' hinge (every target
 * farther than its impostors, or μ near 1): a true optimum, but a metric that ranks nothing. Say so. "Collapsed":
 * the mean squared distance under M is below 1e−12 of the Euclidean one (tr(M·C) / tr(C), C the scatter of X), so
 * small features (small M entries) are not mistaken for a collapse.
 */
function collapseWarning(M: ArrayLike<number>, X: Mat): string[] {
  const { rows: n, cols: p } = X;
  const mean = new Float64Array(p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) mean[j]! += X.data[i * p + j]! / n;
  const Xc: Mat = { rows: n, cols: p, data: X.data.map((v, k) => v - mean[k % p]!) };
  const C = gemmAtB(Xc, Xc);
  let trMC = 0;
  let trC = 0;
  for (let a = 0; a < p; a++) {
    trC += C.data[a * p + a]!;
    for (let b = 0; b < p; b++) trMC += M[a * p + b]! * C.data[b * p + a]!;
  }
  if (!(trC > 0) || Math.abs(trMC) > 1e-12 * trC) return [];
  return [
    "lmnn: the metric collapsed to M = 0 (the optimum of this objective here: the targets are farther than their " +
      "impostors); it ranks nothing — try a smaller mu, more target neighbours k, or standardized features",
  ];
}

/**
 * LMNN's objective minimised over L (M = LᵀL, so M stays PSD without projections) by L-BFGS from L = I, in rounds
 * of 5 to 50 iterations on a fixed impostor set (longer while re-selection changes nothing); between rounds the
 * impostors are re-selected under the current metric. The fit has converged when a round converges (relative
 * decrease below η) and the re-selection that follows leaves the objective unchanged. ∂F/∂L = 2·L·∂F/∂M for the symmetric gradient ∂F/∂M of the terms.
 */
function lbfgsOnL(
  X: Mat,
  evaluate: (M: Mat, withGradient: boolean) => ReturnType<typeof evaluateTerms>,
  reselect: (M: Mat, Z: Mat) => boolean,
  o: {
    maxIter: number;
    eta: number;
    fixed: boolean;
    onIteration: FitOptions["onIteration"];
    t0: number;
    params: ParamValues;
    warnings: string[];
  },
): FitResult {
  const p = X.cols;
  const M = zeros(p, p);
  const f = (x: Float64Array, grad: Float64Array): number => {
    const L: Mat = { rows: p, cols: p, data: x };
    gemmAtB(L, L, M);
    const r = evaluate(M, true);
    const LG = gemm(L, r.gradient!);
    for (let k = 0; k < grad.length; k++) grad[k] = 2 * LG.data[k]!;
    return r.value;
  };
  let x = eye(p).data;
  const trace: number[] = [];
  let iterations = 0;
  let converged = false;
  // as the projected gradient's refresh interval: short rounds while the impostor set keeps changing
  let round = LBFGS_ROUND_MIN;
  while (iterations < o.maxIter) {
    const res = lbfgs(f, x, {
      maxIterations: Math.min(round, o.maxIter - iterations),
      relTol: o.eta,
      gradTol: 0,
      onIteration: o.onIteration ? (t, v) => o.onIteration!(iterations + t, v) : undefined,
    });
    x = res.x;
    iterations += Math.max(1, res.iterations);
    trace.push(...(trace.length ? res.trace.slice(1) : res.trace));
    if (o.fixed) {
      converged = res.converged;
      if (res.converged || res.message === "line search failed") break;
      continue;
    }
    const L: Mat = { rows: p, cols: p, data: x };
    gemmAtB(L, L, M);
    const Z = MahalanobisMetric.fromL(L).transform(X);
    const changed = reselect(M, Z);
    if (res.converged && !changed) {
      converged = true;
      break;
    }
    round = changed ? Math.max(LBFGS_ROUND_MIN, round >> 1) : Math.min(LBFGS_ROUND_MAX, 2 * round);
  }
  gemmAtB({ rows: p, cols: p, data: x }, { rows: p, cols: p, data: x }, M);
  return {
    metric: MahalanobisMetric.fromL({ rows: p, cols: p, data: x }),
    iterations,
    converged,
    objective: trace,
    seconds: (performance.now() - o.t0) / 1000,
    params: { ...o.params },
    warnings: [...o.warnings, ...collapseWarning(M.data, X)],
  };
}
