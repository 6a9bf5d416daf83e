import type { Rng } from "../data/rng.js";
import { Rng as SeededRng } from "../data/rng.js";
import { RobustMetricError } from "../errors.js";
import { eye, type Mat } from "../linalg/mat.js";
import { MahalanobisMetric } from "../metric/mahalanobis.js";
import {
  type AmlOptions,
  type AmlVariant,
  amlGmmlPoint,
  amlObjective,
  amlScatters,
} from "../objectives/aml.js";
import { type PdArmijoOptions, pdArmijoDescent } from "../solvers/pd-step.js";
import { guarded } from "./guard.js";
import type { FitOptions, FitResult, Learner, ParamValues } from "./types.js";

/**
 * `count` distinct ordered index pairs (p, q) drawn uniformly without repetition from the n² possible ones,
 * self-pairs allowed, each labelled similar when y_p = y_q: the AML code's pair sampling (reference/aml.md §3.4),
 * with a seeded Rng. `count` is capped at n².
 *
 * @throws RobustMetricError BAD_INPUT for a count that is not a non-negative integer or an empty y.
 * @example const pairs = amlPairs(y, 2000, new Rng(0));
 */
export function amlPairs(
  y: Int32Array,
  count: number,
  rng: Rng,
): { a: Int32Array; b: Int32Array; similar: Uint8Array } {
  if (!Number.isInteger(count) || count < 0)
    throw new RobustMetricError("BAD_INPUT", `pair count must be an integer ≥ 0, got ${count}`);
  const n = y.length;
  if (n < 1) throw new RobustMetricError("BAD_INPUT", "need at least one row to form pairs");
  const total = n * n;
  const N = Math.min(count, total);
  const codes = new Float64Array(N);
  if (2 * N >= total) {
    // dense: a partial Fisher–Yates shuffle of all n² codes (n² ≤ 2N here, so this is cheap)
    const all = new Int32Array(total);
    for (let i = 0; i < total; i++) all[i] = i;
    for (let i = 0; i < N; i++) {
      const j = rng.int(i, total - 1);
      const t = all[i]!;
      all[i] = all[j]!;
      all[j] = t;
      codes[i] = all[i]!;
    }
  } else {
    // sparse: rejection of repeats (expected < 2 draws per pair)
    const seen = new Set<number>();
    let i = 0;
    while (i < N) {
      const c = rng.int(0, total - 1);
      if (seen.has(c)) continue;
      seen.add(c);
      codes[i++] = c;
    }
  }
  const a = new Int32Array(N);
  const b = new Int32Array(N);
  const similar = new Uint8Array(N);
  for (let t = 0; t < N; t++) {
    const c = codes[t]!;
    a[t] = Math.floor(c / n);
    b[t] = c - a[t]! * n;
    similar[t] = y[a[t]!] === y[b[t]!] ? 1 : 0;
  }
  return { a, b, similar };
}

/** Options of {@link fitAmlScatters}: the objective's α, β, variant, the solver's constants, the GMML check. */
export interface AmlFitOptions extends AmlOptions, PdArmijoOptions {
  /** Compare with the GMML closed form A⁻¹ # B at the end and keep whichever has the lower F (default true). */
  gmmlFallback?: boolean;
}

/** What {@link fitAmlScatters} returns. */
export interface AmlFitResult {
  M: Mat;
  /** F of the returned M. */
  value: number;
  /** "descent" (the best iterate) or "gmml" (the GMML closed form had a lower F). */
  source: "descent" | "gmml";
  /** F(A⁻¹ # B), when computed. */
  gmmlValue: number | undefined;
  /** Why the GMML check was skipped (A⁻¹ # B or its F not computable), if it was. */
  gmmlSkipped: string | undefined;
  iterations: number;
  converged: boolean;
  lineSearchFailed: boolean;
  trace: number[];
}

