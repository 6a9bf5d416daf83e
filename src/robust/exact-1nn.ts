// The exact minimal adversarial perturbation of Mahalanobis 1-NN (Wang et al. 2020, reference/certification.md
// §1.3, after the authors' `torch_exact.py`): one QP per negative training point, solved in the dual by greedy
// coordinate descent, negatives screened by half-space lower bounds and visited in increasing order of them.
import { Rng } from "../data/rng.js";
import { RobustMetricError } from "../errors.js";
import type { CertificationContext, PreparedQuery } from "./margins.js";

/** Options of the exact 1-NN solver (defaults: the authors' configuration, §1.3). */
export interface Exact1nnOptions {
  /** Size of the screening subset of positives (the M-nearest one plus random others), capped at |P|. Default 50. */
  screenSize?: number;
  /** Greedy coordinate descent: maximum iterations per QP (default 20000) and step tolerance (default 1e−12). */
  maxIter?: number;
  eps?: number;
  /** Seed of the screening subset (the authors' is unseeded; it only affects speed). Default 0. */
  seed?: number;
  /** Use the context's per-class denominator cache for screening (speed only). Default true. */
  cache?: boolean;
}

/** The dual QP of one negative. */
export interface NegativeQpResult {
  /** Training row of the negative. */
  negative: number;
  /** Sound lower bound on ε_j (the dual value with rounding deflation, or the half-space bound if larger). */
  lowerBound: number;
  /** δ = −Aᵀλ (null when the negative is infeasible). */
  delta: Float64Array | null;
  /** ‖δ‖: ε_j up to the solver's accuracy (+∞ when infeasible). */
  primalNorm: number;
  iterations: number;
  converged: boolean;
  /** True when the negative can never become the nearest neighbour (a zero row a_i with b_i < 0, or a tie lost). */
  infeasible: boolean;
}

/** The result of {@link exactMinimalPerturbation1nn}. */
export interface Exact1nnResult {
  prediction: number;
  label: number;
  /**
   * A verified adversarial perturbation: the 1-NN prediction at z + delta differs from `label` (checked by
   * re-classification). All zeros when z is already misclassified; null when no adversarial example exists or none
   * could be verified.
   */
  delta: Float64Array | null;
  /** ‖delta‖: an upper bound on ε*(z) (0 when misclassified, +∞ when delta is null). */
  norm: number;
  /** A sound lower bound on ε*(z): every z + δ with ‖δ‖ < lowerBound is classified `label`. */
  lowerBound: number;
  /** Number of per-negative QPs solved. */
  qpsSolved: number;
  /** True when every QP solved met the step tolerance within maxIter. */
  converged: boolean;
  /** Negatives found infeasible (they can never be the nearest neighbour). */
  infeasible: number;
}

/**
 * Solves min ½‖δ‖² s.t. Aδ ≤ b for negative x_j (rows over the positives P: a_i = 2M(x_i − x_j),
 * b_i = d_M(z,x_i) − d_M(z,x_j)) through its dual min_{λ≥0} ½λᵀQλ + bᵀλ, Q = AAᵀ, by greedy coordinate descent
 * (Gauss–Southwell: the coordinate whose exact projected 1-D step is largest), δ = −Aᵀλ. Columns of Q are formed
 * on demand from A (no |P|² matrix). The lower bound is the dual value √max(0, −‖Aᵀλ‖² − 2bᵀλ), valid for every
 * λ ≥ 0 by weak duality, deflated by the rounding bounds of A and b.
 * Rows of positives that are bitwise tied with x_j are decided by the tie rule (dropped when j wins ties,
 * infeasible otherwise); rows with a numerically zero a_i are dropped when b_i ≥ 0 (within rounding) and make the
 * negative infeasible otherwise (its bound is then the huge, sound half-space value).
 *
 * @param P training rows of the positives.
 * @example
 * const q = ctx.prepare(z);
 * solveNegativeQp(ctx, q, ctx.classRows[label], j).primalNorm;
 */
