// The single-level objective of AML, Chen, Gong, Yang, Li, Wei, Li, "Adversarial Metric Learning" (IJCAI 2018,
// arXiv 1802.03170; reference code functioncs/AML_Core @ 5d19d80; spec reference/aml.md).
//
// AML's confusion stage has a closed form Π*(M) (spec §2.5, §2.6), so the distinguishment stage minimises a
// function of M alone (spec §2.4):
//   code (default):  F(M) = (1/N)[ tr(MA) + tr(M⁻¹B) + αβ²·tr(g(M)A) + αβ²/(2+β²)²·tr(MB) ],  g(λ) = λ⁵/(2+β²λ²)²
//   h1:              F(M) = (1/N)[ tr(MA) + (1 + αβ²/(2+β)²)·tr(M⁻¹B) + αβ²·tr(g̃(M)A) ],     g̃(λ) = λ⁵/(2+βλ²)²
// with A = Σ_similar x̂x̂ᵀ, B = Σ_dissimilar x̂x̂ᵀ, x̂ = x − x′, N the number of pairs. The gradient of tr(g(M)A) is
// the Daleckii–Krein form U(Γ ∘ UᵀAU)Uᵀ (spec §3.2), not the released code's per-eigenpair formula, which has a
// sign error, drops coincident eigenvalues and fails a finite-difference check.
import { RobustMetricError } from "../errors.js";
import { eigh } from "../linalg/eigh.js";
import { gemm, gemmABt, gemmAtB } from "../linalg/gemm.js";
import { assertShape, type Mat, zeros } from "../linalg/mat.js";
import { symFn, symmetrize } from "../linalg/sym.js";

/**
 * Which confusion stage the objective encodes (spec §7 item 1): `"code"` is the released MATLAB code's reduced
 * objective (§2.4); `"h1"` is the first-principles reading of §2.6 (label-flipped GMML loss plus an M-weighted
 * locality term), which equals `"code"` on similar pairs when β = 1. The literal caption reading (H2) is ill-posed
 * for β ≤ 2 and is not offered.
 */
export type AmlVariant = "code" | "h1";

/** The hyper-parameters of the AML objective: α weighs the adversarial loss, β is the locality strength. */
export interface AmlOptions {
  /** Weight α > 0 of the adversarial pairs' loss (the authors' demo: 10). */
  alpha: number;
  /** Strength β > 0 of the confusion stage's locality regulariser (the authors' demo: 1). */
  beta: number;
  /** Default `"code"`. */
  variant?: AmlVariant;
}

function checkOptions(o: AmlOptions): AmlVariant {
  if (!(o.alpha >= 0) || !Number.isFinite(o.alpha))
    throw new RobustMetricError("BAD_INPUT", `AML alpha must be a finite number ≥ 0, got ${o.alpha}`);
  if (!(o.beta > 0) || !Number.isFinite(o.beta))
    throw new RobustMetricError("BAD_INPUT", `AML beta must be a finite number > 0, got ${o.beta}`);
  const v = o.variant ?? "code";
  if (v !== "code" && v !== "h1")
    throw new RobustMetricError("BAD_INPUT", `AML variant must be 'code' or 'h1', got '${String(v)}'`);
  return v;
}

/** The constant κ in the denominator of g(λ) = λ⁵/(2 + κλ²)²: β² for the code, β for H1 (spec §2.4, §2.6). */
function kappa(variant: AmlVariant, beta: number): number {
  return variant === "code" ? beta * beta : beta;
}

/**
 * g(λ) = λ⁵/(2 + κλ²)² and g′(λ) = λ⁴(10 + κλ²)/(2 + κλ²)³ (spec §3.2, with κ = β² for the code, κ = β for H1).
 *
 * @example amlG(1, 1) // { g: 1/9, dg: 11/27 }
 */
export function amlG(lambda: number, kap: number): { g: number; dg: number } {
  const l2 = lambda * lambda;
  const den = 2 + kap * l2;
  return { g: (l2 * l2 * lambda) / (den * den), dg: (l2 * l2 * (10 + kap * l2)) / (den * den * den) };
}

/** Σ_ij X_ij Y_ij (= tr(XY) for symmetric Y). */
function frob(a: Mat, b: Mat): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i]! * b.data[i]!;
  return s;
}

