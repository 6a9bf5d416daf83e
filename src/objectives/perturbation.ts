// The perturbation loss of Yang, Guo, Dong and Xue, "Towards Certified Robustness of Distance Metric Learning"
// (arXiv 2006.05945; reference code xyang6/LMNNPL @ 761a471), as a term over triplets that any triplet-based
// learner can add (spec: reference/perturbation-loss.md §1–§2).
//
// Every quantity of a triplet (i, j, l) that the loss uses is a quadratic form of M in a fixed difference:
//   DM = d²_M(x_i, x_l) − d²_M(x_i, x_j)     and     q = ‖M(x_l − x_j)‖² = vᵀM²v,  v = x_l − x_j.
// A term over triplets is therefore a scalar function φ(DM, q) per triplet, and its gradient in M is
//   ∂φ/∂DM · (C_il − C_ij) + ∂φ/∂q · (M v vᵀ + v vᵀ M),     C_ab = (x_a − x_b)(x_a − x_b)ᵀ.
// `TripletEngine` computes DM and q for a whole triplet set once per M (sharing them between all terms) and turns
// the per-triplet partial derivatives, gathered onto the distinct point pairs, into the p×p gradient with two
// n×p×p products (graph-Laplacian form). That is O(n·p² + P·p) per evaluation for P distinct pairs, instead of
// O(|T|·p²) for one outer product per triplet.
import { RobustMetricError } from "../errors.js";
import { assertShape, type Mat, zeros } from "../linalg/mat.js";
import { createKernels, type Kernels } from "./perturbation-kernels.js";

/** The constant added to q in the margin's denominator by the authors' code (spec §1.3, §7 #10). */
export const PERTURBATION_EPS = 1e-10;

/**
 * A triplet set as three parallel arrays of row indices: `anchor[t]` = i, `target[t]` = j (a same-class target
 * neighbour of i), `impostor[t]` = l (a point of another class). Any object with these three arrays works, e.g.
 * the triplets of src/constraints.
 */
export interface TripletIndices {
  readonly anchor: ArrayLike<number>;
  readonly target: ArrayLike<number>;
  readonly impostor: ArrayLike<number>;
}

/** Where a triplet stands with respect to the perturbation loss (spec §2.1). */
export type PerturbationStatus = "violated" | "active" | "inactive";

/** The perturbation loss of one triplet with everything the closed form computes (see {@link perturbationLossTriplet}). */
export interface PerturbationTripletResult {
  /** DM = d²_M(x_i, x_l) − d²_M(x_i, x_j): positive when the triplet is satisfied. */
  dm: number;
  /** q = ‖M(x_l − x_j)‖². */
  q: number;
  /** The squared adversarial margin as the loss uses it: DM² / (4(q + eps)) if DM ≥ 0, else 0. */
  marginSquared: number;
  /** ℓ_P = [τ² − marginSquared]_+ for DM ≥ 0, τ² for DM < 0. */
  loss: number;
  /** "violated" (DM < 0: constant τ², zero gradient), "active" (margin² ≤ τ²) or "inactive" (margin > τ). */
  status: PerturbationStatus;
  /** ∂ℓ_P/∂M, symmetric p×p (zero unless active). */
  gradient: Mat;
}

function checkTriplet(M: Mat, xi: ArrayLike<number>, xj: ArrayLike<number>, xl: ArrayLike<number>): number {
  const p = M.rows;
  assertShape(M, p, p, "M");
  const named: Array<[string, ArrayLike<number>]> = [
    ["x_i", xi],
    ["x_j", xj],
    ["x_l", xl],
  ];
  for (const [name, x] of named) {
    if (x.length !== p) {
      throw new RobustMetricError("SHAPE_MISMATCH", `${name} has ${x.length} values but M is ${p}×${p}`);
    }
  }
  return p;
}

/** DM, q and M·v of one triplet by direct differences (the reference computation for the fast engine). */
function tripletForms(
  M: Mat,
  xi: ArrayLike<number>,
  xj: ArrayLike<number>,
  xl: ArrayLike<number>,
): { dm: number; q: number; mv: Float64Array; v: Float64Array } {
  const p = checkTriplet(M, xi, xj, xl);
  const m = M.data;
  let dil = 0;
  let dij = 0;
  let q = 0;
  const mv = new Float64Array(p);
  const v = new Float64Array(p);
  for (let r = 0; r < p; r++) v[r] = xl[r]! - xj[r]!;
  for (let r = 0; r < p; r++) {
    let sil = 0;
    let sij = 0;
    let sv = 0;
    for (let c = 0; c < p; c++) {
      const mrc = m[r * p + c]!;
      sil += mrc * (xi[c]! - xl[c]!);
      sij += mrc * (xi[c]! - xj[c]!);
      sv += mrc * v[c]!;
    }
    dil += (xi[r]! - xl[r]!) * sil;
    dij += (xi[r]! - xj[r]!) * sij;
    mv[r] = sv;
    q += sv * sv;
  }
  return { dm: dil - dij, q, mv, v };
}

