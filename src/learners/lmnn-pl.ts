// LMNN-PL: LMNN plus the perturbation loss (Yang, Guo, Dong, Xue, "Towards Certified Robustness of Distance
// Metric Learning", arXiv 2006.05945; reference code xyang6/LMNNPL @ 761a471; spec reference/perturbation-loss.md).
// The learner is assembled from shared parts: triplets (src/constraints, or the authors' construction below in
// faithful mode), the LMNN pull and hinge terms (src/objectives/lmnn.ts), the perturbation loss
// (src/objectives/perturbation.ts) and the projected-gradient solver with the bold-driver step
// (src/solvers/projected-gradient.ts). docs/perturbation-loss.md lists where the default mode differs from the
// authors' code and why.
import { fixedTriplets, nearest, type Triplets, targetNeighbours } from "../constraints/neighbours.js";
import { RobustMetricError } from "../errors.js";
import { eye, type Mat } from "../linalg/mat.js";
import { MahalanobisMetric } from "../metric/mahalanobis.js";
import type { LmnnHinge } from "../objectives/lmnn.js";
import {
  medianSatisfiedMargin,
  PERTURBATION_EPS,
  PerturbationLoss,
  type TripletEngine,
  type TripletTerm,
} from "../objectives/perturbation.js";
import { projectedGradient } from "../solvers/projected-gradient.js";
import { checkFitInput, guarded } from "./guard.js";
import { evaluateTerms, lmnn, lmnnTerms, targetPairs } from "./lmnn.js";
import type { FitOptions, FitResult, Learner, ParamSpec, ParamValues } from "./types.js";

/** The three terms of the LMNN-PL objective (spec §2.2) and their sum. */
export interface LmnnPlTerms {
  /** (μ/|B|) Σ_B d²_M(x_i, x_j). */
  pull: number;
  /** ((1 − μ)/|T|) Σ_T [1 − DM]_+. */
  hinge: number;
  /** (λ/|T|) Σ_T ℓ_P. */
  perturbation: number;
  total: number;
}

/** How the triplets fall at one M (spec §8.1). */
export interface LmnnPlCounts {
  /** DM < 0. */
  violated: number;
  /** DM < 1 (inside the LMNN hinge). */
  hingeActive: number;
  /** DM ≥ 0 and margin ≤ τ (0 when λ = 0). */
  perturbationActive: number;
}

/** A fit of LMNN-PL: the learner's result plus the objective's terms and counts at M = I and at the end. */
export interface LmnnPlFit extends FitResult {
  atIdentity: LmnnPlTerms;
  final: LmnnPlTerms;
  countsAtIdentity: LmnnPlCounts;
  countsFinal: LmnnPlCounts;
  /** |T| and |B|. */
  triplets: number;
  pairs: number;
  /** The τ used (the resolved value when the parameter was 0 = automatic). */
  tau: number;
  /**
   * Seconds in the solver alone (what the authors' `tic/toc` measures: no triplet construction and no evaluation
   * of the terms at the start and the end); `seconds` is the whole fit.
   */
  solverSeconds: number;
}

/** a·b + c with one rounding (a fused multiply-add), emulated with Dekker's exact product and Knuth's TwoSum. */
function fma(a: number, b: number, c: number): number {
  const p = a * b;
  const sa = 134217729 * a; // 2^27 + 1: Veltkamp splitting into 26-bit halves
  const ah = sa - (sa - a);
  const al = a - ah;
  const sb = 134217729 * b;
  const bh = sb - (sb - b);
  const bl = b - bh;
  const e = ah * bh - p + ah * bl + al * bh + al * bl; // a·b = p + e exactly
  const s = p + c;
  const bb = s - p;
  const t = p - (s - bb) + (c - bb); // p + c = s + t exactly
  return s + (t + e);
}

/**
 * aᵀb for rows i and j of X as the reference run's BLAS (OpenBLAS dgemm) forms it: x_0·y_0, then one fused
 * multiply-add per further coordinate, in order. Exact distance ties are common in coarse data (iris has one
 * decimal), and which of two tied points comes first depends on this rounding.
 */
function blasDot(data: Float64Array, i: number, j: number, p: number): number {
  const oi = i * p;
  const oj = j * p;
  let acc = data[oi]! * data[oj]!;
  for (let c = 1; c < p; c++) acc = fma(data[oi + c]!, data[oj + c]!, acc);
  return acc;
}

/**
 * The authors' triplet construction, exactly (spec §4; `Initialize`, SCML's `generate_knntriplets`, LMNN's
 * `LSKnn`): squared Euclidean distances by the expansion (‖a‖² − 2aᵀb) + ‖b‖² with aᵀb rounded as the
 * reference run's BLAS (a chain of fused multiply-adds), sorted stably (ties to the lower index); the targets of x_i are positions 2..k+1 of its sorted same-class list, position 1 being assumed to be
 * x_i itself (with an exact duplicate the duplicate may take position 1 and x_i become its own target, as in their
 * code); the impostors are its v nearest other-class points; triplets are all (i, target, impostor) combinations
 * ordered by anchor, target rank, impostor rank; pairs are (i, target) ordered the same way.
 *
 * @throws RobustMetricError BAD_INPUT naming the class when a class has fewer than k + 1 points or fewer than v
 *   points lie outside it (the authors' code fails there with an index error).
 * @example
 * const { triplets, pairs } = authorsTriplets(X, y, 3, 10); // Australian split 1: 14,460 triplets, 1,446 pairs
 */