/**
 * The AML fit on given scatters (reference/aml.md §3.1): from M = I, PD-preserving Armijo gradient descent on the
 * single-level objective F (src/objectives/aml.ts; correct Daleckii–Krein gradient, §3.2), keeping the best iterate;
 * then, if `gmmlFallback`, the GMML point A⁻¹ # B replaces it when its F is lower. Reproduces the spec's fixture 1
 * (e.g. α = 10, β = 1: best F = 8.296520355015).
 *
 * @param A, B unnormalised similar / dissimilar scatters (p×p). @param N number of pairs.
 * @throws RobustMetricError as amlObjective; NUMERICAL for a non-finite objective.
 * @example const r = fitAmlScatters(A, B, 6, { alpha: 10, beta: 1 }); r.M
 */
export function fitAmlScatters(A: Mat, B: Mat, N: number, opts: AmlFitOptions): AmlFitResult {
  const o: AmlOptions = { alpha: opts.alpha, beta: opts.beta, variant: opts.variant ?? "code" };
  const f = (M: Mat, g: boolean) => amlObjective(M, A, B, N, o, g);
  const r = pdArmijoDescent(f, eye(A.rows), opts);
  let M = r.best;
  let value = r.bestValue;
  let source: "descent" | "gmml" = "descent";
  let gmmlValue: number | undefined;
  let gmmlSkipped: string | undefined;
  if (opts.gmmlFallback ?? true) {
    try {
      const Mg = amlGmmlPoint(A, B);
      gmmlValue = f(Mg, false).value;
      if (!Number.isFinite(gmmlValue)) gmmlSkipped = `F(A⁻¹ # B) = ${gmmlValue}`;
      else if (gmmlValue < value) {
        M = Mg;
        value = gmmlValue;
        source = "gmml";
      }
    } catch (e) {
      // only when A or B is entirely zero (the learner's ridge prevents that) or F(M_GMML) is not finite
      if (!(e instanceof RobustMetricError && e.code === "NUMERICAL")) throw e;
      gmmlSkipped = e.message;
    }
  }
  return {
    M,
    value,
    source,
    gmmlValue,
    gmmlSkipped,
    iterations: r.iterations,
    converged: r.converged,
    lineSearchFailed: r.lineSearchFailed,
    trace: r.trace,
  };
}

/** Adds ridge·tr(S)/p·I to S in place (ridge·scale·I when S is zero), so that A, B ≻ 0 for the GMML check. */
function addRidge(S: Mat, ridge: number, fallbackScale: number): void {
  const p = S.rows;
  let tr = 0;
  for (let i = 0; i < p; i++) tr += S.data[i * p + i]!;
  const shift = ridge * (tr > 0 ? tr / p : fallbackScale);
  for (let i = 0; i < p; i++) S.data[i * p + i]! += shift;
}

/**
 * AML, Adversarial Metric Learning (Chen et al., IJCAI 2018; reference/aml.md). `pairs` = 2000 ordered pairs are
 * drawn from the labels as the authors' code does (§3.4: distinct, self-pairs allowed, seeded by the fit's Rng); the
 * confusion stage is solved in closed form and the distinguishment stage minimises the resulting F(M) (§2.4) by the
 * code's PD-preserving Armijo descent (§3.1) with the corrected gradient (§3.2), then keeps the GMML point if it is
 * better. Defaults are the authors' demo and code constants: α = 10, β = 1, ρ₀ = 1e−3, 100 iterations, 50
 * halvings, tol 1e−10. `variant` = "code" (released objective) or "h1" (the derived first-principles reading,
 * §2.6). A ridge of 1e−8·tr/p (spec §7 item 7) keeps both scatters positive definite.
 *
 * @throws RobustMetricError BAD_INPUT for one class only or when every sampled pair difference is zero.
 * @example const { metric } = aml.fit(X, y, resolveParams(aml), { rng: new Rng(0) });
 */