/**
 * The adversarial margin of a triplet (spec §1.3): the Euclidean distance from x_i to the closest point x′ with
 * d_M(x′, x_l) ≤ d_M(x′, x_j), in closed form |g(x_i)| / (2‖M(x_l − x_j)‖) with g(x_i) = DM. It is 0 when the
 * triplet is violated or tied (DM ≤ 0: x_i is itself adversarial) and +∞ when M(x_l − x_j) = 0 and DM > 0 (the
 * ordering cannot flip; in exact arithmetic M v = 0 forces DM = 0, so only rounding reaches that case). Within this radius the ordering of the triplet is certified (§1.3 item 5). No eps here:
 * this is the exact margin, not the loss's regularised one.
 *
 * @param M symmetric PSD p×p matrix.
 * @throws RobustMetricError SHAPE_MISMATCH when a vector's length is not p.
 * @example
 * adversarialMargin(fromRows([[1.5, 0.3], [0.3, 0.8]]), [0, 0], [0.3, 0.9], [1.2, 1.1]); // 1.0090835147829533
 */
export function adversarialMargin(
  M: Mat,
  xi: ArrayLike<number>,
  xj: ArrayLike<number>,
  xl: ArrayLike<number>,
): number {
  const { dm, q } = tripletForms(M, xi, xj, xl);
  if (!(dm > 0)) {
    if (Number.isNaN(dm)) throw new RobustMetricError("NUMERICAL", "the triplet's DM is NaN");
    return 0;
  }
  if (q === 0) return Number.POSITIVE_INFINITY;
  return dm / (2 * Math.sqrt(q));
}

/**
 * The closest adversarial example x_i* of a triplet (spec §1.3): the projection of x_i onto the hyperplane
 * {x : d²_M(x, x_l) = d²_M(x, x_j)}, x_i* = x_i + DM / (2‖Mv‖²) · Mv with v = x_l − x_j. Returns a copy of x_i when
 * DM ≤ 0 (x_i is already adversarial) and `null` when M v = 0 and DM > 0 (no adversarial example exists).
 *
 * @throws RobustMetricError SHAPE_MISMATCH when a vector's length is not p.
 * @example
 * closestAdversarialExample(M, [0, 0], [0.3, 0.9], [1.2, 1.1]); // ≈ [0.965197883110906, 0.294351127473539]
 */
export function closestAdversarialExample(
  M: Mat,
  xi: ArrayLike<number>,
  xj: ArrayLike<number>,
  xl: ArrayLike<number>,
): Float64Array | null {
  const { dm, q, mv } = tripletForms(M, xi, xj, xl);
  const out = Float64Array.from(xi);
  if (!(dm > 0)) return out;
  if (q === 0) return null;
  const s = dm / (2 * q);
  for (let r = 0; r < out.length; r++) out[r] = out[r]! + s * mv[r]!;
  return out;
}

/**
 * The perturbation loss of one triplet and its gradient, directly from the closed form (spec §2.1, §2.3):
 * ℓ_P = τ² − DM²/(4(q + eps)) when DM ≥ 0 and the squared margin is ≤ τ² ("active", ties included), 0 when the
 * margin exceeds τ, and the constant τ² with zero gradient when the triplet is violated (DM < 0). For active
 * triplets, with A = DM/(q + eps), ∂ℓ_P/∂M = −(A/2)(C_il − C_ij) + (A²/4)(M v vᵀ + v vᵀ M).
 * This is the per-triplet reference; {@link PerturbationLoss} evaluates whole triplet sets fast.
 *
 * @param M symmetric p×p matrix.
 * @param tau the desired margin τ ≥ 0.
 * @param eps added to q (default 1e−10, as the authors' code).
 * @throws RobustMetricError BAD_INPUT for a negative or non-finite τ or eps; SHAPE_MISMATCH for wrong lengths.
 * @example
 * const r = perturbationLossTriplet(M, [0, 0], [0.3, 0.9], [1.2, 1.1], 1.2); // r.loss = 0.4217504601932814
 */