export function solveNegativeQp(
  ctx: CertificationContext,
  query: PreparedQuery,
  P: ArrayLike<number>,
  j: number,
  opts: Exact1nnOptions = {},
): NegativeQpResult {
  const maxIter = opts.maxIter ?? 20000;
  const eps = opts.eps ?? 1e-12;
  const p = ctx.p;
  const U = ctx.U.data;
  const rows: number[] = [];
  const Aall = new Float64Array(P.length * p);
  const b: number[] = [];
  const errA: number[] = [];
  const errB: number[] = [];
  const infeasible = (lowerBound: number): NegativeQpResult => ({
    negative: j,
    lowerBound,
    delta: null,
    primalNorm: Number.POSITIVE_INFINITY,
    iterations: 0,
    converged: true,
    infeasible: true,
  });
  let m = 0;
  for (let t = 0; t < P.length; t++) {
    const i = P[t]!;
    if (ctx.tieGroup[i] === ctx.tieGroup[j]) {
      if (i < j) return infeasible(Number.POSITIVE_INFINITY);
      continue;
    }
    let s = 0;
    const o = m * p;
    for (let c = 0; c < p; c++) {
      const a = 2 * (U[i * p + c]! - U[j * p + c]!);
      Aall[o + c] = a;
      s += a * a;
    }
    const aNorm = Math.sqrt(s);
    const bi = query.d[i]! - query.d[j]!;
    const eb = query.dErr[i]! + query.dErr[j]! + ctx.rho * Math.abs(bi);
    const ea = ctx.rowError(i, j, aNorm);
    if (aNorm <= ea) {
      if (bi + eb >= 0) continue;
      return infeasible(ctx.pairMargin(query, i, j, aNorm));
    }
    rows.push(i);
    b.push(bi);
    errA.push(ea);
    errB.push(eb);
    m++;
  }
  const A = Aall.subarray(0, m * p);
  const { lambda, iterations: it, converged } = gcdDual(A, Float64Array.from(b), m, p, maxIter, eps);
  const delta = new Float64Array(p);
  let sumLa = 0;
  let sumLb = 0;
  for (let k = 0; k < m; k++) {
    const l = lambda[k]!;
    if (l === 0) continue;
    for (let c = 0; c < p; c++) delta[c] = delta[c]! - l * A[k * p + c]!;
    sumLa += l * errA[k]!;
    sumLb += l * (b[k]! + errB[k]! + ctx.rho * Math.abs(b[k]!));
  }
  let dn = 0;
  for (let c = 0; c < p; c++) dn += delta[c]! ** 2;
  dn = Math.sqrt(dn);
  // ε_j² ≥ −‖A*ᵀλ‖² − 2b*ᵀλ for the exact A*, b*, with ‖A*ᵀλ‖ ≤ ‖Aᵀλ‖(1 + ρ) + Σλ_i errA_i
  const up = dn * (1 + ctx.rho) + sumLa;
  const val = -up * up - 2 * sumLb;
  const dual = val > 0 ? Math.sqrt(val) * (1 - ctx.rho) : 0;
  return {
    negative: j,
    lowerBound: dual,
    delta,
    primalNorm: dn,
    iterations: it,
    converged,
    infeasible: false,
  };
}

/**
 * Greedy coordinate descent (Gauss–Southwell) on the dual of min ½‖δ‖² s.t. Aδ ≤ b: min_{λ≥0} ½λᵀQλ + bᵀλ with
 * Q = AAᵀ (certification.md §1.3): keep g = Qλ + b, take the coordinate whose exact projected 1-D step
 * max(λ_i − g_i/Q_ii, 0) − λ_i is largest in magnitude (Q_ii floored at eps), stop when it is below eps or after
 * maxIter steps. Columns of Q are formed from A when first needed.
 *
 * @param A m×p row-major constraint rows; b length m.
 * @returns λ ≥ 0, the iterations taken and whether the step tolerance was met.
 * @example
 * const { lambda } = gcdDual(A, b, m, p, 20000, 1e-12); // δ = −Aᵀλ
 */
