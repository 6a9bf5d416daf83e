import { RobustMetricError } from "../errors.js";
import { cholesky } from "../linalg/cholesky.js";
import { clone, type Mat } from "../linalg/mat.js";
import { symmetrize } from "../linalg/sym.js";

/** A smooth objective on the open cone of positive definite matrices: value, and the symmetric gradient on request. */
export type PdObjective = (M: Mat, withGradient: boolean) => { value: number; gradient: Mat | undefined };

/** Options of {@link pdArmijoDescent}; the defaults are the AML code's constants (reference/aml.md §3.1). */
export interface PdArmijoOptions {
  /** First trial step ρ₀ of every iteration (default 1e−3). */
  rho0?: number;
  /** Objective evaluations, i.e. outer iterations (default 100). */
  maxIter?: number;
  /** Halvings of ρ per iteration (default 50: 51 trials). */
  maxHalvings?: number;
  /** Stop when |F_i − F_{i−1}| / F_{i−1} < tol (default 1e−10). */
  tol?: number;
  /** Armijo constant c in F(M) − F(C) ≥ c·ρ·‖G‖²_F (default 0.5). */
  armijo?: number;
  /**
   * First trial of the next iteration = max(ρ₀, stepGrowth × the last accepted ρ) (default 1: every iteration
   * restarts at ρ₀, as the code does). Not in the released code: spec §7 item 3 suggests it as an option.
   */
  stepGrowth?: number;
  onIteration?: (iteration: number, value: number) => void;
}

/** What {@link pdArmijoDescent} returns. */
export interface PdArmijoResult {
  /** The iterate with the lowest objective seen (the code returns the best, not the last). */
  best: Mat;
  bestValue: number;
  /** Objective evaluations made at iterates (F_1 = F(M₀), …). */
  iterations: number;
  /** The relative change fell below tol. */
  converged: boolean;
  /** The line search found no acceptable step at the last iteration (the code then stops, as F stops changing). */
  lineSearchFailed: boolean;
  trace: number[];
}

function isPd(C: Mat): boolean {
  try {
    cholesky(C);
    return true;
  } catch {
    return false;
  }
}

/**
 * Gradient descent on the open cone of positive definite matrices with an Armijo backtracking search that keeps
 * the iterate positive definite by rejection (the AML code's full-batch solver, reference/aml.md §3.1): at
 * iteration i, F_i = F(M) (remember the best); stop if i ≥ 2 and |F_i − F_{i−1}|/F_{i−1} < tol; G = ∇F(M); try
 * C = sym(M − ρG) for ρ = ρ₀, ρ₀/2, … (maxHalvings + 1 trials) and accept the first C that is positive definite
 * (Cholesky) and satisfies F(M) − F(C) ≥ armijo·ρ·‖G‖²_F. No projection: by §4 item 3 small enough steps stay in
 * the cone on a compact sublevel set, so this is a monotone descent method whose limit points are stationary.
 *
 * @throws RobustMetricError NUMERICAL when the objective or gradient is not finite at an accepted iterate.
 * @example
 * const r = pdArmijoDescent((M, g) => amlObjective(M, A, B, N, opts, g), eye(p));
 */
export function pdArmijoDescent(f: PdObjective, M0: Mat, opts: PdArmijoOptions = {}): PdArmijoResult {
  const rho0 = opts.rho0 ?? 1e-3;
  const maxIter = opts.maxIter ?? 100;
  const maxHalvings = opts.maxHalvings ?? 50;
  const tol = opts.tol ?? 1e-10;
  const armijo = opts.armijo ?? 0.5;
  const growth = opts.stepGrowth ?? 1;
  let M = clone(M0);
  let best = clone(M0);
  let bestValue = Number.POSITIVE_INFINITY;
  const trace: number[] = [];
  let converged = false;
  let lineSearchFailed = false;
  let lastRho = rho0;
  let current = f(M, true);
  for (let i = 1; i <= maxIter; i++) {
    const Fi = current.value;
    if (!Number.isFinite(Fi))
      throw new RobustMetricError("NUMERICAL", `objective is ${Fi} at iteration ${i}`);
    trace.push(Fi);
    opts.onIteration?.(i, Fi);
    if (Fi < bestValue) {
      bestValue = Fi;
      best = clone(M);
    }
    if (i >= 2 && Math.abs(Fi - trace[i - 2]!) / Math.abs(trace[i - 2]!) < tol) {
      converged = true;
      break;
    }
    if (i === maxIter) break;
    const G = current.gradient;
    if (!G) throw new RobustMetricError("INTERNAL", "objective returned no gradient");
    let g2 = 0;
    for (const v of G.data) g2 += v * v;
    if (!Number.isFinite(g2))
      throw new RobustMetricError("NUMERICAL", `gradient is not finite at iteration ${i}`);
    let rho = growth === 1 ? rho0 : Math.max(rho0, growth * lastRho);
    let accepted = false;
    for (let trial = 0; trial <= maxHalvings; trial++) {
      const C: Mat = { rows: M.rows, cols: M.cols, data: M.data.map((v, k) => v - rho * G.data[k]!) };
      symmetrize(C);
      if (isPd(C)) {
        const FC = f(C, false).value;
        if (Fi - FC >= armijo * rho * g2) {
          M = C;
          lastRho = rho;
          accepted = true;
          break;
        }
      }
      rho /= 2;
    }
    // An unchanged M gives F_{i+1} = F_i, the code's relative-change stop; we record that as a failed search.
    if (!accepted) {
      lineSearchFailed = true;
      break;
    }
    current = f(M, true);
  }
  return { best, bestValue, iterations: trace.length, converged, lineSearchFailed, trace };
}