export function perturbationLossTriplet(
  M: Mat,
  xi: ArrayLike<number>,
  xj: ArrayLike<number>,
  xl: ArrayLike<number>,
  tau: number,
  eps: number = PERTURBATION_EPS,
): PerturbationTripletResult {
  checkNonNegative("tau", tau);
  checkNonNegative("eps", eps);
  const { dm, q, mv, v } = tripletForms(M, xi, xj, xl);
  const p = M.rows;
  const gradient = zeros(p, p);
  const tau2 = tau * tau;
  if (dm < 0) return { dm, q, marginSquared: 0, loss: tau2, status: "violated", gradient };
  const qe = q + eps;
  const marginSquared = (dm * dm) / (4 * qe);
  if (marginSquared > tau2) return { dm, q, marginSquared, loss: 0, status: "inactive", gradient };
  const a = dm / qe;
  const g = gradient.data;
  for (let r = 0; r < p; r++) {
    const dir = xi[r]! - xj[r]!;
    const dil = xi[r]! - xl[r]!;
    for (let c = 0; c < p; c++) {
      const cij = dir * (xi[c]! - xj[c]!);
      const cil = dil * (xi[c]! - xl[c]!);
      g[r * p + c] = (-a / 2) * (cil - cij) + ((a * a) / 4) * (mv[r]! * v[c]! + v[r]! * mv[c]!);
    }
  }
  return { dm, q, marginSquared, loss: tau2 - marginSquared, status: "active", gradient };
}

function checkNonNegative(name: string, x: number): void {
  if (!Number.isFinite(x) || x < 0) {
    throw new RobustMetricError("BAD_INPUT", `${name} must be a finite number ≥ 0, got ${x}`);
  }
}

/**
 * Shared, fast evaluation of quadratic forms of M over a fixed triplet set (and optional extra point pairs),
 * for terms that depend on M only through the pair distances d²_M(a, b), the triplet differences
 * DM = d²_M(i, l) − d²_M(i, j) and the impostor–target forms q = ‖M(x_l − x_j)‖².
 *
 * Use: `setMetric(M)` computes the distances, DM and (when asked) q; each term reads them and adds its partial
 * derivatives into `pairWeight` (∂/∂d²_M of each distinct pair) and `jlWeight` (∂/∂q of each distinct (j, l)
 * pair); `gradient()` turns these into the symmetric p×p gradient
 *   Σ_pairs pairWeight·C_ab + Σ_(j,l) jlWeight·(M v vᵀ + v vᵀ M).
 *
 * Cost per evaluation: O(n·p² + P·p) for P distinct pairs (d²_M(i, j) is computed once however many triplets
 * use it), instead of O(|T|·p²) for one outer product per triplet:
 * - distances in Gram form, d²_M(a, b) = x_aᵀMx_a + x_bᵀMx_b − 2·x_a·(M x_b), on centred data (which keeps the
 *   cancellation at the level of the distances themselves), and likewise q = ‖Mx_a‖² + ‖Mx_b‖² − 2 (Mx_a)·(Mx_b);
 * - the gradient through the graph-Laplacian identity Σ_(a,b) w (x_a − x_b)(x_a − x_b)ᵀ = XᵀH + HᵀX with
 *   h_a = (deg_a/2)·x_a − Σ_{b listed under a} w_ab·x_b: one gather of p numbers per pair and an n×p×p product;
 *   Σ w (M v vᵀ + v vᵀ M) = M·S + S·M with S built the same way.
 * The kernels run in WebAssembly (SIMD) when available, else in JavaScript (see perturbation-kernels.ts); both
 * give the same bits. Not thread-safe; one engine per fit.
 *
 * @example
 * const engine = new TripletEngine(X, triplets);
 * engine.setMetric(M, { q: true });
 * const term = new PerturbationLoss({ lambda: 1, tau: 0.3 });
 * const value = term.accumulate(engine, true);
 * const G = engine.gradient();
 */