export function gcdDual(
  A: Float64Array,
  b: Float64Array,
  m: number,
  p: number,
  maxIter = 20000,
  eps = 1e-12,
): { lambda: Float64Array; iterations: number; converged: boolean } {
  const lambda = new Float64Array(m);
  const g = Float64Array.from(b.subarray(0, m));
  const D = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    let s = 0;
    for (let c = 0; c < p; c++) s += A[k * p + c]! ** 2;
    D[k] = Math.max(s, eps);
  }
  const cols: (Float64Array | undefined)[] = new Array(m);
  let it = 0;
  let converged = m === 0;
  for (; it < maxIter && m > 0; it++) {
    let best = -1;
    let bestAbs = 0;
    let bestStep = 0;
    for (let k = 0; k < m; k++) {
      let nl = lambda[k]! - g[k]! / D[k]!;
      if (nl < 0) nl = 0;
      const step = nl - lambda[k]!;
      const a = Math.abs(step);
      if (a > bestAbs) {
        bestAbs = a;
        best = k;
        bestStep = step;
      }
    }
    if (bestAbs < eps) {
      converged = true;
      break;
    }
    let col = cols[best];
    if (!col) {
      col = new Float64Array(m);
      const ob = best * p;
      for (let k = 0; k < m; k++) {
        const ok = k * p;
        let s = 0;
        for (let c = 0; c < p; c++) s += A[ok + c]! * A[ob + c]!;
        col[k] = s;
      }
      cols[best] = col;
    }
    for (let k = 0; k < m; k++) g[k] = g[k]! + bestStep * col[k]!;
    lambda[best] = lambda[best]! + bestStep;
  }
  return { lambda, iterations: it, converged };
}

/** Candidates pushed strictly inside the adversarial region (the exact δ lies on the tie surface). */
function* pushes(z: Float64Array, delta: Float64Array, xj: Float64Array): Generator<Float64Array> {
  const p = z.length;
  for (const eta of [1e-9, 1e-7, 1e-5, 1e-3]) {
    const a = new Float64Array(p);
    for (let c = 0; c < p; c++) a[c] = delta[c]! * (1 + eta);
    yield a;
    // moving toward x_j keeps it (weakly) nearest by the triangle inequality of the M-seminorm
    const b = new Float64Array(p);
    for (let c = 0; c < p; c++) b[c] = delta[c]! + eta * (xj[c]! - z[c]! - delta[c]!);
    yield b;
  }
}

/**
 * The solver settings of {@link exactMinimalPerturbation1nn} with their defaults (screenSize 50, maxIter 20000,
 * eps 1e−12).
 *
 * @throws RobustMetricError BAD_INPUT naming a bad option.
 * @example exact1nnSettings({ screenSize: 10 }).maxIter // 20000
 */
export function exact1nnSettings(opts: Exact1nnOptions): {
  screenSize: number;
  maxIter: number;
  eps: number;
} {
  const screenSize = opts.screenSize ?? 50;
  if (!Number.isInteger(screenSize) || screenSize < 1)
    throw new RobustMetricError("BAD_INPUT", `screenSize must be a positive integer, got ${screenSize}`);
  const maxIter = opts.maxIter ?? 20000;
  if (!Number.isInteger(maxIter) || maxIter < 1)
    throw new RobustMetricError("BAD_INPUT", `maxIter must be a positive integer, got ${maxIter}`);
  const eps = opts.eps ?? 1e-12;
  if (!(eps > 0)) throw new RobustMetricError("BAD_INPUT", `eps must be positive, got ${eps}`);
  return { screenSize, maxIter, eps };
}

/**
 * The exact minimal adversarial perturbation of a 1-NN classifier under a Mahalanobis metric (certification.md
 * §1.3): ε*(z) = min over negatives x_j of ε_j, each the QP of {@link solveNegativeQp}. Screening: a seeded subset
 * S of the positives (the M-nearest one plus screenSize − 1 random ones, capped at |P|) gives each negative the
 * sound lower bound LB_j = max_{i∈S} ε̃(x_i, x_j, z); negatives are solved in increasing LB_j and the search stops
 * once the best verified norm is ≤ the next LB_j. Returns both bounds: `norm` (a verified adversarial example,
 * pushed slightly inside the region and re-classified) and `lowerBound` (the minimum of the dual bounds of the
 * solved negatives and of the first pruned LB_j). Perturbations are Euclidean in the space of the rows of X. Under
 * the library's tie rule 1-NN predicts the class of the nearest training point, the lower index on equal distances.
 *
 * @param label the true class code; omit to attack/certify the prediction itself.
 * @throws RobustMetricError BAD_INPUT for bad options; SHAPE_MISMATCH for a z of the wrong length.
 * @example
 * const ctx = CertificationContext.fromClassifier(knn1);
 * const r = exactMinimalPerturbation1nn(ctx, [0.3, 0.3], 1); // r.norm ≈ r.lowerBound ≈ 0.0132087228
 */