/** What {@link amlObjective} returns. */
export interface AmlObjectiveResult {
  /** F(M), eq. of spec §2.4 (code) or §2.6 (h1). */
  value: number;
  /** ∇F(M), symmetric p×p (spec §3.2); absent when not requested. */
  gradient: Mat | undefined;
  /** Eigenvalues of M, ascending (all > 0). */
  eigenvalues: Float64Array;
}

/**
 * The AML single-level objective F(M) after the closed-form confusion stage, and its symmetric gradient
 * (reference/aml.md §2.4 for the code variant, §2.6 for H1; gradient §3.2, Daleckii–Krein):
 *
 *     code: ∇F = (1/N)[ A − M⁻¹BM⁻¹ + αβ²·U(Γ ∘ UᵀAU)Uᵀ + αβ²/(2+β²)²·B ]
 *     h1:   ∇F = (1/N)[ A − (1 + αβ²/(2+β)²)·M⁻¹BM⁻¹ + αβ²·U(Γ ∘ UᵀAU)Uᵀ ]
 *
 * where Γ_jk = (g(λ_j) − g(λ_k))/(λ_j − λ_k), or g′(λ_j) when |λ_j − λ_k| ≤ 1e−10·max(1, |λ_j|). Cost O(p³) (one
 * symmetric eigendecomposition); A and B are the unnormalised pair scatters, N the total number of pairs.
 *
 * @param M symmetric positive definite p×p.
 * @param A Σ over similar pairs of x̂x̂ᵀ (p×p).
 * @param B Σ over dissimilar pairs of x̂x̂ᵀ (p×p).
 * @param N number of pairs (the code's normaliser; self-pairs count).
 * @param opts α, β, variant (default "code").
 * @param withGradient default true.
 * @throws RobustMetricError SHAPE_MISMATCH for sizes that differ; NUMERICAL when M is not positive definite
 *   (quoting the eigenvalue); BAD_INPUT for N ≤ 0, α < 0, β ≤ 0 or an unknown variant.
 * @example
 * amlObjective(eye(2), A, B, 6, { alpha: 10, beta: 1 }).value // 8.993333333333 on fixture 1 of the spec
 */
export function amlObjective(
  M: Mat,
  A: Mat,
  B: Mat,
  N: number,
  opts: AmlOptions,
  withGradient = true,
): AmlObjectiveResult {
  const p = M.rows;
  assertShape(M, p, p, "M");
  assertShape(A, p, p, "A");
  assertShape(B, p, p, "B");
  if (!(N > 0)) throw new RobustMetricError("BAD_INPUT", `AML needs N > 0 pairs, got ${N}`);
  const variant = checkOptions(opts);
  const { alpha, beta } = opts;
  const kap = kappa(variant, beta);
  const { values, vectors } = eigh(symmetrize({ rows: p, cols: p, data: M.data.slice() }));
  for (let k = 0; k < p; k++) {
    if (!(values[k]! > 0))
      throw new RobustMetricError(
        "NUMERICAL",
        `AML needs a positive definite M; eigenvalue ${k} is ${values[k]}`,
      );
  }
  // Everything in the eigenbasis of M: Â = UᵀAU, B̂ = UᵀBU; then tr(g(M)A) = Σ g(λ_k) Â_kk, tr(M⁻¹B) = Σ B̂_kk/λ_k.
  const Ahat = gemm(gemmAtB(vectors, A), vectors);
  const Bhat = gemm(gemmAtB(vectors, B), vectors);
  const g = new Float64Array(p);
  const dg = new Float64Array(p);
  let trGA = 0;
  let trMiB = 0;
  for (let k = 0; k < p; k++) {
    const r = amlG(values[k]!, kap);
    g[k] = r.g;
    dg[k] = r.dg;
    trGA += r.g * Ahat.data[k * p + k]!;
    trMiB += Bhat.data[k * p + k]! / values[k]!;
  }
  const trMA = frob(M, A);
  const ab2 = alpha * beta * beta;
  let value: number;
  // coefficient of tr(M⁻¹B) and of tr(MB)
  let cInv = 1;
  let cLin = 0;
  if (variant === "code") cLin = ab2 / ((2 + beta * beta) * (2 + beta * beta));
  else cInv = 1 + ab2 / ((2 + beta) * (2 + beta));
  value = trMA + cInv * trMiB + ab2 * trGA;
  if (cLin !== 0) value += cLin * frob(M, B);
  value /= N;
  if (!withGradient) return { value, gradient: undefined, eigenvalues: values };

  // H = Γ ∘ Â (Daleckii–Krein) and −cInv·Λ⁻¹B̂Λ⁻¹, both in the eigenbasis, then rotated back once.
  const H = zeros(p, p);
  for (let j = 0; j < p; j++) {
    const lj = values[j]!;
    for (let k = 0; k < p; k++) {
      const lk = values[k]!;
      const gamma =
        Math.abs(lj - lk) <= 1e-10 * Math.max(1, Math.abs(lj)) ? dg[j]! : (g[j]! - g[k]!) / (lj - lk);
      H.data[j * p + k] = ab2 * gamma * Ahat.data[j * p + k]! - (cInv * Bhat.data[j * p + k]!) / (lj * lk);
    }
  }
  const R = gemmABt(gemm(vectors, H), vectors);
  const G = R.data;
  for (let i = 0; i < p * p; i++) G[i] = (G[i]! + A.data[i]! + cLin * B.data[i]!) / N;
  return { value, gradient: symmetrize(R), eigenvalues: values };
}