export class TripletEngine {
  /** Number of points (rows of X). */
  readonly n: number;
  /** Dimension. */
  readonly p: number;
  /** Number of triplets. */
  readonly nTriplets: number;
  /** Distinct unordered point pairs whose distance is computed, grouped by `pairA` ascending. */
  readonly pairA: Int32Array;
  readonly pairB: Int32Array;
  /** Per triplet: index of the pair (anchor, target) and of the pair (anchor, impostor) in `pairA/B`. */
  readonly tripletIJ: Int32Array;
  readonly tripletIL: Int32Array;
  /** Distinct unordered (target, impostor) pairs, for q, grouped by `jlA` ascending. */
  readonly jlA: Int32Array;
  readonly jlB: Int32Array;
  /** Per triplet: index of its (target, impostor) pair in `jlA/B`. */
  readonly tripletJL: Int32Array;
  /** For each extra pair given to the constructor (in that order): its index in `pairA/B`. */
  readonly extraPairs: Int32Array;
  /** d²_M of each distinct pair, after `setMetric`. */
  readonly dist: Float64Array;
  /** DM of each triplet, after `setMetric`. */
  readonly dm: Float64Array;
  /** q of each distinct (j, l) pair, after `setMetric(M, { q: true })`. */
  readonly q: Float64Array;
  /** ∂F/∂d²_M per distinct pair; terms add to it; cleared by `setMetric`. */
  readonly pairWeight: Float64Array;
  /** ∂F/∂q per distinct (j, l) pair; terms add to it; cleared by `setMetric`. */
  readonly jlWeight: Float64Array;
  /** The numeric kernels ("wasm" or "js" backend) and their buffers; terms call them for their inner loops. */
  readonly kernels: Kernels;

  private hasQ = false;
  private readonly hasJl: boolean;
  private hasMetric = false;
  private retired = false;

  /** Hands this engine's kernels to a new engine (see the constructor's `recycle`); this one is unusable after. */
  private retire(): Kernels {
    if (this.retired) throw new RobustMetricError("INTERNAL", "TripletEngine: recycled twice");
    this.retired = true;
    this.hasMetric = false;
    return this.kernels;
  }