export function authorsTriplets(
  X: Mat,
  y: Int32Array,
  k: number,
  v: number,
): { triplets: Triplets; pairs: { a: Int32Array; b: Int32Array } } {
  const { rows: n, cols: p, data } = X;
  if (y.length !== n)
    throw new RobustMetricError("SHAPE_MISMATCH", `X has ${n} rows but y has ${y.length} labels`);
  const sizes = new Map<number, number>();
  for (const c of y) sizes.set(c, (sizes.get(c) ?? 0) + 1);
  for (const [c, m] of [...sizes].sort((a, b) => a[0] - b[0])) {
    if (m < k + 1) {
      throw new RobustMetricError(
        "BAD_INPUT",
        `faithful LMNN-PL needs at least k + 1 = ${k + 1} points in every class; class code ${c} has ${m}`,
      );
    }
    if (n - m < v) {
      throw new RobustMetricError(
        "BAD_INPUT",
        `faithful LMNN-PL needs at least v = ${v} points outside every class; class code ${c} has ${n - m}`,
      );
    }
  }
  const sq = new Float64Array(n);
  for (let a = 0; a < n; a++) {
    let s = 0;
    for (let c = 0; c < p; c++) s += data[a * p + c]! ** 2;
    sq[a] = s;
  }
  const anchor: number[] = [];
  const target: number[] = [];
  const impostor: number[] = [];
  const pa: number[] = [];
  const pb: number[] = [];
  const dist = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // (‖x_i‖² − 2 x_iᵀx_j) + ‖x_j‖²: the order of LMNN's distance.m; with exact ties the order of the additions
    // decides between tied points as much as the dot product does (checked against the iris reference run)
    for (let j = 0; j < n; j++) dist[j] = sq[i]! - 2 * blasDot(data, i, j, p) + sq[j]!;
    // the first k + 1 of a stable sort of the same-class distances (position 1 taken as x_i itself) and the
    // first v of the other-class ones; `nearest` breaks ties by the lower index, as a stable sort does
    const same = nearest(dist, k + 1, (j) => y[j] === y[i]).slice(1);
    const other = nearest(dist, v, (j) => y[j] !== y[i]);
    for (const j of same) {
      pa.push(i);
      pb.push(j);
      for (const l of other) {
        anchor.push(i);
        target.push(j);
        impostor.push(l);
      }
    }
  }
  return {
    triplets: {
      anchor: Int32Array.from(anchor),
      target: Int32Array.from(target),
      impostor: Int32Array.from(impostor),
    },
    pairs: { a: Int32Array.from(pa), b: Int32Array.from(pb) },
  };
}

/** Evaluates the pull, hinge and perturbation terms one by one at M, with the triplet counts. */
function termValues(
  engine: TripletEngine,
  terms: TripletTerm[],
  hinge: LmnnHinge,
  pl: PerturbationLoss | undefined,
  M: Mat,
): { values: LmnnPlTerms; counts: LmnnPlCounts } {
  engine.setMetric(M, { q: terms.some((t) => t.needsQ) });
  const v = terms.map((t) => t.accumulate(engine, false));
  const pull = v[0]!;
  const hingeValue = v[1]!;
  const perturbation = v[2] ?? 0;
  let violated = 0;
  for (const d of engine.dm) if (d < 0) violated++;
  return {
    values: { pull, hinge: hingeValue, perturbation, total: pull + hingeValue + perturbation },
    counts: { violated, hingeActive: hinge.active, perturbationActive: pl ? pl.counts.active : 0 },
  };
}

/** The hyper-parameters shared by the LMNN-PL family (see docs/perturbation-loss.md for the choice of defaults). */
export const PERTURBATION_PARAMS: Record<string, ParamSpec> = {
  lambda: {
    type: "number",
    default: 10,
    min: 0,
    doc: "weight λ of the perturbation loss, (λ/|T|)·Σ ℓ_P (0 = the base learner alone)",
  },
  tau: {
    type: "number",
    default: 0,
    min: 0,
    doc: "desired adversarial margin τ in input units; 0 = the median margin of the satisfied triplets at M = I",
  },
  k: lmnn.params.k!,
  v: {
    type: "int",
    default: 10,
    min: 1,
    doc: "nearest other-class points per anchor (triplets k × v per point)",
  },
  faithful: {
    type: "boolean",
    default: false,
    doc: "the authors' triplet construction exactly (expansion distances, self skipped by rank); errors on small classes",
  },
};