/**
 * The same F(M) summed pair by pair, F = (1/N)[Σ_i x̂_iᵀ M^{y_i} x̂_i + α·β²·Σ_i x̂_iᵀ U h_{y_i}(Λ) Uᵀ x̂_i]
 * (spec §2.4, first line; the released code's evaluation). For checking the trace form; O(N·p² + p³).
 *
 * @param D pair differences x̂_i as rows (N×p). @param similar 1 for y_i = +1, 0 for −1.
 * @throws RobustMetricError as {@link amlObjective}; SHAPE_MISMATCH when `similar` does not fit D.
 * @example amlObjectivePairwise(eye(2), D, similar, { alpha: 10, beta: 1 }) // 8.993333333333 on fixture 1
 */
export function amlObjectivePairwise(M: Mat, D: Mat, similar: ArrayLike<number>, opts: AmlOptions): number {
  const p = M.rows;
  assertShape(M, p, p, "M");
  assertShape(D, undefined, p, "pair differences");
  if (similar.length !== D.rows)
    throw new RobustMetricError("SHAPE_MISMATCH", `${similar.length} labels for ${D.rows} pair differences`);
  const variant = checkOptions(opts);
  const { alpha, beta } = opts;
  const kap = kappa(variant, beta);
  const { values, vectors } = eigh(symmetrize({ rows: p, cols: p, data: M.data.slice() }));
  for (const l of values)
    if (!(l > 0))
      throw new RobustMetricError("NUMERICAL", `AML needs a positive definite M; eigenvalue ${l}`);
  const U = vectors.data;
  // weights per eigenvalue for y = +1 (base λ, adversarial β²h₊) and y = −1 (base 1/λ, adversarial β²h₋)
  const wPos = new Float64Array(p);
  const wNeg = new Float64Array(p);
  for (let k = 0; k < p; k++) {
    const l = values[k]!;
    wPos[k] = l + alpha * beta * beta * amlG(l, kap).g;
    const hNeg =
      variant === "code" ? l / ((2 + beta * beta) * (2 + beta * beta)) : 1 / (l * (2 + beta) * (2 + beta));
    wNeg[k] = 1 / l + alpha * beta * beta * hNeg;
  }
  let total = 0;
  const c = new Float64Array(p);
  for (let i = 0; i < D.rows; i++) {
    c.fill(0);
    for (let r = 0; r < p; r++) {
      const x = D.data[i * p + r]!;
      for (let k = 0; k < p; k++) c[k]! += U[r * p + k]! * x;
    }
    const w = similar[i] ? wPos : wNeg;
    for (let k = 0; k < p; k++) total += w[k]! * c[k]! * c[k]!;
  }
  return total / D.rows;
}

/** Pairs of rows of a data matrix: `a[i]`, `b[i]` row indices, `similar[i]` 1 for y_i = +1 (same class). */
export interface AmlPairs {
  readonly a: ArrayLike<number>;
  readonly b: ArrayLike<number>;
  readonly similar: ArrayLike<number>;
}