  /**
   * @param X n×p data (the rows the triplet indices refer to).
   * @param triplets the triplet set; every index must be a row of X.
   * @param pairs optional extra pairs (e.g. LMNN's target pairs for the pull term), as two index arrays.
   * @param opts.backend "auto" (default: WebAssembly when available), "wasm" (throws INTERNAL when unavailable)
   *   or "js". `opts.specialise` (default true): use the wasm module compiled for this p (unrolled loops).
   *   `opts.recycle`: an engine that will not be used again; this one takes over its WebAssembly memory (cheaper
   *   than a new one for learners that rebuild their engine often), and the old one throws INTERNAL if used.
   *   `opts.jl` (default true): index the (j, l) pairs; terms without q (LMNN's pull and hinge) do not need them,
   *   and skipping them saves a third of the hashing when the engine is rebuilt at every impostor re-selection.
   * @throws RobustMetricError SHAPE_MISMATCH for arrays of different lengths; BAD_INPUT naming the first index
   *   that is not a row of X; NUMERICAL for a non-finite value in X.
   */
  constructor(
    X: Mat,
    triplets: TripletIndices,
    pairs?: { a: ArrayLike<number>; b: ArrayLike<number> },
    opts: {
      backend?: "auto" | "wasm" | "js";
      specialise?: boolean;
      recycle?: TripletEngine;
      jl?: boolean;
    } = {},
  ) {
    const { rows: n, cols: p } = X;
    this.n = n;
    this.p = p;
    const T = triplets.anchor.length;
    if (triplets.target.length !== T || triplets.impostor.length !== T) {
      throw new RobustMetricError(
        "SHAPE_MISMATCH",
        `triplet arrays have lengths anchor ${T}, target ${triplets.target.length}, impostor ${triplets.impostor.length}`,
      );
    }
    if (pairs && pairs.a.length !== pairs.b.length) {
      throw new RobustMetricError(
        "SHAPE_MISMATCH",
        `pair arrays have lengths ${pairs.a.length} and ${pairs.b.length}`,
      );
    }
    this.nTriplets = T;
    const row = (what: string, t: number, v: number): number => {
      if (!Number.isInteger(v) || v < 0 || v >= n) {
        throw new RobustMetricError("BAD_INPUT", `${what} ${t} refers to row ${v}, but X has ${n} rows`);
      }
      return v;
    };
    const src = X.data;
    for (let k = 0; k < src.length; k++) {
      if (!Number.isFinite(src[k])) {
        throw new RobustMetricError(
          "NUMERICAL",
          `X has a non-finite value ${src[k]} at row ${Math.floor(k / p)}, column ${k % p}`,
        );
      }
    }
    const pairs0 = new PairSet(n, 2 * T + (pairs ? pairs.a.length : 0));
    const withJl = opts.jl ?? true;
    this.hasJl = withJl;
    const jls0 = new PairSet(n, withJl ? T : 0);
    const tIJ = new Int32Array(T);
    const tIL = new Int32Array(T);
    const tJL = new Int32Array(T);
    for (let t = 0; t < T; t++) {
      const i = row("triplet", t, triplets.anchor[t]!);
      const j = row("triplet", t, triplets.target[t]!);
      const l = row("triplet", t, triplets.impostor[t]!);
      tIJ[t] = pairs0.add(i, j);
      tIL[t] = pairs0.add(i, l);
      if (withJl) tJL[t] = jls0.add(j, l);
    }
    const nExtra = pairs ? pairs.a.length : 0;
    const extra = new Int32Array(nExtra);
    for (let e = 0; e < nExtra; e++)
      extra[e] = pairs0.add(row("pair", e, pairs!.a[e]!), row("pair", e, pairs!.b[e]!));
    const P = pairs0.grouped();
    const J = jls0.grouped();
    try {
      this.kernels = createKernels(
        { n, p, T, P: P.a.length, J: J.a.length },
        opts.backend ?? "auto",
        opts.specialise ?? true,
        opts.recycle?.retire(),
      );
    } catch (e) {
      throw new RobustMetricError("INTERNAL", `TripletEngine: ${(e as Error).message}`, { cause: e });
    }
    const buf = this.kernels.buffers;
    this.pairA = P.a;
    this.pairB = buf.pairB;
    buf.pairB.set(P.b);
    buf.pairStart.set(P.start);
    this.jlA = J.a;
    this.jlB = buf.jlB;
    buf.jlB.set(J.b);
    buf.jlStart.set(J.start);
    for (let t = 0; t < T; t++) {
      buf.tIJ[t] = P.rank[tIJ[t]!]!;
      buf.tIL[t] = P.rank[tIL[t]!]!;
      if (withJl) buf.tJL[t] = J.rank[tJL[t]!]!;
    }
    this.tripletIJ = buf.tIJ;
    this.tripletIL = buf.tIL;
    this.tripletJL = buf.tJL;
    this.extraPairs = extra.map((s) => P.rank[s]!);
    this.dist = buf.dist;
    this.pairWeight = buf.pairW;
    this.dm = buf.dm;
    this.q = buf.q;
    this.jlWeight = buf.jlW;
    // centre the columns: every quantity is a function of differences of rows, and centring keeps the Gram-form
    // distances and the Laplacian-form products free of the data's offset
    // (row by row: each column's sum still runs over the rows in order, so the same bits as column by column)
    const x = buf.x;
    const mean = new Float64Array(p);
    for (let a = 0; a < n; a++) for (let c = 0; c < p; c++) mean[c]! += src[a * p + c]!;
    for (let c = 0; c < p; c++) mean[c] = n > 0 ? mean[c]! / n : 0;
    for (let a = 0; a < n; a++) for (let c = 0; c < p; c++) x[a * p + c] = src[a * p + c]! - mean[c]!;
  }

  /** Number of distinct pairs (i, j), (i, l) and extra pairs. */
  get nPairs(): number {
    return this.pairA.length;
  }

  /** Number of distinct (j, l) pairs. */
  get nJl(): number {
    return this.jlA.length;
  }

  /** "wasm" or "js": which kernels this engine runs. */
  get backend(): "wasm" | "js" {
    return this.kernels.backend;
  }

  /**
   * Sets the metric: computes d²_M of every distinct pair, DM of every triplet and, with `q: true`, q of every
   * distinct (j, l) pair; clears the weights. M is used as (M + Mᵀ)/2.
   *
   * @throws RobustMetricError SHAPE_MISMATCH unless M is p×p; NUMERICAL for a non-finite entry of M.
   */
  setMetric(M: Mat, opts: { q?: boolean } = {}): void {
    if (this.retired)
      throw new RobustMetricError("INTERNAL", "TripletEngine used after its memory was recycled");
    const { p } = this;
    assertShape(M, p, p, "M");
    const m = this.kernels.buffers.m;
    const md = M.data;
    for (let r = 0; r < p; r++) {
      for (let c = 0; c < p; c++) {
        const v = md[r * p + c]!;
        if (!Number.isFinite(v)) {
          throw new RobustMetricError("NUMERICAL", `M has a non-finite value ${v} at row ${r}, column ${c}`);
        }
        m[r * p + c] = r === c ? v : 0.5 * (v + md[c * p + r]!);
      }
    }
    const k = this.kernels;
    k.forms();
    k.pairForms("pairs");
    k.differences();
    this.hasQ = opts.q === true;
    if (this.hasQ && !this.hasJl)
      throw new RobustMetricError("INTERNAL", "setMetric with q on an engine built without (j, l) pairs");
    if (this.hasQ) k.pairForms("jl");
    this.pairWeight.fill(0);
    this.jlWeight.fill(0);
    this.hasMetric = true;
  }

