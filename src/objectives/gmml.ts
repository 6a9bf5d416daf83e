// The GMML loss (Zadeh, Hosseini & Sra, "Geometric Mean Metric Learning", ICML 2016, eq. 3; reference/aml.md §2.3):
//   L(M) = tr(MA) + tr(M⁻¹B),   A = Σ_similar x̂x̂ᵀ, B = Σ_dissimilar x̂x̂ᵀ, x̂ = x_i − x_i′,
// whose minimiser over M ≻ 0 is the geometric mean M = A⁻¹ # B (eq. 6); the weighted mean A⁻¹ #_t B minimises the
// Riemannian variant of eq. 9.
import { RobustMetricError } from "../errors.js";
import { gemm } from "../linalg/gemm.js";
import { assertShape, type Mat } from "../linalg/mat.js";
import { symFn, symmetrize } from "../linalg/sym.js";

/**
 * GMML loss tr(MA) + tr(M⁻¹B) and its symmetric gradient A − M⁻¹BM⁻¹ (M must be positive definite).
 *
 * @throws RobustMetricError SHAPE_MISMATCH for different sizes; NUMERICAL when M is not positive definite.
 * @example gmmlLoss(M, A, B).value
 */
export function gmmlLoss(M: Mat, A: Mat, B: Mat): { value: number; gradient: Mat } {
  const p = M.rows;
  assertShape(M, p, p, "M");
  assertShape(A, p, p, "A");
  assertShape(B, p, p, "B");
  const Minv = symFn(M, (l) => {
    if (!(l > 0))
      throw new RobustMetricError("NUMERICAL", `GMML needs a positive definite M; eigenvalue ${l}`);
    return 1 / l;
  });
  let value = 0;
  for (let i = 0; i < p * p; i++) value += M.data[i]! * A.data[i]! + Minv.data[i]! * B.data[i]!;
  const MiB = gemm(Minv, B);
  const MiBMi = gemm(MiB, Minv);
  const gradient: Mat = { rows: p, cols: p, data: A.data.map((v, i) => v - MiBMi.data[i]!) };
  return { value, gradient: symmetrize(gradient) };
}

/**
 * The weighted geometric mean A⁻¹ #_t B = A^{−1/2} (A^{1/2} B A^{1/2})^t A^{−1/2} of SPD matrices (t = 1/2: the GMML
 * solution). Exactly symmetric.
 *
 * @throws RobustMetricError NUMERICAL when A or B is not positive definite.
 */
export function geometricMean(A: Mat, B: Mat, t = 0.5): Mat {
  const pos = (what: string) => (l: number) => {
    if (!(l > 0))
      throw new RobustMetricError("NUMERICAL", `${what} is not positive definite (eigenvalue ${l})`);
    return l;
  };
  const Ah = symFn(A, (l) => Math.sqrt(pos("A")(l)));
  const Aih = symFn(A, (l) => 1 / Math.sqrt(pos("A")(l)));
  const inner = symmetrize(gemm(gemm(Ah, B), Ah));
  const P = symFn(inner, (l) => pos("A^{1/2}BA^{1/2}")(l) ** t);
  return symmetrize(gemm(gemm(Aih, P), Aih));
}
