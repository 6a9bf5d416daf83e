import { describe, expect, it } from "vitest";
import { Rng } from "../../src/data/rng.js";
import { solveSpd } from "../../src/linalg/cholesky.js";
import { eigh } from "../../src/linalg/eigh.js";
import { eye, fromRows, type Mat, zeros } from "../../src/linalg/mat.js";
import { reconstruct, symFn } from "../../src/linalg/sym.js";
import { syrk } from "../../src/linalg/syrk.js";
import {
  type AmlOptions,
  type AmlVariant,
  amlAdversarialPairs,
  amlG,
  amlGmmlPoint,
  amlObjective,
  amlObjectivePairwise,
  amlScatters,
} from "../../src/objectives/aml.js";
import { geometricMean, gmmlLoss } from "../../src/objectives/gmml.js";

// Fixture 1 of reference/aml.md §6: columns of the spec's 4×6 matrix are the pairs [x; x′].
const COLS = [
  [0.0, 1.0, 0.5, 2.0, -1.0, 0.3],
  [1.0, 0.0, 1.5, -1.0, 0.5, 0.2],
  [0.2, 1.1, 2.5, -0.5, 1.0, 0.9],
  [0.7, -0.4, 0.1, 1.5, -0.5, 1.4],
];
const SIMILAR = [1, 1, 0, 0, 1, 0];
/** The 12 points as rows (x_i at row i, x_i′ at row 6 + i) and the pairs (i, 6 + i). */
const FIX_X = fromRows([
  ...COLS[0]!.map((_, i) => [COLS[0]![i]!, COLS[1]![i]!]),
  ...COLS[0]!.map((_, i) => [COLS[2]![i]!, COLS[3]![i]!]),
]);
const FIX_PAIRS = { a: [0, 1, 2, 3, 4, 5], b: [6, 7, 8, 9, 10, 11], similar: SIMILAR };
const M1 = fromRows([
  [1.5, 0.3],
  [0.3, 0.8],
]);
const CASES: Array<{ opts: AmlOptions; FI: number; FM1: number; grad: number[] }> = [
  {
    opts: { alpha: 10, beta: 1 },
    FI: 8.993333333333,
    FM1: 10.753016447828,
    grad: [5.602380407378, -0.324114073888, -0.324114073888, -2.438839013739],
  },
  {
    opts: { alpha: 10, beta: 0.5 },
    FI: 6.363703703704,
    FM1: 8.255880271732,
    grad: [4.43979947654, 1.181661895994, 1.181661895994, -3.478168385929],
  },
  {
    opts: { alpha: 1, beta: 2 },
    FI: 4.733333333333,
    FM1: 5.643480823098,
    grad: [-0.523746818453, 1.805685482986, 1.805685482986, -3.672739073415],
  },
];

/** The spec prints 12 decimals: agree to half a unit in the last place (plus rounding slack). */
function printed(a: number, b: number): void {
  expect(Math.abs(a - b), `${a} vs ${b}`).toBeLessThanOrEqual(5e-13 + 1e-15 * Math.abs(b));
}

function randomSpd(p: number, rng: Rng, shift = 0.3): Mat {
  const Z = zeros(p + 2, p);
  for (let i = 0; i < Z.data.length; i++) Z.data[i] = rng.normal();
  const S = syrk(Z);
  for (let i = 0; i < p; i++) S.data[i * p + i]! += shift;
  for (let i = 0; i < S.data.length; i++) S.data[i] = S.data[i]! / p;
  return S;
}

/** Central differences of F along every symmetric basis direction, compared with ⟨∇F, E⟩. */
function checkGradient(M: Mat, A: Mat, B: Mat, N: number, opts: AmlOptions): void {
  const p = M.rows;
  const g = amlObjective(M, A, B, N, opts).gradient!;
  for (let r = 0; r < p; r++)
    for (let c = r; c < p; c++) {
      const h = 1e-6;
      const at = (s: number) => {
        const D = { rows: p, cols: p, data: M.data.slice() };
        D.data[r * p + c]! += s;
        if (r !== c) D.data[c * p + r]! += s;
        return amlObjective(D, A, B, N, opts, false).value;
      };
      const fd = (at(h) - at(-h)) / (2 * h);
      const an = r === c ? g.data[r * p + c]! : 2 * g.data[r * p + c]!;
      expect(Math.abs(fd - an), `(${r},${c}) fd ${fd} vs ${an}`).toBeLessThan(
        1e-6 * Math.max(1, Math.abs(an)),
      );
    }
}

