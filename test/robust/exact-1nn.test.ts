import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/data/rng.js";
import { eye, fromRows, type Mat } from "../../src/linalg/mat.js";
import { MahalanobisMetric } from "../../src/metric/mahalanobis.js";
import {
  CertificationContext,
  exactMinimalPerturbation1nn,
  solveNegativeQp,
} from "../../src/robust/index.js";

interface QpResult {
  solution: number[];
  message: string;
}
const quadprog = createRequire(import.meta.url)("quadprog") as {
  solveQP(D: number[][], d: number[], A: number[][], b: number[], meq?: number): QpResult;
};

function ctxOf(X: number[][], y: number[], M: Mat): CertificationContext {
  return CertificationContext.fromMetric(MahalanobisMetric.fromM(M), fromRows(X), Int32Array.from(y));
}

const ex1 = {
  X: [
    [0.5, 0.5],
    [1, 0.5],
    [0, 1],
  ],
  y: [1, 1, 0],
};
const ex2 = {
  X: [
    [0, 0],
    [1, 0],
    [0.5, 1],
  ],
  y: [0, 0, 1],
};
const ex4 = {
  X: [
    [0.5, 0.5],
    [1, 0.5],
    [0.2, 0.9],
    [0, 1],
    [0.9, 0],
    [0.4, 0],
  ],
  y: [1, 1, 1, 0, 0, 2],
  M: fromRows([
    [1, 0.3],
    [0.3, 2],
  ]),
};

describe("exact 1-NN minimal perturbation: certification.md §1.3 vectors", () => {
  it("knn_robustness unit test: δ = [−0.25, 0.25], ε* = 0.353553390593", () => {
    const ctx = ctxOf(ex1.X, ex1.y, eye(2));
    const qp = solveNegativeQp(ctx, ctx.prepare([0, 0]), ctx.classRows[1]!, 2);
    expect(qp.delta![0]).toBeCloseTo(-0.25, 10);
    expect(qp.delta![1]).toBeCloseTo(0.25, 10);
    const r = exactMinimalPerturbation1nn(ctx, [0, 0], 1);
    expect(r.prediction).toBe(1);
    expect(r.lowerBound).toBeCloseTo(0.353553390593, 10);
    expect(r.norm).toBeCloseTo(0.353553390593, 8);
    expect(r.norm).toBeGreaterThanOrEqual(r.lowerBound);
    expect(ctx.predictOne([r.delta![0]!, r.delta![1]!], 1)).toBe(0);
  });

  it("two active constraints: λ = [0.09375, 0.09375], δ = [0, 0.375] (M = I); δ = [0, 0.4375] (M = diag(1,2))", () => {
    const ctx = ctxOf(ex2.X, ex2.y, eye(2));
    const qp = solveNegativeQp(ctx, ctx.prepare([0.5, 0]), ctx.classRows[0]!, 2);
    expect(qp.converged).toBe(true);
    expect(qp.delta![0]).toBeCloseTo(0, 10);
    expect(qp.delta![1]).toBeCloseTo(0.375, 10);
    expect(qp.lowerBound).toBeCloseTo(0.375, 10);
    const r = exactMinimalPerturbation1nn(ctx, [0.5, 0], 0);
    expect(r.lowerBound).toBeCloseTo(0.375, 10);
    expect(r.norm).toBeCloseTo(0.375, 7);
    const D = fromRows([
      [1, 0],
      [0, 2],
    ]);
    const r2 = exactMinimalPerturbation1nn(ctxOf(ex2.X, ex2.y, D), [0.5, 0], 0);
    expect(r2.lowerBound).toBeCloseTo(0.4375, 10);
    expect(r2.norm).toBeCloseTo(0.4375, 7);
  });

  it("the 4-point case with M = [[1,.3],[.3,2]]: ε_j = 0.5675957615, 0.1574076040, 0.0132087228", () => {
    const ctx = ctxOf(ex4.X, ex4.y, ex4.M);
    const q = ctx.prepare([0.3, 0.3]);
    const per = [3, 4, 5].map((j) => solveNegativeQp(ctx, q, ctx.classRows[1]!, j));
    const want = [0.5675957615, 0.157407604, 0.0132087228];
    per.forEach((r, t) => {
      expect(r.primalNorm).toBeCloseTo(want[t]!, 9);
      expect(r.lowerBound).toBeCloseTo(want[t]!, 9);
      expect(r.lowerBound).toBeLessThanOrEqual(r.primalNorm + 1e-15);
    });
    const r = exactMinimalPerturbation1nn(ctx, [0.3, 0.3]);
    expect(r.prediction).toBe(1);
    expect(r.lowerBound).toBeCloseTo(0.0132087228, 9);
    expect(r.norm).toBeCloseTo(0.0132087228, 8);
    // screening: the nearest negative x5 has the smallest bound, the other two are pruned
    expect(r.qpsSolved).toBe(1);
  });

  it("misclassified → 0; no negatives → ∞; a negative tied with a lower-index positive is infeasible", () => {
    const ctx = ctxOf(ex4.X, ex4.y, ex4.M);
    expect(exactMinimalPerturbation1nn(ctx, [0.3, 0.3], 0)).toMatchObject({ norm: 0, lowerBound: 0 });
    const one = ctxOf(
      [
        [0, 0],
        [0, 0],
        [1, 1],
      ],
      [0, 1, 0],
      eye(2),
    );
    const r = exactMinimalPerturbation1nn(one, [0.2, 0.1], 0);
    expect(r).toMatchObject({ norm: Number.POSITIVE_INFINITY, lowerBound: Number.POSITIVE_INFINITY });
    expect(r.delta).toBeNull();
    const qp = solveNegativeQp(one, one.prepare([0.2, 0.1]), one.classRows[0]!, 1);
    expect(qp).toMatchObject({ infeasible: true, lowerBound: Number.POSITIVE_INFINITY, delta: null });
  });

  it("rejects bad options", () => {
    const ctx = ctxOf(ex4.X, ex4.y, ex4.M);
    expect(() => exactMinimalPerturbation1nn(ctx, [0.3, 0.3], 1, { screenSize: 0 })).toThrow(/screenSize/);
    expect(() => exactMinimalPerturbation1nn(ctx, [0.3], 1)).toThrow(/1 values/);
  });
});

