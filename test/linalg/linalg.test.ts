import fc from "fast-check";
import { EigenvalueDecomposition, Matrix, solve } from "ml-matrix";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/data/rng.js";
import {
  cholesky,
  eigh,
  fromRows,
  gemm,
  gemmABt,
  gemmAtB,
  type Mat,
  mirrorUpper,
  outerSum,
  psdProject,
  reconstruct,
  solveSpd,
  sqDistances,
  symFn,
  symmetrize,
  syrk,
  transpose,
  zeros,
} from "../../src/linalg/index.js";
import { linalgBackend, setLinalgBackend } from "../../src/linalg/wasm-linalg.js";

function rand(rows: number, cols: number, rng: Rng, scale = 1): Mat {
  const m = zeros(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = scale * rng.normal();
  return m;
}
function randSym(n: number, rng: Rng): Mat {
  return symmetrize(rand(n, n, rng));
}
const ml = (m: Mat) =>
  new Matrix(
    Array.from({ length: m.rows }, (_, i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols))),
  );
function maxAbsDiff(a: Mat, b: Matrix | Mat): number {
  const bd = b instanceof Matrix ? Float64Array.from(b.to1DArray()) : b.data;
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i]! - bd[i]!));
  return m;
}
function frob(a: Float64Array): number {
  let s = 0;
  for (const v of a) s += v * v;
  return Math.sqrt(s);
}
/** ‖AV − VΛ‖_F / ‖A‖_F and ‖VᵀV − I‖_max. */
function eigResidual(a: Mat): { res: number; orth: number } {
  const { values, vectors } = eigh(a);
  const av = gemm(a, vectors);
  const n = a.rows;
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) av.data[i * n + k]! -= vectors.data[i * n + k]! * values[k]!;
  const vtv = gemmAtB(vectors, vectors);
  let orth = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) orth = Math.max(orth, Math.abs(vtv.data[i * n + j]! - (i === j ? 1 : 0)));
  const na = frob(a.data);
  return { res: na === 0 ? frob(av.data) : frob(av.data) / na, orth };
}

describe("matrix products against ml-matrix", () => {
  const rng = new Rng(1);
  it.each([
    [1, 1, 1],
    [3, 5, 2],
    [7, 4, 9],
    [33, 17, 21],
    [64, 64, 64],
  ])("gemm, gemmABt, gemmAtB for %i×%i·%i", (m, k, n) => {
    const a = rand(m, k, rng);
    const b = rand(k, n, rng);
    expect(maxAbsDiff(gemm(a, b), ml(a).mmul(ml(b)))).toBeLessThan(1e-10);
    const bt = transpose(b);
    expect(maxAbsDiff(gemmABt(a, bt), ml(a).mmul(ml(b)))).toBeLessThan(1e-10);
    const at = transpose(a);
    expect(maxAbsDiff(gemmAtB(at, b), ml(a).mmul(ml(b)))).toBeLessThan(1e-10);
  });

  it("outerSum is Σ w_i v_i v_iᵀ, accumulates into out, and syrk is XᵀX", () => {
    const v = rand(20, 6, rng);
    const w = Array.from({ length: 20 }, () => rng.uniform() - 0.3);
    const W = Matrix.diag(w);
    expect(maxAbsDiff(outerSum(v, w), ml(v).transpose().mmul(W).mmul(ml(v)))).toBeLessThan(1e-10);
    expect(maxAbsDiff(syrk(v), ml(v).transpose().mmul(ml(v)))).toBeLessThan(1e-10);
    const acc = outerSum(v);
    outerSum(v, undefined, acc);
    expect(maxAbsDiff(acc, ml(v).transpose().mmul(ml(v)).mul(2))).toBeLessThan(1e-10);
  });

  it("shape errors quote both shapes", () => {
    expect(() => gemm(zeros(2, 3), zeros(2, 3))).toThrow(/A is 2×3, B is 2×3/);
    expect(() => gemmABt(zeros(2, 3), zeros(2, 4))).toThrow(/A is 2×3, B is 2×4/);
    expect(() => sqDistances(zeros(2, 3), zeros(2, 4))).toThrow(/2×3.*2×4/);
    expect(() => outerSum(zeros(2, 3), [1])).toThrow(/1 weights for 2 vectors/);
    expect(() => eigh(zeros(2, 3))).toThrow(/square/);
  });
});

