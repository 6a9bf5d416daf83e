import { RobustMetricError } from "../errors.js";
import { type Mat, zeros } from "../linalg/mat.js";
import { sweepState } from "./bregman-kernel.js";

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
  // the state lives in WebAssembly memory when the SIMD sweep is available (same bits as the JavaScript sweep)
  const { state, sweep } = sweepState(C, p);
  const { M: Md, lambda, bhat } = state;
  for (let i = 0; i < p; i++) Md[i * p + i] = 1;
  state.diffs.set(diffs.data.subarray(0, C * p));
  for (let c = 0; c < C; c++) {
    state.similar[c] = similar[c] ? 1 : 0;
    bhat[c] = similar[c] ? u : l;
  }
  const old = new Float64Array(C);
  const trace: number[] = [];
  let converged = false;
  let it = 0;
  while (it < maxIter) {
    it++;
    sweep(gamma, gproj);
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
  const M = zeros(p, p);
  for (let r = 0; r < p; r++) {
    M.data[r * p + r] = Md[r * p + r]!;
    for (let k = r + 1; k < p; k++) {
      const v = 0.5 * (Md[r * p + k]! + Md[k * p + r]!);
      M.data[r * p + k] = v;
      M.data[k * p + r] = v;
    }
  }
  return { M, iterations: it, converged, trace };
}