export function exactMinimalPerturbation1nn(
  ctx: CertificationContext,
  z: ArrayLike<number>,
  label?: number,
  opts: Exact1nnOptions = {},
): Exact1nnResult {
  const { screenSize, maxIter, eps } = exact1nnSettings(opts);
  const query = ctx.prepare(z);
  const { d } = query;
  // 1-NN under the tie rule: the nearest point, the lower index on equal distances
  let nn = 0;
  for (let i = 1; i < ctx.n; i++) if (d[i]! < d[nn]!) nn = i;
  const prediction = ctx.y[nn]!;
  const y = label ?? prediction;
  const base = { prediction, label: y, qpsSolved: 0, converged: true, infeasible: 0 };
  if (prediction !== y) {
    return { ...base, delta: new Float64Array(ctx.p), norm: 0, lowerBound: 0 };
  }
  const P = ctx.classRows[y]!;
  const negatives: number[] = [];
  for (let j = 0; j < ctx.n; j++) if (ctx.y[j] !== y) negatives.push(j);
  if (negatives.length === 0)
    return { ...base, delta: null, norm: Number.POSITIVE_INFINITY, lowerBound: Number.POSITIVE_INFINITY };
  // screening subset (positions in P): the M-nearest positive (= the nearest neighbour) and random others
  let nnPos = 0;
  while (P[nnPos] !== nn) nnPos++;
  const S: number[] = [nnPos];
  const size = Math.min(screenSize, P.length);
  if (size > 1) {
    const others = Array.from(P.keys()).filter((t) => t !== nnPos);
    const rng = new Rng(opts.seed ?? 0);
    for (let t = 0; t < size - 1; t++) {
      const r = rng.int(t, others.length - 1);
      const tmp = others[t]!;
      others[t] = others[r]!;
      others[r] = tmp;
      S.push(others[t]!);
    }
  }
  // LB_j = max over S of the sound ε̃, positive-major so that the cached denominators stream
  const LB = new Float64Array(ctx.n);
  const cache = opts.cache === false ? undefined : ctx.classDenominators(y);
  const tg = ctx.tieGroup;
  const { dErr } = query;
  const rho = ctx.rho;
  for (const pi of S) {
    const i = P[pi]!;
    const di = d[i]!;
    const ei = dErr[i]!;
    const base = pi * ctx.n;
    for (const j of negatives) {
      let m: number;
      if (tg[i] === tg[j]) m = j < i ? 0 : Number.POSITIVE_INFINITY;
      else if (cache) {
        // inlined CertificationContext.pairMargin with the cached denominator
        const raw = d[j]! - di;
        const num = raw - ei - dErr[j]! - rho * Math.abs(raw);
        if (!(num > 0)) continue;
        const den = cache[base + j]!;
        m = den > 0 ? (num / den) * (1 - rho) : Number.POSITIVE_INFINITY;
      } else m = ctx.pairMargin(query, i, j);
      if (m > LB[j]!) LB[j] = m;
    }
  }
  negatives.sort((a, b) => LB[a]! - LB[b]! || a - b);
  let bestNorm = Number.POSITIVE_INFINITY;
  let bestDelta: Float64Array | null = null;
  let lower = Number.POSITIVE_INFINITY;
  let qps = 0;
  let converged = true;
  let nInfeasible = 0;
  const p = ctx.p;
  for (const j of negatives) {
    const lbj = LB[j]!;
    if (bestNorm <= lbj) {
      lower = Math.min(lower, lbj);
      break;
    }
    const r = solveNegativeQp(ctx, query, P, j, { maxIter, eps });
    qps++;
    if (!r.converged) converged = false;
    if (r.infeasible) nInfeasible++;
    lower = Math.min(lower, Math.max(r.lowerBound, lbj));
    if (r.delta && r.primalNorm < bestNorm) {
      const xj = ctx.X.data.subarray(j * p, (j + 1) * p);
      for (const cand of pushes(query.z, r.delta, Float64Array.from(xj))) {
        let nrm = 0;
        for (let c = 0; c < p; c++) nrm += cand[c]! ** 2;
        nrm = Math.sqrt(nrm);
        if (nrm >= bestNorm) break;
        const w = new Float64Array(p);
        for (let c = 0; c < p; c++) w[c] = query.z[c]! + cand[c]!;
        if (ctx.predictOne(w, 1) !== y) {
          bestNorm = nrm;
          bestDelta = cand;
          break;
        }
      }
    }
  }
  return {
    ...base,
    delta: bestDelta,
    norm: bestNorm,
    lowerBound: Math.min(lower, bestNorm),
    qpsSolved: qps,
    converged,
    infeasible: nInfeasible,
  };
}