describe("sqDistances", () => {
  it("equals the definition and stays exact far from the origin", () => {
    const rng = new Rng(2);
    const a = rand(13, 7, rng);
    const b = rand(9, 7, rng);
    const d = sqDistances(a, b);
    for (let i = 0; i < 13; i++)
      for (let j = 0; j < 9; j++) {
        let s = 0;
        for (let k = 0; k < 7; k++) s += (a.data[i * 7 + k]! - b.data[j * 7 + k]!) ** 2;
        expect(d.data[i * 9 + j]).toBeCloseTo(s, 12);
      }
    // the symmetric shortcut (same matrix on both sides) gives exactly the general result
    const x = rand(37, 5, new Rng(9));
    const same = sqDistances(x, x);
    const general = sqDistances(x, { ...x, data: x.data.slice() });
    expect(Array.from(same.data)).toEqual(Array.from(general.data));
    // two points 1e8 from the origin, 1e-3 apart: the expansion formula would give garbage
    const shifted = 1e8 + 1e-3;
    const gap = shifted - 1e8; // exact (Sterbenz): the representable offset
    const far = sqDistances(fromRows([[1e8, 1e8]]), fromRows([[shifted, 1e8]]));
    expect(far.data[0]).toBe(gap * gap);
    const expansion = 2e16 + (shifted ** 2 + 1e16) - 2 * (1e8 * shifted + 1e16);
    expect(Math.abs(expansion - gap * gap)).toBeGreaterThan(1e-7);
  });
});

describe("mirrorUpper", () => {
  it("copies the upper triangle onto the lower one across tile edges, leaving the upper triangle alone", () => {
    const rng = new Rng(12);
    for (const n of [1, 2, 63, 64, 65, 130, 200]) {
      const C = rand(n, n, rng).data;
      const before = C.slice();
      mirrorUpper(C, n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) expect(C[i * n + j]).toBe(before[j <= i ? j * n + i : i * n + j]);
    }
    // the symmetric distance shortcut across several tiles equals the general kernel bit for bit
    const x = rand(150, 3, new Rng(13));
    expect(Array.from(sqDistances(x, x).data)).toEqual(
      Array.from(sqDistances(x, { ...x, data: x.data.slice() }).data),
    );
  });
});

describe("sqDistances backends", () => {
  it("WebAssembly SIMD and JavaScript kernels give the same bits (odd and even sizes, symmetric or not)", () => {
    expect(linalgBackend()).toBe("wasm"); // Node 20 has WebAssembly SIMD: the fast path must really run
    const rng = new Rng(11);
    for (const [m, n, d] of [
      [64, 80, 9],
      [65, 33, 64],
      [128, 128, 1],
      [70, 71, 30],
      [40, 300, 17],
    ] as const) {
      const a = rand(m, d, rng, 3);
      const b = rand(n, d, rng);
      for (const [x, y] of [
        [a, b],
        [a, a],
      ] as const) {
        const fast = sqDistances(x, y);
        setLinalgBackend("js");
        try {
          const slow = sqDistances(x, y);
          expect(Array.from(fast.data)).toEqual(Array.from(slow.data));
        } finally {
          setLinalgBackend("auto");
        }
      }
    }
  });
});

describe("gemm backends", () => {
  it("WebAssembly SIMD and JavaScript give the same bits for gemm, gemmABt, gemmAtB (ragged shapes)", () => {
    const rng = new Rng(12);
    for (const [m, k, n] of [
      [33, 40, 35],
      [64, 64, 64],
      [5, 300, 7],
      [101, 13, 6],
      [40, 41, 42],
      [34, 17, 9], // 4-row blocks, then a 2-row block
      [39, 8, 13], // then a 2-row and a 1-row block
      [3, 5, 4],
      [131, 300, 70], // B over 128 KB: chunks of 64 rows (64, 64, then 3)
    ] as const) {
      const A = rand(m, k, rng);
      const B = rand(k, n, rng);
      const Bt = transpose(B);
      const At = transpose(A);
      const fast = [gemm(A, B), gemmABt(A, Bt), gemmAtB(At, B)];
      setLinalgBackend("js");
      try {
        const slow = [gemm(A, B), gemmABt(A, Bt), gemmAtB(At, B)];
        for (let q = 0; q < 3; q++) expect(Array.from(fast[q]!.data)).toEqual(Array.from(slow[q]!.data));
        // and all three products agree with each other: the same sums in the same order
        expect(Array.from(slow[1]!.data)).toEqual(Array.from(slow[0]!.data));
        expect(Array.from(slow[2]!.data)).toEqual(Array.from(slow[0]!.data));
      } finally {
        setLinalgBackend("auto");
      }
    }
  });
});