export const aml: Learner = guarded({
  name: "aml",
  description: "AML, adversarial metric learning (Chen et al., IJCAI 2018)",
  params: {
    alpha: { type: "number", default: 10, min: 0, doc: "weight α of the adversarial pairs' loss (demo: 10)" },
    beta: {
      type: "number",
      default: 1,
      min: 0,
      doc: "locality strength β > 0 of the confusion stage (demo: 1)",
    },
    variant: {
      type: "string",
      default: "code",
      choices: ["code", "h1"],
      doc: "confusion stage: 'code' = released code's objective (§2.4), 'h1' = derived reading (§2.6)",
    },
    pairs: {
      type: "int",
      default: 2000,
      min: 1,
      doc: "ordered pairs sampled from n² (capped at n²; demo: 2000)",
    },
    rho0: { type: "number", default: 1e-3, min: 0, doc: "first trial step of every iteration (code: 1e−3)" },
    maxIter: { type: "int", default: 100, min: 1, doc: "objective evaluations (code: 100)" },
    maxHalvings: { type: "int", default: 50, min: 0, doc: "step halvings per line search (code: 50)" },
    tol: { type: "number", default: 1e-10, min: 0, doc: "stop when |ΔF|/F < tol (code: 1e−10)" },
    stepGrowth: {
      type: "number",
      default: 1,
      min: 1,
      doc: "restart the step at max(ρ₀, growth × last accepted) (1: reset to ρ₀ as the code)",
    },
    gmmlFallback: { type: "boolean", default: true, doc: "return A⁻¹ # B when its F is lower (code: yes)" },
    ridge: {
      type: "number",
      default: 1e-8,
      min: 0,
      doc: "ridge added to both scatters, relative to their mean eigenvalue",
    },
  },
  fit(X: Mat, y: Int32Array, params: ParamValues, options: FitOptions = {}): FitResult {
    const t0 = performance.now();
    if (X.rows !== y.length)
      throw new RobustMetricError("SHAPE_MISMATCH", `X has ${X.rows} rows but y has ${y.length} labels`);
    const classes = new Set(y).size;
    if (classes < 2)
      throw new RobustMetricError(
        "BAD_INPUT",
        `AML needs at least two classes (dissimilar pairs), got ${classes} class among ${y.length} rows`,
      );
    const rng = options.rng ?? new SeededRng(0);
    const P = amlPairs(y, params.pairs as number, rng);
    const { A, B, N } = amlScatters(X, P);
    const warnings: string[] = [];
    let trA = 0;
    let trB = 0;
    for (let i = 0; i < X.cols; i++) {
      trA += A.data[i * X.cols + i]!;
      trB += B.data[i * X.cols + i]!;
    }
    if (!(trA + trB > 0))
      throw new RobustMetricError(
        "BAD_INPUT",
        `all ${N} sampled pair differences are zero (every row of the ${X.rows}×${X.cols} data is the same?)`,
      );
    let nSim = 0;
    for (const s of P.similar) nSim += s;
    if (nSim === 0 || nSim === N)
      warnings.push(`AML: all ${N} sampled pairs are ${nSim === 0 ? "dissimilar" : "similar"}`);
    const ridge = params.ridge as number;
    const scale = (trA + trB) / X.cols;
    addRidge(A, Math.max(ridge, trA > 0 ? 0 : 1e-8), scale);
    addRidge(B, Math.max(ridge, trB > 0 ? 0 : 1e-8), scale);
    const r = fitAmlScatters(A, B, N, {
      alpha: params.alpha as number,
      beta: params.beta as number,
      variant: params.variant as AmlVariant,
      rho0: params.rho0 as number,
      maxIter: params.maxIter as number,
      maxHalvings: params.maxHalvings as number,
      tol: params.tol as number,
      stepGrowth: params.stepGrowth as number,
      gmmlFallback: params.gmmlFallback as boolean,
      ...(options.onIteration ? { onIteration: options.onIteration } : {}),
    });
    if (r.lineSearchFailed && r.source === "descent")
      warnings.push(
        `AML: no positive definite Armijo step after ${(params.maxHalvings as number) + 1} trials at iteration ${r.iterations}; returning the best iterate`,
      );
    if (r.gmmlSkipped) warnings.push(`AML: GMML check skipped (${r.gmmlSkipped})`);
    const objective = r.source === "gmml" ? [...r.trace, r.value] : r.trace;
    return {
      metric: MahalanobisMetric.fromM(r.M),
      iterations: r.iterations,
      converged: r.converged,
      objective,
      seconds: (performance.now() - t0) / 1000,
      params: { ...params },
      warnings,
    };
  },
});
