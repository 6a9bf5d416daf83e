// NCA-PL: NCA plus the perturbation loss on the LMNN triplet set — the perturbation loss used as the "data-dependent
// regulariser that can be plugged into any existing metric learning method" of Yang et al. (arXiv 2006.05945,
// abstract). The authors released only LMNN-PL; how their other "-PL" methods formed triplets is not public
// (reference/perturbation-loss.md §2.4), so this uses LMNN's fixed k × v triplets (docs/perturbation-loss.md).
import { gemm, gemmAtB } from "../linalg/gemm.js";
import { eye, type Mat, zeros } from "../linalg/mat.js";
import { MahalanobisMetric } from "../metric/mahalanobis.js";
import { ncaLoss } from "../objectives/nca.js";
import { PerturbationLoss, TripletEngine } from "../objectives/perturbation.js";
import { lbfgs } from "../solvers/lbfgs.js";
import { guarded } from "./guard.js";
import { PERTURBATION_PARAMS, perturbationTriplets, resolveTau } from "./lmnn-pl.js";
import { nca } from "./nca.js";
import type { FitOptions, FitResult, Learner, ParamValues } from "./types.js";

/**
 * The NCA-PL objective in L (p×p, row-major, M = LᵀL) and its gradient, for L-BFGS:
 *   F(L) = −Σ_i p_i(L) + λ·(n/|T|)·Σ_T ℓ_P(LᵀL) = n·[ mean NCA loss + λ·mean perturbation loss ],
 * so that λ weighs the two per-sample means as in LMNN-PL; ∂F/∂L = ∂NCA/∂L + 2·L·G with G the symmetric gradient
 * of the perturbation term in M. Also returns the resolved τ and the triplet set's size.
 *
 * @param params resolved parameters of {@link ncaPl}.
 * @throws RobustMetricError as perturbationTriplets (faithful mode: a class too small for k or v).
 * @example
 * const { f } = ncaPlObjective(X, y, resolveParams(ncaPl, { lambda: 2 }));
 * const g = new Float64Array(p * p); const value = f(eye(p).data, g);
 */
export function ncaPlObjective(
  X: Mat,
  y: Int32Array,
  params: ParamValues,
): {
  f: (x: Float64Array, grad: Float64Array) => number;
  tau: number;
  triplets: number;
  warnings: string[];
  /** The perturbation term alone, (λ n/|T|)·Σ ℓ_P, at M = LᵀL. */
  perturbation: (L: Mat) => number;
} {
  const { rows: n, cols: p } = X;
  const lambda = params.lambda as number;
  const { triplets, warnings } = perturbationTriplets(X, y, params);
  const T = triplets.anchor.length;
  const engine = T > 0 ? new TripletEngine(X, triplets) : undefined;
  const tau = engine && lambda > 0 ? resolveTau(engine, params.tau as number) : (params.tau as number);
  const pl = new PerturbationLoss({ lambda: lambda * n, tau });
  const M = zeros(p, p);
  const G = zeros(p, p);
  const perturbation = (L: Mat, grad?: Float64Array): number => {
    if (!engine || lambda === 0) return 0;
    gemmAtB(L, L, M);
    engine.setMetric(M, { q: true });
    const value = pl.accumulate(engine, grad !== undefined);
    if (grad) {
      engine.gradient(G);
      const LG = gemm(L, G);
      for (let k = 0; k < grad.length; k++) grad[k]! += 2 * LG.data[k]!;
    }
    return value;
  };
  const scratch = {};
  const f = (x: Float64Array, grad: Float64Array): number => {
    const L: Mat = { rows: p, cols: p, data: x };
    return ncaLoss(X, y, L, grad, scratch) + perturbation(L, grad);
  };
  return { f, tau, triplets: T, warnings, perturbation: (L) => perturbation(L) };
}

/**
 * NCA-PL: NCA (Goldberger et al., NIPS 2004) regularised by the perturbation loss of Yang et al. on LMNN's fixed
 * triplets (k targets × v nearest other-class points), minimised in L by L-BFGS from L = I, as NCA. With λ = 0 it
 * is NCA exactly.
 *
 * Parameters: lambda = 10, tau = 0 (the median satisfied margin at M = I), k = 3, v = 10, faithful = false (the
 * authors' triplet construction when true), maxIter = 100 and NCA's stopping tests (scipy's L-BFGS-B defaults: gradTol 1e−5, tol 2.2e−9).
 *
 * @example const fit = ncaPl.fit(X, y, resolveParams(ncaPl, { lambda: 5 }));
 */
export const ncaPl: Learner = guarded({
  name: "nca-pl",
  description: "NCA + perturbation loss on the LMNN triplet set (Yang et al., arXiv 2006.05945)",
  params: {
    ...nca.params,
    ...PERTURBATION_PARAMS,
    lambda: {
      ...PERTURBATION_PARAMS.lambda!,
      doc: "weight λ of the perturbation loss: F = n·(mean NCA loss + λ·mean ℓ_P) (0 = NCA alone)",
    },
  },
  fit(X: Mat, y: Int32Array, params: ParamValues, options: FitOptions = {}): FitResult {
    const t0 = performance.now();
    const p = X.cols;
    const obj = ncaPlObjective(X, y, params);
    const res = lbfgs(obj.f, eye(p).data, {
      maxIterations: params.maxIter as number,
      relTol: params.tol as number,
      gradTol: params.gradTol as number,
      ...(options.onIteration ? { onIteration: options.onIteration } : {}),
    });
    const warnings = [...obj.warnings];
    // the perturbation loss has kinks (its hinge and the violated/satisfied switch): a line search can stall there
    if (!res.converged && res.message !== "iteration cap reached") warnings.push(`NCA-PL: ${res.message}`);
    return {
      metric: MahalanobisMetric.fromL({ rows: p, cols: p, data: res.x }),
      iterations: res.iterations,
      converged: res.converged,
      objective: res.trace,
      seconds: (performance.now() - t0) / 1000,
      params: { ...params, tau: obj.tau },
      warnings,
    };
  },
});