describe("eigh", () => {
  it("WebAssembly and JavaScript tred2/tql2 and reconstruct give the same bits (sizes odd and even, zero blocks, ties, PSD)", () => {
    expect(linalgBackend()).toBe("wasm");
    const rng = new Rng(11);
    const cases: Mat[] = [];
    for (const n of [1, 2, 3, 4, 7, 8, 14, 31, 64, 65]) {
      cases.push(randSym(n, rng));
      // a projected-gradient iterate: PSD with a zero block (clipped directions) and repeated eigenvalues
      const b = zeros(n, n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j <= i; j++) {
          const v = i < n / 2 || j < n / 2 ? 0 : (i + j) % 3;
          b.data[i * n + j] = v;
          b.data[j * n + i] = v;
        }
      cases.push(b);
      const c = zeros(n, n);
      for (let i = 0; i < n; i++) c.data[i * n + i] = i % 2; // diagonal: tql2 has nothing to do for many l
      cases.push(c);
    }
    for (const a of cases) {
      const fast = eigh(a);
      setLinalgBackend("js");
      try {
        const slow = eigh(a);
        expect(Array.from(fast.values)).toEqual(Array.from(slow.values));
        expect(Array.from(fast.vectors.data)).toEqual(Array.from(slow.vectors.data));
        // U diag(w) Uᵀ with some weights clipped to 0, as psdProject does
        const w = fast.values.map((v, k) => (k % 3 === 0 ? 0 : v));
        setLinalgBackend("auto");
        const r1 = reconstruct(fast.vectors, w).data;
        setLinalgBackend("js");
        expect(Array.from(reconstruct(fast.vectors, w).data)).toEqual(Array.from(r1));
      } finally {
        setLinalgBackend("auto");
      }
    }
  });

  it.each([2, 5, 10, 50, 120, 300])(
    "random symmetric n = %i: residual < 1e-12, orthonormal, values match ml-matrix",
    (n) => {
      const a = randSym(n, new Rng(n));
      const { res, orth } = eigResidual(a);
      expect(res).toBeLessThan(1e-12);
      expect(orth).toBeLessThan(1e-12);
      if (n <= 120) {
        const ref = new EigenvalueDecomposition(ml(a), { assumeSymmetric: true }).realEigenvalues.sort(
          (x, y) => x - y,
        );
        const { values } = eigh(a);
        ref.forEach((v, i) =>
          expect(Math.abs(values[i]! - v)).toBeLessThan(1e-10 * Math.max(1, Math.abs(v))),
        );
      }
    },
  );

  it("edge cases: 1×1, zero, identity, diagonal, repeated and nearly singular, tridiagonal", () => {
    expect(Array.from(eigh(fromRows([[-3]])).values)).toEqual([-3]);
    const z = eigh(zeros(4, 4));
    expect(Array.from(z.values)).toEqual([0, 0, 0, 0]);
    expect(eigResidual(zeros(4, 4)).orth).toBeLessThan(1e-15);
    const id = eigh(
      fromRows([
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ]),
    );
    expect(Array.from(id.values)).toEqual([1, 1, 1]);
    const diag = eigh(
      fromRows([
        [3, 0, 0],
        [0, -1, 0],
        [0, 0, 2],
      ]),
    );
    expect(Array.from(diag.values)).toEqual([-1, 2, 3]);
    // a 3-fold eigenvalue: Q diag(2,2,2,5) Qᵀ
    const q = eigh(randSym(4, new Rng(9))).vectors;
    const rep = symFn(
      fromRows([
        [1, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 1],
      ]),
      () => 0,
    );
    expect(Array.from(rep.data).every((v) => v === 0)).toBe(true);
    const qd = gemm(
      gemm(
        q,
        fromRows([
          [2, 0, 0, 0],
          [0, 2, 0, 0],
          [0, 0, 2, 0],
          [0, 0, 0, 5],
        ]),
      ),
      transpose(q),
    );
    symmetrize(qd);
    const r = eigh(qd);
    [2, 2, 2, 5].forEach((v, i) => expect(r.values[i]).toBeCloseTo(v, 13));
    expect(eigResidual(qd).res).toBeLessThan(1e-13);
    // nearly singular: rank-1 plus 1e-14 I
    const u = rand(6, 1, new Rng(3));
    const ns = gemmABt(u, u);
    for (let i = 0; i < 6; i++) ns.data[i * 6 + i]! += 1e-14;
    const nsr = eigResidual(ns);
    expect(nsr.res).toBeLessThan(1e-13);
    expect(nsr.orth).toBeLessThan(1e-13);
    const tri = fromRows([
      [2, -1, 0, 0],
      [-1, 2, -1, 0],
      [0, -1, 2, -1],
      [0, 0, -1, 2],
    ]);
    // eigenvalues of the 1-D Laplacian: 2 − 2cos(kπ/5)
    const tv = eigh(tri).values;
    [1, 2, 3, 4].forEach((k, i) => expect(tv[i]).toBeCloseTo(2 - 2 * Math.cos((k * Math.PI) / 5), 14));
  });

  it("rejects non-finite input", () => {
    expect(() =>
      eigh(
        fromRows([
          [1, Number.NaN],
          [Number.NaN, 1],
        ]),
      ),
    ).toThrow(/non-finite/);
  });

  it("property: V diag(λ) Vᵀ rebuilds A (fast-check)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer(), (n, seed) => {
        const a = randSym(n, new Rng(seed));
        const { res, orth } = eigResidual(a);
        return res < 1e-12 && orth < 1e-12;
      }),
      { numRuns: 200 },
    );
  });
});

