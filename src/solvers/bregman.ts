import { RobustMetricError } from "../errors.js";
import { eye, type Mat } from "../linalg/mat.js";

/** Options of {@link itmlProjections}. */
export interface BregmanOptions {
  /** Slack γ > 0 (default 1); Infinity enforces the constraints exactly. */
  gamma?: number;
  maxIter?: number;
  /** Stop when Σ|Δλ| / (‖λ‖ + ‖λ_old‖) < tol (default 1e−3, metric-learn's). */
  tol?: number;
}

/**
 * ITML's cyclic Bregman projections (Davis, Kulis, Jain, Sra & Dhillon, "Information-Theoretic Metric Learning",
 * ICML 2007, Algorithm 1) from the prior M₀ = I: for each constraint in turn, a rank-one update
 * M ← M + β M v vᵀ M that moves d²_M(x_i, x_j) towards its slack-adjusted bound (≤ u for similar pairs, ≥ l for
 * dissimilar ones), with dual variables λ ≥ 0. Every update keeps M positive definite. A pair of identical points
 * (v = 0) carries no information and is skipped.
 *
 * @param diffs the pair differences v_c as rows (c×p); `similar[c]` 1 or 0; `bounds` [u, l].
 * @returns M, the number of sweeps, convergence, and the convergence measure per sweep.
 */
export function itmlProjections(
  diffs: Mat,
  similar: Uint8Array,
  bounds: [number, number],
  opts: BregmanOptions = {},
): { M: Mat; iterations: number; converged: boolean; trace: number[] } {
  const gamma = opts.gamma ?? 1;
  const maxIter = opts.maxIter ?? 1000;
  const tol = opts.tol ?? 1e-3;
  if (!(gamma > 0)) throw new RobustMetricError("BAD_INPUT", `gamma must be > 0, got ${gamma}`);
  const [u, l] = bounds;
  if (!(u > 0 && l > 0 && Number.isFinite(u) && Number.isFinite(l))) {
    throw new RobustMetricError(
      "NUMERICAL",
      `ITML distance bounds must be positive and finite, got u = ${u}, l = ${l}`,
    );
  }
  const { rows: C, cols: p } = diffs;
  const gproj = Number.isFinite(gamma) ? gamma / (gamma + 1) : 1;
  const M = eye(p);
  const Md = M.data;
  const lambda = new Float64Array(C);
  const old = new Float64Array(C);
  const bhat = Float64Array.from(similar, (s) => (s ? u : l));
  const Mv = new Float64Array(p);
  const trace: number[] = [];
  let converged = false;
  let it = 0;
  while (it < maxIter) {
    it++;
    for (let c = 0; c < C; c++) {
      const o = c * p;
      let wtw = 0;
      for (let r = 0; r < p; r++) {
        let s = 0;
        for (let k = 0; k < p; k++) s += Md[r * p + k]! * diffs.data[o + k]!;
        Mv[r] = s;
        wtw += s * diffs.data[o + r]!;
      }
      if (!(wtw > 1e-300)) continue;
      let alpha: number;
      let beta: number;
      if (similar[c]) {
        alpha = Math.min(lambda[c]!, gproj * (1 / wtw - 1 / bhat[c]!));
        beta = alpha / (1 - alpha * wtw);
        bhat[c] = 1 / (1 / bhat[c]! + alpha / gamma);
      } else {
        alpha = Math.min(lambda[c]!, gproj * (1 / bhat[c]! - 1 / wtw));
        beta = -alpha / (1 + alpha * wtw);
        bhat[c] = 1 / (1 / bhat[c]! - alpha / gamma);
      }
      lambda[c] = lambda[c]! - alpha;
      if (beta === 0) continue;
      for (let r = 0; r < p; r++) {
        const a = beta * Mv[r]!;
        for (let k = 0; k < p; k++) Md[r * p + k]! += a * Mv[k]!;
      }
    }
    let diff = 0;
    let n1 = 0;
    let n2 = 0;
    for (let c = 0; c < C; c++) {
      diff += Math.abs(lambda[c]! - old[c]!);
      n1 += lambda[c]! ** 2;
      n2 += old[c]! ** 2;
    }
    const norm = Math.sqrt(n1) + Math.sqrt(n2);
    const conv = norm === 0 ? 0 : diff / norm;
    if (!Number.isFinite(conv) || !Md.every(Number.isFinite)) {
      throw new RobustMetricError("NUMERICAL", `ITML projections produced a non-finite value in sweep ${it}`);
    }
    trace.push(conv);
    if (conv < tol) {
      converged = true;
      break;
    }
    old.set(lambda);
  }
  // rank-one updates in floating point leave M a hair off symmetric
  for (let r = 0; r < p; r++) {
    for (let k = r + 1; k < p; k++) {
      const v = 0.5 * (Md[r * p + k]! + Md[k * p + r]!);
      Md[r * p + k] = v;
      Md[k * p + r] = v;
    }
  }
  return { M, iterations: it, converged, trace };
}