/**
 * The similar and dissimilar pair scatters A = Σ_{y=+1} x̂x̂ᵀ and B = Σ_{y=−1} x̂x̂ᵀ (spec §2.1, unnormalised) and the
 * pair count N.
 *
 * @throws RobustMetricError SHAPE_MISMATCH when the pair arrays differ in length; BAD_INPUT for an index outside X.
 * @example const { A, B, N } = amlScatters(X, pairs);
 */
export function amlScatters(X: Mat, pairs: AmlPairs): { A: Mat; B: Mat; N: number } {
  const N = pairs.a.length;
  if (pairs.b.length !== N || pairs.similar.length !== N)
    throw new RobustMetricError(
      "SHAPE_MISMATCH",
      `pairs: ${N} first, ${pairs.b.length} second indices and ${pairs.similar.length} labels`,
    );
  const p = X.cols;
  const A = new Float64Array(p * p);
  const B = new Float64Array(p * p);
  const d = new Float64Array(p);
  for (let t = 0; t < N; t++) {
    const i = pairs.a[t]!;
    const j = pairs.b[t]!;
    if (!(i >= 0 && i < X.rows && j >= 0 && j < X.rows))
      throw new RobustMetricError("BAD_INPUT", `pair ${t} = (${i}, ${j}) is outside the ${X.rows} rows of X`);
    for (let r = 0; r < p; r++) d[r] = X.data[i * p + r]! - X.data[j * p + r]!;
    const S = pairs.similar[t] ? A : B;
    for (let r = 0; r < p; r++) {
      const dr = d[r]!;
      if (dr === 0) continue;
      for (let c = r; c < p; c++) S[r * p + c]! += dr * d[c]!;
    }
  }
  for (const S of [A, B])
    for (let r = 0; r < p; r++) for (let c = 0; c < r; c++) S[r * p + c] = S[c * p + r]!;
  return { A: { rows: p, cols: p, data: A }, B: { rows: p, cols: p, data: B }, N };
}

/** The adversarial pairs of {@link amlAdversarialPairs}: row i of `first` is π_i, row i of `second` is π_i′. */
export interface AmlAdversarialPairs {
  first: Mat;
  second: Mat;
  /** π̂_i = π_i − π_i′ as rows. */
  difference: Mat;
}

/**
 * The adversarial pairs Π*(M) that the confusion stage generates from the training pairs (spec §2.5, §2.6,
 * §7 item 12), for inspection: the released code never builds them. The difference is
 *
 *     code: π̂ = βM²(2I + β²M²)⁻¹x̂ (similar),  π̂ = β/(2+β²)·Mx̂ (dissimilar)        (§2.5)
 *     h1:   π̂ = βM²(2I + βM²)⁻¹x̂ (similar),   π̂ = β/(2+β)·x̂ (dissimilar)          (§2.6)
 *
 * and each pair keeps its midpoint m = (x + x′)/2: π = m + π̂/2, π′ = m − π̂/2 (exact for h1, whose closed form
 * preserves it; a documented choice for the code variant, whose objective only sees π̂). With these,
 * α·L(M, Π*, y) (GMML loss, divided by N) is exactly the adversarial part of F(M).
 *
 * @param X data (n×p). @param pairs training pairs. @param M symmetric positive definite p×p.
 * @throws RobustMetricError as {@link amlObjective} and {@link amlScatters}.
 * @example const { first, second } = amlAdversarialPairs(X, pairs, M, { alpha: 10, beta: 1 });
 */