describe("cholesky, solveSpd, psdProject, symFn", () => {
  it("cholesky and solve against ml-matrix", () => {
    const rng = new Rng(4);
    const x = rand(30, 12, rng);
    const a = syrk(x);
    const l = cholesky(a);
    expect(maxAbsDiff(gemmABt(l, l), a)).toBeLessThan(1e-10);
    for (let i = 0; i < 12; i++) for (let j = i + 1; j < 12; j++) expect(l.data[i * 12 + j]).toBe(0);
    const b = rand(12, 3, rng);
    const sol = solveSpd(a, b);
    expect(maxAbsDiff(sol, solve(ml(a), ml(b)))).toBeLessThan(1e-10);
    expect(() =>
      cholesky(
        fromRows([
          [1, 2],
          [2, 1],
        ]),
      ),
    ).toThrow(/not positive definite \(pivot 1/);
  });

  it("psdProject: PSD, idempotent, the Frobenius-nearest PSD matrix", () => {
    const rng = new Rng(5);
    const a = randSym(8, rng);
    const { matrix, values } = psdProject(a);
    expect(Math.min(...eigh(matrix).values)).toBeGreaterThan(-1e-12);
    expect(Array.from(values).every((v) => v >= 0)).toBe(true);
    expect(maxAbsDiff(psdProject(matrix).matrix, matrix)).toBeLessThan(1e-12);
    // nearest: ‖A − P‖² equals the sum of squared negative eigenvalues of A
    const neg = Array.from(eigh(a).values).filter((v) => v < 0);
    const diff = a.data.map((v, i) => v - matrix.data[i]!);
    expect(frob(diff) ** 2).toBeCloseTo(
      neg.reduce((s, v) => s + v * v, 0),
      10,
    );
    // a clip threshold sets small eigenvalues exactly to zero
    const clipped = psdProject(
      fromRows([
        [1e-11, 0],
        [0, 2],
      ]),
      1e-10,
    );
    expect(Array.from(clipped.values)).toEqual([0, 2]);
    expect(Array.from(clipped.matrix.data)).toEqual([0, 0, 0, 2]);
  });

  it("symFn: sqrt(M)² = M and inverse", () => {
    const rng = new Rng(6);
    const a = syrk(rand(20, 5, rng));
    const s = symFn(a, Math.sqrt);
    expect(maxAbsDiff(gemm(s, s), a)).toBeLessThan(1e-10);
    const inv = symFn(a, (v) => 1 / v);
    expect(
      maxAbsDiff(
        gemm(inv, a),
        fromRows([
          [1, 0, 0, 0, 0],
          [0, 1, 0, 0, 0],
          [0, 0, 1, 0, 0],
          [0, 0, 0, 1, 0],
          [0, 0, 0, 0, 1],
        ]),
      ),
    ).toBeLessThan(1e-10);
    expect(() =>
      symFn(
        fromRows([
          [0, 0],
          [0, 1],
        ]),
        Math.log,
      ),
    ).toThrow(/not finite/);
  });
});
