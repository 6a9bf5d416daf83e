import { samplePairs } from "../constraints/pairs.js";
import { Rng } from "../data/rng.js";
import { type Mat, zeros } from "../linalg/mat.js";
import { MahalanobisMetric } from "../metric/mahalanobis.js";
import { itmlProjections } from "../solvers/bregman.js";
import type { FitOptions, FitResult, Learner, ParamValues } from "./types.js";

/** The q-quantile (linear interpolation, as numpy's default) of a list. */
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo]! + (pos - lo) * (s[hi]! - s[lo]!);
}

/**
 * ITML, Information-Theoretic Metric Learning (Davis et al., ICML 2007): the metric closest to the identity prior
 * in LogDet divergence that keeps similar pairs within squared distance u and dissimilar pairs beyond l, with slack
 * γ, by cyclic Bregman projections. Constraints: `pairs` similar and `pairs` dissimilar pairs sampled from the labels
 * with the fit's seeded Rng (default 20·C² each, as metric-learn's ITML_Supervised). Bounds: u and l are the 5th
 * and 95th percentiles of the squared Euclidean distances of those pairs (our choice of population: the constraint
 * pairs; metric-learn uses all pairwise distances).
 *
 * @example const fit = itml.fit(X, y, resolveParams(itml), { rng: new Rng(0) });
 */
export const itml: Learner = {
  name: "itml",
  description: "ITML, information-theoretic metric learning (Davis et al., ICML 2007)",
  params: {
    gamma: {
      type: "number",
      default: 1,
      min: 1e-12,
      doc: "slack γ (larger: constraints enforced more strictly)",
    },
    pairs: { type: "int", default: 0, min: 0, doc: "similar and dissimilar pairs to sample each (0: 20·C²)" },
    maxIter: { type: "int", default: 1000, min: 1, doc: "maximum sweeps over the constraints" },
    tol: {
      type: "number",
      default: 1e-3,
      min: 0,
      doc: "stop when the relative change of the dual variables is below this",
    },
  },
  fit(X: Mat, y: Int32Array, params: ParamValues, options: FitOptions = {}): FitResult {
    const t0 = performance.now();
    const rng = options.rng ?? new Rng(0);
    const C = new Set(y).size;
    const P = samplePairs(y, (params.pairs as number) || 20 * C * C, rng);
    const p = X.cols;
    const diffs = zeros(P.a.length, p);
    const d2: number[] = [];
    for (let c = 0; c < P.a.length; c++) {
      let s = 0;
      for (let j = 0; j < p; j++) {
        const v = X.data[P.a[c]! * p + j]! - X.data[P.b[c]! * p + j]!;
        diffs.data[c * p + j] = v;
        s += v * v;
      }
      d2.push(s);
    }
    const positive = d2.filter((v) => v > 0);
    const u = positive.length ? quantile(positive, 0.05) : 1;
    const l = positive.length ? quantile(positive, 0.95) : 1;
    const res = itmlProjections(diffs, P.similar, [u, l], {
      gamma: params.gamma as number,
      maxIter: params.maxIter as number,
      tol: params.tol as number,
    });
    return {
      metric: MahalanobisMetric.fromM(res.M, { tol: 1e-8 }),
      iterations: res.iterations,
      converged: res.converged,
      objective: res.trace,
      seconds: (performance.now() - t0) / 1000,
      params: { ...params },
      warnings: [],
    };
  },
};