describe("AML objective on fixture 1 (reference/aml.md §6)", () => {
  const { A, B, N } = amlScatters(FIX_X, FIX_PAIRS);
  it("builds the spec's scatters", () => {
    const wantA = [4.05, -2.1, -2.1, 1.25];
    const wantB = [10.61, -8.33, -8.33, 9.65];
    for (let i = 0; i < 4; i++) {
      expect(A.data[i]).toBeCloseTo(wantA[i]!, 13);
      expect(B.data[i]).toBeCloseTo(wantB[i]!, 13);
    }
    expect(N).toBe(6);
  });
  for (const c of CASES) {
    const name = `α = ${c.opts.alpha}, β = ${c.opts.beta}`;
    it(`${name}: F(I), F(M1) and ∇F(M1) to the 12 printed decimals`, () => {
      printed(amlObjective(eye(2), A, B, N, c.opts).value, c.FI);
      const r = amlObjective(M1, A, B, N, c.opts);
      printed(r.value, c.FM1);
      for (let i = 0; i < 4; i++) printed(r.gradient!.data[i]!, c.grad[i]!);
    });
    it(`${name}: the per-pair form gives the same F(M1) (code and h1)`, () => {
      const D = zeros(6, 2);
      for (let i = 0; i < 6; i++)
        for (let j = 0; j < 2; j++) D.data[i * 2 + j] = COLS[j]![i]! - COLS[2 + j]![i]!;
      for (const variant of ["code", "h1"] as AmlVariant[]) {
        const o = { ...c.opts, variant };
        const trace = amlObjective(M1, A, B, N, o, false).value;
        expect(Math.abs(amlObjectivePairwise(M1, D, SIMILAR, o) - trace)).toBeLessThan(1e-14 * trace);
      }
    });
  }
});

describe("AML gradient (Daleckii–Krein, spec §3.2)", () => {
  const rng = new Rng(7);
  const p = 5;
  const A = randomSpd(p, rng);
  const B = randomSpd(p, rng);
  for (const variant of ["code", "h1"] as AmlVariant[]) {
    for (const [alpha, beta] of [
      [10, 1],
      [3, 0.5],
      [1, 2],
    ] as const) {
      it(`${variant}, α = ${alpha}, β = ${beta}: matches central differences at a random SPD M`, () => {
        checkGradient(randomSpd(p, rng), A, B, 40, { alpha, beta, variant });
      });
    }
    it(`${variant}: matches central differences at M = I and with repeated eigenvalues`, () => {
      checkGradient(eye(p), A, B, 40, { alpha: 10, beta: 1, variant });
      // an arbitrary eigenbasis with eigenvalues (0.5, 0.5, 2, 2, 2): Γ must use g′ on the coincident blocks
      const { vectors } = eigh(randomSpd(p, rng));
      const M = reconstruct(vectors, [0.5, 0.5, 2, 2, 2]);
      checkGradient(M, A, B, 40, { alpha: 10, beta: 1, variant });
    });
  }
  it("α = 0 reduces to the GMML loss divided by N", () => {
    const M = randomSpd(p, rng);
    const r = amlObjective(M, A, B, 8, { alpha: 0, beta: 1 });
    const g = gmmlLoss(M, A, B);
    expect(r.value).toBeCloseTo(g.value / 8, 12);
    for (let i = 0; i < p * p; i++) expect(r.gradient!.data[i]).toBeCloseTo(g.gradient.data[i]! / 8, 10);
  });
  it("g′ is the derivative of g", () => {
    for (const [l, k] of [
      [0.3, 1],
      [1.7, 0.25],
      [2.5, 4],
    ] as const) {
      const fd = (amlG(l + 1e-6, k).g - amlG(l - 1e-6, k).g) / 2e-6;
      expect(amlG(l, k).dg).toBeCloseTo(fd, 7);
    }
  });
  it("rejects an indefinite M, a zero N and a bad β with clear errors", () => {
    const bad = fromRows([
      [1, 0],
      [0, -1e-3],
    ]);
    const I = eye(2);
    expect(() => amlObjective(bad, I, I, 1, { alpha: 1, beta: 1 })).toThrow(
      /positive definite M; eigenvalue 0/,
    );
    expect(() => amlObjective(I, I, I, 0, { alpha: 1, beta: 1 })).toThrow(/N > 0/);
    expect(() => amlObjective(I, I, I, 1, { alpha: 1, beta: 0 })).toThrow(/beta must be/);
    expect(() => amlObjective(I, eye(3), I, 1, { alpha: 1, beta: 1 })).toThrow(/A/);
  });
});