/** min over negatives of the primal QP min ½‖δ‖² s.t. Aδ ≤ b, solved by quadprog (Goldfarb–Idnani). */
function oracle(X: number[][], y: number[], M: Mat, z: number[], label: number): number {
  const p = z.length;
  const Mv = (v: number[]) => v.map((_, r) => v.reduce((s, vc, c) => s + M.data[r * p + c]! * vc, 0));
  const dM = (a: number[], b: number[]) => {
    const t = a.map((v, c) => v - b[c]!);
    return Mv(t).reduce((s, v, c) => s + v * t[c]!, 0);
  };
  let best = Number.POSITIVE_INFINITY;
  for (let j = 0; j < X.length; j++) {
    if (y[j] === label) continue;
    const Dmat: number[][] = [[]];
    const dvec = [0];
    for (let r = 1; r <= p; r++) {
      Dmat[r] = [0];
      dvec[r] = 0;
      for (let c = 1; c <= p; c++) Dmat[r]![c] = r === c ? 1 : 0;
    }
    const Amat: number[][] = [[]];
    for (let r = 1; r <= p; r++) Amat[r] = [0];
    const bvec = [0];
    let k = 0;
    for (let i = 0; i < X.length; i++) {
      if (y[i] !== label) continue;
      k++;
      const a = Mv(X[i]!.map((v, c) => 2 * (v - X[j]![c]!)));
      for (let r = 1; r <= p; r++) Amat[r]![k] = -a[r - 1]!;
      bvec[k] = -(dM(z, X[i]!) - dM(z, X[j]!));
    }
    const res = quadprog.solveQP(Dmat, dvec, Amat, bvec);
    if (res.message) continue;
    const n = Math.sqrt(res.solution.slice(1).reduce((s, v) => s + v * v, 0));
    best = Math.min(best, n);
  }
  return best;
}

function randomPsd(rng: Rng, p: number, rank: number): Mat {
  const G = Array.from({ length: rank }, () => Array.from({ length: p }, () => rng.normal()));
  const data = new Float64Array(p * p);
  for (let r = 0; r < p; r++)
    for (let c = 0; c < p; c++) data[r * p + c] = G.reduce((s, g) => s + g[r]! * g[c]!, 0) / rank;
  return { rows: p, cols: p, data };
}

describe("exact 1-NN against the quadprog oracle", () => {
  it("agrees to 1e−6 on 600 random small problems (full-rank and singular M, screening subsets of 1..50, with and without the cache)", () => {
    const rng = new Rng(20240607);
    let compared = 0;
    for (let t = 0; t < 600; t++) {
      const p = rng.int(2, 4);
      const n = rng.int(4, 14);
      const C = rng.int(2, 3);
      const X = Array.from({ length: n }, () => Array.from({ length: p }, () => rng.uniform()));
      const y = Array.from({ length: n }, (_, i) => (i < C ? i : rng.int(0, C - 1)));
      const rank = t % 4 === 0 ? rng.int(1, p - 1) : p;
      const M = randomPsd(rng, p, rank);
      const z = Array.from({ length: p }, () => rng.uniform());
      const ctx = ctxOf(X, y, M);
      const screenSize = [1, 2, 50][t % 3]!;
      const r = exactMinimalPerturbation1nn(ctx, z, undefined, { screenSize, seed: t, cache: t % 2 === 0 });
      const want = oracle(X, y, ctx.M, z, r.label);
      expect(r.lowerBound).toBeLessThanOrEqual(want + 1e-9);
      if (Number.isFinite(want)) {
        expect(Math.abs(r.lowerBound - want)).toBeLessThan(1e-6 * Math.max(1, want));
        expect(Math.abs(r.norm - want)).toBeLessThan(1e-6 * Math.max(1, want));
        const w = z.map((v, c) => v + r.delta![c]!);
        expect(ctx.predictOne(w, 1)).not.toBe(r.label);
        compared++;
      } else expect(r.norm).toBe(Number.POSITIVE_INFINITY);
    }
    expect(compared).toBeGreaterThan(500);
  });
});
