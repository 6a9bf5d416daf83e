import { samplePairs } from "../constraints/pairs.js";
import { Rng } from "../data/rng.js";
import { type Mat, zeros } from "../linalg/mat.js";
import { outerSum } from "../linalg/syrk.js";
import { MahalanobisMetric } from "../metric/mahalanobis.js";
import { geometricMean, gmmlLoss } from "../objectives/gmml.js";
import { guarded } from "./guard.js";
import type { FitOptions, FitResult, Learner, ParamValues } from "./types.js";

/**
 * Scatter Σ x̂x̂ᵀ / count of the chosen pairs, plus ridge·(tr/p)·I (ridge·I when the scatter is zero), so that a
 * singular scatter (constant features, d > pairs, duplicate points) still gives an SPD matrix instead of NaN.
 */
function scatter(X: Mat, a: Int32Array, b: Int32Array, keep: (t: number) => boolean, ridge: number): Mat {
  const p = X.cols;
  const rows: number[] = [];
  for (let t = 0; t < a.length; t++) if (keep(t)) rows.push(t);
  const D = zeros(rows.length, p);
  rows.forEach((t, r) => {
    for (let j = 0; j < p; j++) D.data[r * p + j] = X.data[a[t]! * p + j]! - X.data[b[t]! * p + j]!;
  });
  const S = outerSum(D);
  let tr = 0;
  for (let i = 0; i < p; i++) tr += S.data[i * p + i]!;
  const scale = rows.length > 0 ? 1 / rows.length : 1;
  const shift = ridge * (tr > 0 ? (tr * scale) / p : 1);
  for (let i = 0; i < p * p; i++) S.data[i] = S.data[i]! * scale;
  for (let i = 0; i < p; i++) S.data[i * p + i]! += shift;
  return S;
}

/**
 * GMML, Geometric Mean Metric Learning (Zadeh, Hosseini & Sra, ICML 2016): closed form M = A⁻¹ #_t B of the
 * similar-pair scatter A and the dissimilar-pair scatter B (both averaged over their pairs and regularised by a
 * ridge of `ridge`·tr/p, default 1e−3 — a documented choice; the paper regularises towards a prior with weight λ).
 * Pairs: `pairs` similar and `pairs` dissimilar ones drawn from the labels with the fit's seeded Rng
 * (default 20·C², metric-learn's count for ITML/MMC, when `pairs` = 0).
 *
 * @example const { metric } = gmml.fit(X, y, resolveParams(gmml), { rng: new Rng(0) });
 */
export const gmml: Learner = guarded({
  name: "gmml",
  description: "GMML, geometric mean metric learning (Zadeh, Hosseini & Sra, ICML 2016)",
  params: {
    t: {
      type: "number",
      default: 0.5,
      min: 0,
      max: 1,
      doc: "weight t of the geodesic A⁻¹ #_t B (0.5: the GMML solution)",
    },
    pairs: { type: "int", default: 0, min: 0, doc: "similar and dissimilar pairs to sample each (0: 20·C²)" },
    ridge: {
      type: "number",
      default: 1e-3,
      min: 0,
      doc: "ridge added to both scatters, relative to their mean eigenvalue",
    },
  },
  fit(X: Mat, y: Int32Array, params: ParamValues, options: FitOptions = {}): FitResult {
    const t0 = performance.now();
    const rng = options.rng ?? new Rng(0);
    const C = new Set(y).size;
    const count = (params.pairs as number) || 20 * C * C;
    const P = samplePairs(y, count, rng);
    const ridge = Math.max(params.ridge as number, 1e-12);
    const A = scatter(X, P.a, P.b, (t) => P.similar[t] === 1, ridge);
    const B = scatter(X, P.a, P.b, (t) => P.similar[t] === 0, ridge);
    const M = geometricMean(A, B, params.t as number);
    return {
      metric: MahalanobisMetric.fromM(M),
      iterations: 1,
      converged: true,
      objective: [gmmlLoss(M, A, B).value],
      seconds: (performance.now() - t0) / 1000,
      params: { ...params },
      warnings: [],
    };
  },
});