  /** Throws INTERNAL when a term reads q that `setMetric` was not asked to compute. */
  requireQ(who: string): void {
    if (!this.hasMetric) throw new RobustMetricError("INTERNAL", `${who}: setMetric was not called`);
    if (!this.hasQ) throw new RobustMetricError("INTERNAL", `${who} needs q: call setMetric(M, { q: true })`);
  }

  /**
   * The symmetric gradient Σ_pairs pairWeight·C_ab + Σ_(j,l) jlWeight·(M v vᵀ + v vᵀ M) for the current metric
   * and weights. `out` (p×p) is overwritten when given.
   *
   * @throws RobustMetricError INTERNAL if `setMetric` was not called; SHAPE_MISMATCH for a wrong `out`.
   */
  gradient(out?: Mat): Mat {
    const { p } = this;
    if (!this.hasMetric) throw new RobustMetricError("INTERNAL", "TripletEngine.gradient before setMetric");
    const G = out ?? zeros(p, p);
    assertShape(G, p, p, "gradient output");
    const gd = G.data;
    gd.fill(0);
    const { g, m } = this.kernels.buffers;
    if (anyNonZero(this.pairWeight)) {
      // Σ w C = XᵀH + HᵀX = g + gᵀ
      this.kernels.laplacianProduct("pairs");
      for (let r = 0; r < p; r++) {
        for (let c = 0; c < p; c++) gd[r * p + c] = g[r * p + c]! + g[c * p + r]!;
      }
    }
    if (anyNonZero(this.jlWeight)) {
      // S = g + gᵀ; add M·S + S·M = M·S + (M·S)ᵀ
      this.kernels.laplacianProduct("jl");
      for (let r = 0; r < p; r++) {
        for (let c = 0; c < p; c++) {
          let acc = 0;
          for (let k = 0; k < p; k++) acc += m[r * p + k]! * (g[k * p + c]! + g[c * p + k]!);
          gd[r * p + c]! += acc;
          gd[c * p + r]! += acc;
        }
      }
    }
    return G;
  }
}

function anyNonZero(w: Float64Array): boolean {
  for (let s = 0; s < w.length; s++) if (w[s] !== 0) return true;
  return false;
}

/**
 * Distinct unordered pairs of row indices, numbered in order of first appearance, then grouped by first point.
 * An open-addressing hash table on typed arrays (a JavaScript Map costs several times more per pair, and engines
 * are rebuilt at every impostor re-selection).
 */
class PairSet {
  private keysA: Int32Array;
  private keysB: Int32Array;
  private slots: Int32Array; // index + 1 of the pair in this slot, 0 when empty
  private mask: number;
  private readonly a: number[] = [];
  private readonly b: number[] = [];
  constructor(
    private readonly n: number,
    expected = 16,
  ) {
    let cap = 16;
    while (cap < 2 * expected) cap *= 2;
    this.mask = cap - 1;
    this.slots = new Int32Array(cap);
    this.keysA = new Int32Array(cap);
    this.keysB = new Int32Array(cap);
  }