describe("AML adversarial pairs (spec §2.5, §2.6, §7 item 12)", () => {
  const rng = new Rng(3);
  const p = 3;
  const n = 10;
  const X = zeros(n, p);
  for (let i = 0; i < X.data.length; i++) X.data[i] = rng.normal();
  const pairs = { a: [0, 1, 2, 3, 4], b: [5, 6, 7, 8, 9], similar: [1, 0, 1, 0, 1] };
  const M = randomSpd(p, rng);
  for (const variant of ["code", "h1"] as AmlVariant[]) {
    it(`${variant}: α·L(M, Π*, y)/N equals the adversarial part of F, and midpoints are kept`, () => {
      const opts = { alpha: 2.5, beta: 0.7, variant };
      const adv = amlAdversarialPairs(X, pairs, M, opts);
      const { A, B, N } = amlScatters(X, pairs);
      const base = gmmlLoss(M, A, B).value / N;
      const Adv = amlScatters(
        { rows: 2 * N, cols: p, data: Float64Array.from([...adv.first.data, ...adv.second.data]) },
        { a: [0, 1, 2, 3, 4], b: [5, 6, 7, 8, 9], similar: pairs.similar },
      );
      const advLoss = gmmlLoss(M, Adv.A, Adv.B).value / N;
      const F = amlObjective(M, A, B, N, opts, false).value;
      expect(base + opts.alpha * advLoss).toBeCloseTo(F, 12);
      for (let t = 0; t < N; t++)
        for (let r = 0; r < p; r++) {
          const m = X.data[pairs.a[t]! * p + r]! + X.data[pairs.b[t]! * p + r]!;
          expect(adv.first.data[t * p + r]! + adv.second.data[t * p + r]!).toBeCloseTo(m, 13);
        }
    });
  }
  it("h1 equals the brute-force minimiser of the label-flipped loss + β·locality (2p×2p solve)", () => {
    const beta = 0.8;
    const adv = amlAdversarialPairs(X, pairs, M, { alpha: 1, beta, variant: "h1" });
    const Minv = symFn(M, (l) => 1 / l);
    for (let t = 0; t < 5; t++) {
      // minimise (π−π′)ᵀK(π−π′) + β(π−x)ᵀM(π−x) + β(π′−x′)ᵀM(π′−x′), K = M^{−y}
      const K = pairs.similar[t] ? Minv : M;
      const H = zeros(2 * p, 2 * p);
      const rhs = zeros(2 * p, 1);
      for (let i = 0; i < p; i++)
        for (let j = 0; j < p; j++) {
          const k = K.data[i * p + j]!;
          const m = beta * M.data[i * p + j]!;
          H.data[i * 2 * p + j] = k + m;
          H.data[(p + i) * 2 * p + p + j] = k + m;
          H.data[i * 2 * p + p + j] = -k;
          H.data[(p + i) * 2 * p + j] = -k;
          rhs.data[i]! += m * X.data[pairs.a[t]! * p + j]!;
          rhs.data[p + i]! += m * X.data[pairs.b[t]! * p + j]!;
        }
      const sol = solveSpd(H, rhs).data;
      for (let r = 0; r < p; r++) {
        expect(adv.first.data[t * p + r]).toBeCloseTo(sol[r]!, 11);
        expect(adv.second.data[t * p + r]).toBeCloseTo(sol[p + r]!, 11);
      }
    }
  });
});

describe("AML's GMML point (spec §3.1, §8)", () => {
  it("equals the geometric mean A⁻¹ # B on well-conditioned scatters and solves MAM = B", () => {
    const rng = new Rng(21);
    const A = randomSpd(4, rng);
    const B = randomSpd(4, rng);
    const M = amlGmmlPoint(A, B);
    const G = geometricMean(A, B, 0.5);
    for (let i = 0; i < 16; i++) expect(M.data[i]).toBeCloseTo(G.data[i]!, 12);
  });
  it("stays positive definite and finite on rank-deficient scatters with a tiny ridge (constant column)", () => {
    const rng = new Rng(22);
    const X = zeros(30, 5);
    for (let i = 0; i < 30; i++) for (let j = 0; j < 4; j++) X.data[i * 5 + j] = 100 * rng.normal();
    const pairs = { a: [] as number[], b: [] as number[], similar: [] as number[] };
    for (let t = 0; t < 60; t++) {
      pairs.a.push(rng.int(0, 29));
      pairs.b.push(rng.int(0, 29));
      pairs.similar.push(t % 2);
    }
    const { A, B } = amlScatters(X, pairs);
    for (const S of [A, B]) {
      let tr = 0;
      for (let i = 0; i < 5; i++) tr += S.data[i * 5 + i]!;
      for (let i = 0; i < 5; i++) S.data[i * 5 + i]! += (1e-8 * tr) / 5;
    }
    const M = amlGmmlPoint(A, B);
    expect(Array.from(M.data).every(Number.isFinite)).toBe(true);
    const { values } = eigh(M);
    expect(values[0]!).toBeGreaterThan(0);
    expect(Number.isFinite(amlObjective(M, A, B, 60, { alpha: 10, beta: 1 }).value)).toBe(true);
    expect(() => amlGmmlPoint(zeros(2, 2), eye(2))).toThrow(/A has no positive eigenvalue/);
  });
});