/** The triplets and target pairs of the LMNN-PL family in either mode. */
export function perturbationTriplets(
  X: Mat,
  y: Int32Array,
  params: ParamValues,
): { triplets: Triplets; pairs: { a: Int32Array; b: Int32Array }; warnings: string[] } {
  const k = params.k as number;
  const v = params.v as number;
  if (params.faithful) return { ...authorsTriplets(X, y, k, v), warnings: [] };
  const targets = targetNeighbours(X, y, k);
  return {
    triplets: fixedTriplets(X, y, targets, v),
    pairs: targetPairs(targets),
    warnings: targets.warnings,
  };
}

/** τ as given, or the median satisfied margin at M = I when the parameter is 0 (see {@link PERTURBATION_PARAMS}). */
export function resolveTau(engine: TripletEngine, tau: number): number {
  if (tau > 0) return tau;
  engine.setMetric(eye(engine.p), { q: true });
  return medianSatisfiedMargin(engine);
}

/**
 * Fits LMNN-PL and reports, besides the learner's result, the objective's three terms and the triplet counts at
 * M = I and at the end (what `robust-metric reproduce lmnnpl` prints).
 *
 * Objective (spec §2.2): F(M) = (μ/|B|) Σ_B d²_M + ((1 − μ)/|T|) Σ_T [1 − DM]_+ + (λ/|T|) Σ_T ℓ_P, minimised over
 * PSD M by projected gradient with the bold-driver step (α₀ = 1, ×1.01 / ×0.5, floor 1e−4, eigenvalue clip
 * 1e−10, stop when t ≥ 50 and the last five |ΔF| < η·F, at most maxIter steps), from M = I, on fixed triplets.
 *
 * @param params resolved parameters of {@link lmnnPl}.
 * @throws RobustMetricError BAD_INPUT (faithful mode: a class too small for k or v), NUMERICAL (non-finite
 *   objective).
 * @example
 * const fit = fitLmnnPl(X, y, resolveParams(lmnnPl, { mu: 0.168, lambda: 11.86, tau: 0.4318, faithful: true }));
 * fit.atIdentity.total; fit.iterations; fit.metric;
 */
export function fitLmnnPl(X: Mat, y: Int32Array, params: ParamValues, options: FitOptions = {}): LmnnPlFit {
  checkFitInput(X, y, "lmnn-pl");
  const t0 = performance.now();
  const mu = params.mu as number;
  const lambda = params.lambda as number;
  const { triplets, pairs, warnings } = perturbationTriplets(X, y, params);
  const T = triplets.anchor.length;
  const { engine, terms, hinge } = lmnnTerms(X, triplets, pairs, mu, T);
  const tau = lambda > 0 ? resolveTau(engine, params.tau as number) : (params.tau as number);
  let pl: PerturbationLoss | undefined;
  if (lambda > 0) {
    pl = new PerturbationLoss({ lambda, tau, eps: PERTURBATION_EPS });
    terms.push(pl);
  }
  const start = termValues(engine, terms, hinge, pl, eye(X.cols));
  const s0 = performance.now();
  const res = projectedGradient({ evaluate: (M, g) => evaluateTerms(engine, terms, M, g) }, X.cols, {
    maxIter: params.maxIter as number,
    eta: params.eta as number,
    onIteration: options.onIteration,
  });
  const solverSeconds = (performance.now() - s0) / 1000;
  const end = termValues(engine, terms, hinge, pl, res.M);
  return {
    metric: MahalanobisMetric.fromM(res.M, { tol: 1e-8 }),
    iterations: res.iterations,
    converged: res.converged,
    objective: res.trace,
    seconds: (performance.now() - t0) / 1000,
    params: { ...params, tau },
    warnings,
    atIdentity: start.values,
    final: end.values,
    countsAtIdentity: start.counts,
    countsFinal: end.counts,
    triplets: T,
    pairs: pairs.a.length,
    tau,
    solverSeconds,
  };
}

/**
 * LMNN-PL (Yang et al., arXiv 2006.05945): LMNN on the authors' fixed triplets (k targets × v nearest other-class
 * points per anchor) plus the perturbation loss, which enlarges each triplet's adversarial margin (the Euclidean
 * distance from x_i to the closest input that flips the triplet) towards τ. With λ = 0 it is the authors' LMNN
 * baseline. `faithful: true` reproduces their released code (docs/perturbation-loss.md).
 *
 * Parameters: mu = 0.5, lambda = 10, tau = 0 (automatic), k = 3, v = 10, maxIter = 1000, eta = 1e−7,
 * faithful = false.
 *
 * @example
 * const fit = lmnnPl.fit(X, y, resolveParams(lmnnPl, { lambda: 5, tau: 0.3 }));
 */
export const lmnnPl: Learner = guarded({
  name: "lmnn-pl",
  description: "LMNN + perturbation loss (Yang, Guo, Dong, Xue, arXiv 2006.05945)",
  // μ, the iteration cap and the tolerance are LMNN's (same solver, same defaults)
  params: {
    mu: lmnn.params.mu!,
    ...PERTURBATION_PARAMS,
    maxIter: lmnn.params.maxIter!,
    eta: lmnn.params.eta!,
  },
  fit: (X, y, params, options) => fitLmnnPl(X, y, params, options),
});
