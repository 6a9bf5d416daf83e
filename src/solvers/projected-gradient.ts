import { RobustMetricError } from "../errors.js";
import { eye, type Mat } from "../linalg/mat.js";
import { psdProject } from "../linalg/sym.js";

/** An objective of a PSD matrix M: its value and, when asked, its symmetric gradient. */
export interface MatrixObjective {
  evaluate(M: Mat, withGradient: boolean): { value: number; gradient: Mat | undefined };
}

/** Options of {@link projectedGradient}; the defaults are the LMNN-PL authors' constants (perturbation-loss.md §3). */
export interface ProjectedGradientOptions {
  /** Initial step α₀ (default 1). */
  alpha0?: number;
  /** Iteration cap (default 1000): at most maxIter gradient steps, maxIter + 1 objective evaluations. */
  maxIter?: number;
  /** Relative tolerance η (default 1e−7): stop when the last 5 |ΔF| are all below η·F. */
  eta?: number;
  /** No convergence test before this many evaluations (default 50). */
  minIter?: number;
  /** Eigenvalues below this become exactly 0 in the PSD projection (default 1e−10). */
  clip?: number;
  /** Step growth after a decrease of F (default 1.01, the authors'); the step halves otherwise (floor 1e−4). */
  grow?: number;
  /** Starting matrix (default I). */
  M0?: Mat;
  /**
   * Called before the objective is evaluated at evaluation t ≥ 2 and once more when the convergence test passes
   * (`final`): lets a learner refresh its active set (LMNN impostors). Return true when the objective changed.
   */
  refresh?: (M: Mat, t: number, final: boolean) => boolean;
  onIteration?: (t: number, value: number) => void;
}

/** What {@link projectedGradient} returns. */
export interface ProjectedGradientResult {
  M: Mat;
  /** Number of objective evaluations (the authors' `iter`: a converged run did iterations − 1 steps). */
  iterations: number;
  converged: boolean;
  /** F_1 = F(M₀), …, F_iterations. */
  trace: number[];
  /** Eigenvalues of the final M (from its last projection; M₀'s when no step was taken). */
  eigenvalues: Float64Array | undefined;
}

/**
 * Projected gradient descent on a PSD matrix with the "bold driver" step of the LMNN-PL code
 * (reference/perturbation-loss.md §3): M ← Π_PSD(M − α∇F) by eigenvalue clipping; α grows ×1.01 after a decrease
 * of F and halves (floor 1e−4) otherwise; a step is never rejected. Stops when at least `minIter` evaluations are
 * done and the last five |F_s − F_{s−1}| are all below η·F_t (converged), when M becomes exactly zero (converged:
 * the authors' code tests "any entry zero", a typo; we test the intended "all entries zero"), or after `maxIter`
 * steps (not converged).
 *
 * @throws RobustMetricError NUMERICAL when the objective is not finite, naming the evaluation.
 * @example
 * const { M, converged } = projectedGradient(objective, p, { maxIter: 500 });
 */
export function projectedGradient(
  objective: MatrixObjective,
  p: number,
  opts: ProjectedGradientOptions = {},
): ProjectedGradientResult {
  const alpha0 = opts.alpha0 ?? 1;
  const maxIter = opts.maxIter ?? 1000;
  const eta = opts.eta ?? 1e-7;
  const minIter = opts.minIter ?? 50;
  const clip = opts.clip ?? 1e-10;
  const grow = opts.grow ?? 1.01;
  let M = opts.M0 ? { rows: p, cols: p, data: opts.M0.data.slice() } : eye(p);
  let alpha = alpha0;
  let t = 1;
  const check = (v: number): number => {
    if (!Number.isFinite(v)) throw new RobustMetricError("NUMERICAL", `objective is ${v} at evaluation ${t}`);
    return v;
  };
  let r = objective.evaluate(M, true);
  const trace = [check(r.value)];
  opts.onIteration?.(t, r.value);
  let eigenvalues: Float64Array | undefined;
  let converged = false;
  while (t <= maxIter) {
    const G = r.gradient!;
    const step: Mat = { rows: p, cols: p, data: new Float64Array(p * p) };
    for (let k = 0; k < p * p; k++) step.data[k] = M.data[k]! - alpha * G.data[k]!;
    const proj = psdProject(step, clip);
    M = proj.matrix;
    eigenvalues = proj.values;
    if (allZero(M.data)) {
      converged = true;
      break;
    }
    t++;
    opts.refresh?.(M, t, false);
    r = objective.evaluate(M, true);
    trace.push(check(r.value));
    opts.onIteration?.(t, r.value);
    const F = r.value;
    if (t >= minIter && t >= 6) {
      let maxDiff = 0;
      for (let s = t - 5; s < t; s++) maxDiff = Math.max(maxDiff, Math.abs(trace[s]! - trace[s - 1]!));
      if (maxDiff < eta * F) {
        if (!(opts.refresh?.(M, t, true) ?? false)) {
          converged = true;
          break;
        }
        // the active set changed: evaluate the new objective at the same M and go on
        r = objective.evaluate(M, true);
        trace[trace.length - 1] = check(r.value);
      }
    }
    alpha = F < trace[t - 2]! ? grow * alpha : Math.max(0.5 * alpha, 1e-4);
  }
  return { M, iterations: t, converged, trace, eigenvalues };
}

function allZero(a: Float64Array): boolean {
  for (let k = 0; k < a.length; k++) if (a[k] !== 0) return false;
  return true;
}