  add(a: number, b: number): number {
    const lo = a < b ? a : b;
    const hi = a < b ? b : a;
    if (2 * (this.a.length + 1) > this.mask + 1) this.grow();
    let h = (Math.imul(lo, 0x9e3779b1) ^ Math.imul(hi, 0x85ebca77)) & this.mask;
    for (;;) {
      const s = this.slots[h]!;
      if (s === 0) {
        this.slots[h] = this.a.length + 1;
        this.keysA[h] = lo;
        this.keysB[h] = hi;
        this.a.push(a);
        this.b.push(b);
        return this.a.length - 1;
      }
      if (this.keysA[h] === lo && this.keysB[h] === hi) return s - 1;
      h = (h + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = { slots: this.slots, keysA: this.keysA, keysB: this.keysB };
    const cap = 2 * (this.mask + 1);
    this.mask = cap - 1;
    this.slots = new Int32Array(cap);
    this.keysA = new Int32Array(cap);
    this.keysB = new Int32Array(cap);
    for (let t = 0; t < old.slots.length; t++) {
      const s = old.slots[t]!;
      if (s === 0) continue;
      const lo = old.keysA[t]!;
      const hi = old.keysB[t]!;
      let h = (Math.imul(lo, 0x9e3779b1) ^ Math.imul(hi, 0x85ebca77)) & this.mask;
      while (this.slots[h] !== 0) h = (h + 1) & this.mask;
      this.slots[h] = s;
      this.keysA[h] = lo;
      this.keysB[h] = hi;
    }
  }

  /** The pairs sorted (stably) by first point: arrays, CSR offsets, and rank[old index] = new index. */
  grouped(): { a: Int32Array; b: Int32Array; start: Int32Array; rank: Int32Array } {
    const n = this.n;
    const m = this.a.length;
    const start = new Int32Array(n + 1);
    for (let s = 0; s < m; s++) start[this.a[s]! + 1]!++;
    for (let v = 0; v < n; v++) start[v + 1]! += start[v]!;
    const next = start.slice(0, n);
    const a = new Int32Array(m);
    const b = new Int32Array(m);
    const rank = new Int32Array(m);
    for (let s = 0; s < m; s++) {
      const r = next[this.a[s]!]!++;
      rank[s] = r;
      a[r] = this.a[s]!;
      b[r] = this.b[s]!;
    }
    return { a, b, start, rank };
  }
}

/**
 * A term of an objective over a triplet set, evaluated through a shared {@link TripletEngine}: it reads
 * `engine.dist`, `engine.dm` (and `engine.q` when `needsQ`), returns its value and, when `withGradient`, adds its
 * partial derivatives into `engine.pairWeight` / `engine.jlWeight`. A learner sums the values of its terms and
 * calls `engine.gradient()` once.
 *
 * @example
 * engine.setMetric(M, { q: terms.some((t) => t.needsQ) });
 * const F = terms.reduce((s, t) => s + t.accumulate(engine, true), 0);
 * const G = engine.gradient();
 */
export interface TripletTerm {
  readonly name: string;
  /** Whether the term reads q = ‖M(x_l − x_j)‖². */
  readonly needsQ: boolean;
  accumulate(engine: TripletEngine, withGradient: boolean): number;
}

/** Options of {@link PerturbationLoss}. */
export interface PerturbationLossOptions {
  /** Desired adversarial margin τ ≥ 0, in input-space units (no default in the authors' code). */
  tau: number;
  /** Weight λ ≥ 0 (default 1). */
  lambda?: number;
  /** Added to q in the margin's denominator (default 1e−10, as the authors' code). */
  eps?: number;
  /**
   * "mean" (default, the authors' λ/|T| with |T| = all triplets, violated ones included) or "sum" (λ·Σ).
   */
  normalization?: "mean" | "sum";
}

/** How the triplets fell at the last evaluation (spec §2.1). */
export interface PerturbationCounts {
  /** DM < 0: constant loss τ², zero gradient. */
  violated: number;
  /** DM ≥ 0 and squared margin ≤ τ²: loss τ² − margin², with gradient. */
  active: number;
  /** Margin > τ: zero loss. */
  inactive: number;
}

/**
 * The perturbation loss as a triplet term (spec §2.1–§2.3):
 *   (λ/|T|) Σ_T ℓ_P(i, j, l; M),   ℓ_P = [τ² − DM²/(4(q + eps))]_+ if DM ≥ 0,   τ² if DM < 0,
 * a hinge on the squared closed-form adversarial margin DM/(2‖M(x_l − x_j)‖) against τ². Violated triplets pay
 * the constant τ² with zero gradient; triplets with margin exactly τ are active with loss 0 (the code's ties-
 * inclusive test). Gradient of an active triplet, with A = DM/(q + eps):
 *   −(A/2)(C_il − C_ij) + (A²/4)(M v vᵀ + v vᵀ M),   i.e. ∂ℓ/∂DM = −A/2 and ∂ℓ/∂q = A²/4.
 * Add it to any learner built from triplet terms; see docs/perturbation-loss.md.
 *
 * @throws RobustMetricError BAD_INPUT for a negative or non-finite λ, τ or eps.
 * @example
 * const pl = new PerturbationLoss({ lambda: 11.86, tau: 0.4318 });
 * engine.setMetric(M, { q: true });
 * const value = pl.accumulate(engine, true); // pl.counts = { violated, active, inactive }
 */
export class PerturbationLoss implements TripletTerm {
  readonly name = "perturbation";
  readonly needsQ = true;
  readonly tau: number;
  readonly lambda: number;
  readonly eps: number;
  readonly normalization: "mean" | "sum";
  /** Counts at the last `accumulate`. */
  counts: PerturbationCounts = { violated: 0, active: 0, inactive: 0 };

  constructor(opts: PerturbationLossOptions) {
    this.tau = opts.tau;
    this.lambda = opts.lambda ?? 1;
    this.eps = opts.eps ?? PERTURBATION_EPS;
    this.normalization = opts.normalization ?? "mean";
    checkNonNegative("tau", this.tau);
    checkNonNegative("lambda", this.lambda);
    checkNonNegative("eps", this.eps);
  }

  accumulate(engine: TripletEngine, withGradient: boolean): number {
    engine.requireQ("perturbation loss");
    const T = engine.nTriplets;
    const weight = this.normalization === "mean" ? (T > 0 ? this.lambda / T : 0) : this.lambda;
    const k = engine.kernels;
    const sum = k.perturbation(
      this.tau * this.tau,
      this.eps,
      0.5 * weight,
      0.25 * weight,
      withGradient && weight !== 0,
    );
    const violated = k.buffers.counts[0]!;
    const active = k.buffers.counts[1]!;
    this.counts = { violated, active, inactive: T - violated - active };
    const value = weight * sum;
    if (!Number.isFinite(value)) {
      throw new RobustMetricError("NUMERICAL", `the perturbation loss is ${value} (a non-finite DM or q)`);
    }
    return value;
  }
}

/**
 * The adversarial margins DM/(2√q) (spec §1.3, without eps) of the triplets that are not violated (DM ≥ 0) at
 * the engine's current metric, in triplet order; +∞ where q = 0 < DM. `setMetric(M, { q: true })` must have run.
 *
 * @throws RobustMetricError INTERNAL when q was not computed.
 * @example
 * engine.setMetric(eye(p), { q: true });
 * const m = satisfiedMargins(engine); // Australian split 1 at M = I: median 0.323276, max 0.706005
 */
export function satisfiedMargins(engine: TripletEngine): Float64Array {
  engine.requireQ("satisfiedMargins");
  const { dm, q, tripletJL } = engine;
  const out: number[] = [];
  for (let t = 0; t < dm.length; t++) {
    const d = dm[t]!;
    if (!(d >= 0)) continue;
    const qt = q[tripletJL[t]!]!;
    out.push(d === 0 ? 0 : qt > 0 ? d / (2 * Math.sqrt(qt)) : Number.POSITIVE_INFINITY);
  }
  return Float64Array.from(out);
}

/**
 * The median of {@link satisfiedMargins} (the middle value; the mean of the two middle ones for an even count), 0
 * when every triplet is violated. Used as the data-driven default of τ: it puts half of the satisfied triplets
 * inside the desired margin at the start.
 *
 * @example
 * engine.setMetric(eye(p), { q: true });
 * const tau = medianSatisfiedMargin(engine);
 */
export function medianSatisfiedMargin(engine: TripletEngine): number {
  const m = satisfiedMargins(engine).sort();
  if (m.length === 0) return 0;
  const h = m.length >> 1;
  return m.length % 2 === 1 ? m[h]! : 0.5 * (m[h - 1]! + m[h]!);
}

/**
 * One-shot evaluation of the perturbation loss over a triplet set: value (λ/|T|)·Σ ℓ_P, symmetric gradient in M
 * and the counts. For repeated evaluations (a solver) build a {@link TripletEngine} once instead. For a learner
 * parametrised by L with M = LᵀL, the gradient in L is 2·L·G.
 *
 * @throws RobustMetricError as {@link TripletEngine} and {@link PerturbationLoss}.
 * @example
 * const { value, gradient, counts } = perturbationLoss(X, triplets, M, { tau: 0.3, lambda: 2 });
 */
export function perturbationLoss(
  X: Mat,
  triplets: TripletIndices,
  M: Mat,
  opts: PerturbationLossOptions,
): { value: number; gradient: Mat; counts: PerturbationCounts } {
  const term = new PerturbationLoss(opts);
  const engine = new TripletEngine(X, triplets);
  engine.setMetric(M, { q: true });
  const value = term.accumulate(engine, true);
  return { value, gradient: engine.gradient(), counts: term.counts };
}