export function amlAdversarialPairs(X: Mat, pairs: AmlPairs, M: Mat, opts: AmlOptions): AmlAdversarialPairs {
  const p = X.cols;
  assertShape(M, p, p, "M");
  const variant = checkOptions(opts);
  const beta = opts.beta;
  const kap = kappa(variant, beta);
  const N = pairs.a.length;
  if (pairs.b.length !== N || pairs.similar.length !== N)
    throw new RobustMetricError(
      "SHAPE_MISMATCH",
      `pairs: ${N} first, ${pairs.b.length} second indices and ${pairs.similar.length} labels`,
    );
  const { values, vectors } = eigh(symmetrize({ rows: p, cols: p, data: M.data.slice() }));
  for (const l of values)
    if (!(l > 0))
      throw new RobustMetricError("NUMERICAL", `AML needs a positive definite M; eigenvalue ${l}`);
  const U = vectors.data;
  // spectral multipliers of π̂ = U diag(f(λ)) Uᵀ x̂
  const fPos = new Float64Array(p);
  const fNeg = new Float64Array(p);
  for (let k = 0; k < p; k++) {
    const l = values[k]!;
    fPos[k] = (beta * l * l) / (2 + kap * l * l);
    fNeg[k] = variant === "code" ? (beta * l) / (2 + beta * beta) : beta / (2 + beta);
  }
  const first = zeros(N, p);
  const second = zeros(N, p);
  const difference = zeros(N, p);
  const xh = new Float64Array(p);
  const c = new Float64Array(p);
  for (let t = 0; t < N; t++) {
    const i = pairs.a[t]!;
    const j = pairs.b[t]!;
    if (!(i >= 0 && i < X.rows && j >= 0 && j < X.rows))
      throw new RobustMetricError("BAD_INPUT", `pair ${t} = (${i}, ${j}) is outside the ${X.rows} rows of X`);
    for (let r = 0; r < p; r++) xh[r] = X.data[i * p + r]! - X.data[j * p + r]!;
    const f = pairs.similar[t] ? fPos : fNeg;
    c.fill(0);
    for (let r = 0; r < p; r++) for (let k = 0; k < p; k++) c[k]! += U[r * p + k]! * xh[r]!;
    for (let k = 0; k < p; k++) c[k]! *= f[k]!;
    for (let r = 0; r < p; r++) {
      let s = 0;
      for (let k = 0; k < p; k++) s += U[r * p + k]! * c[k]!;
      const m = 0.5 * (X.data[i * p + r]! + X.data[j * p + r]!);
      difference.data[t * p + r] = s;
      first.data[t * p + r] = m + 0.5 * s;
      second.data[t * p + r] = m - 0.5 * s;
    }
  }
  return { first, second, difference };
}

/** Relative eigenvalue floor of {@link amlGmmlPoint} (spec §8: "an eigenvalue floor" in the GMML closed form). */
export const AML_GMML_FLOOR = 1e-14;

/**
 * The GMML point M = A^{−1/2}(A^{1/2}BA^{1/2})^{1/2}A^{−1/2} = A⁻¹ # B, the minimiser of tr(MA) + tr(M⁻¹B), which the
 * AML code compares with its best iterate (reference/aml.md §3.1). Following §8, eigenvalues of A and of
 * A^{1/2}BA^{1/2} are floored at 1e−14 × their largest one, so rank-deficient scatters (constant columns, d > pairs)
 * whose rounding leaves a tiny negative eigenvalue still give a positive definite M instead of an error; on
 * well-conditioned scatters the floor is inactive and this is the plain geometric mean.
 *
 * @throws RobustMetricError SHAPE_MISMATCH for different sizes; NUMERICAL when A or B has no positive eigenvalue.
 * @example amlGmmlPoint(A, B) // [[1.956784194521, 0.66270550882], [0.66270550882, 3.858631946627]] on fixture 1
 */
export function amlGmmlPoint(A: Mat, B: Mat): Mat {
  const p = A.rows;
  assertShape(A, p, p, "A");
  assertShape(B, p, p, "B");
  const floorOf = (S: Mat, what: string): number => {
    const top = eigh(symmetrize({ rows: p, cols: p, data: S.data.slice() })).values[p - 1]!;
    if (!(top > 0))
      throw new RobustMetricError("NUMERICAL", `${what} has no positive eigenvalue (largest ${top})`);
    return AML_GMML_FLOOR * top;
  };
  const fa = floorOf(A, "A");
  floorOf(B, "B");
  const As = symmetrize({ rows: p, cols: p, data: A.data.slice() });
  const Ah = symFn(As, (l) => Math.sqrt(Math.max(l, fa)));
  const Aih = symFn(As, (l) => 1 / Math.sqrt(Math.max(l, fa)));
  const inner = symmetrize(gemm(gemm(Ah, B), Ah));
  const fi = floorOf(inner, "A^{1/2}BA^{1/2}");
  const P = symFn(inner, (l) => Math.sqrt(Math.max(l, fi)));
  return symmetrize(gemm(gemm(Aih, P), Aih));
}
