import { describe, expect, it } from "vitest";
import { iris } from "../../src/data/embedded.js";
import { Rng } from "../../src/data/rng.js";
import { RobustMetricError } from "../../src/errors.js";
import { evaluateMethods } from "../../src/eval/evaluate.js";
import { type ArmlTripletScratch, arml, armlTriplets } from "../../src/learners/arml.js";
import { getLearner, resolveParams } from "../../src/learners/index.js";
import { cholesky } from "../../src/linalg/cholesky.js";
import { sqDistances } from "../../src/linalg/distance.js";
import { gemmABt } from "../../src/linalg/gemm.js";
import { eye, fromRows, type Mat, transpose, zeros } from "../../src/linalg/mat.js";
import { ARML_EPS, armlLoss, armlMargins } from "../../src/objectives/arml.js";

function randn(rows: number, cols: number, rng: Rng): Mat {
  const M = zeros(rows, cols);
  for (let i = 0; i < M.data.length; i++) M.data[i] = rng.normal();
  return M;
}

function finite(m: Mat): boolean {
  return Array.from(m.data).every(Number.isFinite);
}

/** Central differences of the loss in every entry of G against the analytic gradient. */
function checkGradient(
  X: Mat,
  G: Mat,
  T: { anchor: number[]; positive: number[]; negative: number[] },
): void {
  const g = armlLoss(X, G, T).gradient!;
  expect(g.rows).toBe(G.rows);
  expect(g.cols).toBe(G.cols);
  for (let i = 0; i < G.data.length; i++) {
    const h = 1e-6;
    const at = (s: number) => {
      const H = { ...G, data: G.data.slice() };
      H.data[i]! += s;
      return armlLoss(X, H, T, false).value;
    };
    const fd = (at(h) - at(-h)) / (2 * h);
    expect(Math.abs(fd - g.data[i]!), `entry ${i}: fd ${fd} vs ${g.data[i]}`).toBeLessThan(
      1e-6 * Math.max(1, Math.abs(fd)),
    );
  }
}

describe("ARML objective (certification.md §3)", () => {
  it("margin = (d_M(z,x⁻) − d_M(z,x⁺)) / (2‖M(x⁺−x⁻)‖): the perturbation-loss §1.4 vector and a hand case", () => {
    // x_i = z, x_j = x⁺, x_l = x⁻, M = [[1.5, 0.3], [0.3, 0.8]] = GᵀG with G = Lᵀ (Cholesky)
    const X = fromRows([
      [0, 0],
      [0.3, 0.9],
      [1.2, 1.1],
    ]);
    const G = transpose(
      cholesky(
        fromRows([
          [1.5, 0.3],
          [0.3, 0.8],
        ]),
      ),
    );
    const T = { anchor: [0], positive: [1], negative: [2] };
    expect(armlMargins(X, G, T)[0]).toBeCloseTo(1.0090835147829533, 14);
    expect(armlLoss(X, G, T).value).toBeCloseTo(-1.0090835147829533, 14);
    // M = I: z = 0, x⁺ = (1, 0), x⁻ = (−2, 0): (4 − 1)/(2·3) = 0.5; swapped roles give −0.5 (not clamped)
    const Y = fromRows([
      [0, 0],
      [1, 0],
      [-2, 0],
    ]);
    const m = armlMargins(Y, eye(2), { anchor: [0, 0], positive: [1, 2], negative: [2, 1] });
    expect(m[0]).toBeCloseTo(0.5, 15);
    expect(m[1]).toBeCloseTo(-0.5, 15);
  });
  it("clamps the squared denominator at 1e−6 (x⁺ = x⁻ gives a finite margin)", () => {
    const X = fromRows([
      [0, 0],
      [1, 1],
      [1, 1],
    ]);
    const r = armlLoss(X, eye(2), { anchor: [0], positive: [1], negative: [2] });
    expect(r.margins[0]).toBe(0);
    expect(finite(r.gradient!)).toBe(true);
    // x⁺ and x⁻ 1e−4 apart: ‖Mc‖² = 1e−8 < eps, so margin = num / (2·sqrt(eps))
    const Z = fromRows([
      [0, 0],
      [0.5, 0],
      [0.5001, 0],
    ]);
    const mz = armlMargins(Z, eye(2), { anchor: [0], positive: [1], negative: [2] })[0]!;
    expect(mz).toBeCloseTo((0.5001 ** 2 - 0.25) / (2 * Math.sqrt(ARML_EPS)), 12);
  });
  it("gradient in G matches central differences (square and rectangular G, random triplets)", () => {
    const rng = new Rng(11);
    const n = 12;
    const p = 4;
    const X = randn(n, p, rng);
    const T = { anchor: [] as number[], positive: [] as number[], negative: [] as number[] };
    for (let t = 0; t < 20; t++) {
      T.anchor.push(rng.int(0, n - 1));
      T.positive.push(rng.int(0, n - 1));
      T.negative.push(rng.int(0, n - 1));
    }
    // include a triplet with x⁺ = x⁻ (clamped: the denominator has no gradient)
    T.anchor.push(0);
    T.positive.push(3);
    T.negative.push(3);
    checkGradient(X, eye(p), T);
    const G = eye(p);
    for (let i = 0; i < p * p; i++) G.data[i]! += 0.3 * rng.normal();
    checkGradient(X, G, T);
    checkGradient(X, randn(2, p, rng), T);
  });
  it("rejects mismatched shapes and out-of-range indices", () => {
    const X = fromRows([
      [0, 0],
      [1, 1],
    ]);
    expect(() => armlLoss(X, eye(3), { anchor: [0], positive: [1], negative: [0] })).toThrow(
      RobustMetricError,
    );
    expect(() => armlLoss(X, eye(2), { anchor: [0], positive: [1], negative: [5] })).toThrow(/row 5/);
    expect(() => armlLoss(X, eye(2), { anchor: [0, 1], positive: [1], negative: [0] })).toThrow(/2 anchors/);
    expect(() => armlLoss(X, eye(2), { anchor: [], positive: [], negative: [] })).toThrow(/at least one/);
  });
});

describe("ARML triplets (§3 step 2, §7 items 14–15)", () => {
  it("x⁺ among the k nearest same-class points (not z), x⁻ among the k nearest other-class points, capped", () => {
    const ds = iris();
    const k = 10;
    const T = armlTriplets(ds.X, ds.y, k, new Rng(1));
    expect(T.anchor.length).toBe(150);
    const D = sqDistances(ds.X, ds.X).data;
    const n = 150;
    for (let t = 0; t < n; t++) {
      const z = T.anchor[t]!;
      const xp = T.positive[t]!;
      const xn = T.negative[t]!;
      expect(xp).not.toBe(z);
      expect(ds.y[xp]).toBe(ds.y[z]);
      expect(ds.y[xn]).not.toBe(ds.y[z]);
      // fewer than k same-class points (other than z) are strictly closer than x⁺; same for x⁻
      let closerP = 0;
      let closerN = 0;
      for (let j = 0; j < n; j++) {
        if (j !== z && ds.y[j] === ds.y[z] && D[z * n + j]! < D[z * n + xp]!) closerP++;
        if (ds.y[j] !== ds.y[z] && D[z * n + j]! < D[z * n + xn]!) closerN++;
      }
      expect(closerP).toBeLessThan(k);
      expect(closerN).toBeLessThan(k);
    }
    // a class of two and a single other point: the lists are capped at what exists
    const small = armlTriplets(fromRows([[0], [1], [5]]), Int32Array.from([0, 0, 1]), 10, new Rng(0));
    expect(Array.from(small.positive)).toEqual([1, 0]);
    expect(Array.from(small.negative)).toEqual([2, 2]);
    expect(small.skipped).toBe(1);
  });
});

describe("ARML triplet search against a full-sort oracle", () => {
  it("same lists and draws as sorting each full distance row by (distance, index), ties and a reused scratch included", () => {
    const rng = new Rng(17);
    const n = 300;
    // integer grid points: many exact distance ties, and duplicates
    const X = zeros(n, 2);
    for (let i = 0; i < 2 * n; i++) X.data[i] = rng.int(0, 6);
    const y = Int32Array.from({ length: n }, () => rng.int(0, 3));
    const k = 5;
    // the scratch carries lists from a call on other coordinates: their bounds must not change the result
    const scratch: ArmlTripletScratch = {};
    const Xold = zeros(n, 2);
    for (let i = 0; i < 2 * n; i++) Xold.data[i] = rng.int(0, 6);
    armlTriplets(Xold, y, k, new Rng(5), scratch);
    expect(scratch.previous?.k).toBe(k);
    const got = armlTriplets(X, y, k, new Rng(99), scratch);
    const fresh = armlTriplets(X, y, k, new Rng(99));
    expect(Array.from(got.positive)).toEqual(Array.from(fresh.positive));
    expect(Array.from(got.negative)).toEqual(Array.from(fresh.negative));
    const D = sqDistances(X, X).data;
    const draw = new Rng(99);
    let t = 0;
    for (let i = 0; i < n; i++) {
      const order = (keep: (j: number) => boolean) =>
        Array.from({ length: n }, (_, j) => j)
          .filter(keep)
          .sort((a, b) => D[i * n + a]! - D[i * n + b]! || a - b)
          .slice(0, k);
      const pos = order((j) => j !== i && y[j] === y[i]);
      const neg = order((j) => y[j] !== y[i]);
      if (pos.length === 0) continue;
      expect(got.anchor[t]).toBe(i);
      expect(got.positive[t]).toBe(pos[draw.int(0, pos.length - 1)]);
      expect(got.negative[t]).toBe(neg[draw.int(0, neg.length - 1)]);
      t++;
    }
    expect(got.anchor.length).toBe(t);
  });
});

describe("arml learner", () => {
  const ds = iris();
  it("is registered with the authors' effective defaults", () => {
    expect(resolveParams(getLearner("arml"))).toEqual({
      epochs: 1000,
      lr: 1e-3,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      candidates: 10,
      resample: true,
      init: "identity",
    });
  });
  it("seeded fits are bit-identical, the loss decreases, and the mean training margin grows vs the identity", () => {
    const params = resolveParams(arml, { epochs: 300 });
    const f1 = arml.fit(ds.X, ds.y, params, { rng: new Rng(5) });
    const f2 = arml.fit(ds.X, ds.y, params, { rng: new Rng(5) });
    expect(Array.from(f1.metric.components().data)).toEqual(Array.from(f2.metric.components().data));
    expect(f1.objective).toEqual(f2.objective);
    expect(f1.objective.length).toBe(300);
    expect(f1.objective.at(-1)!).toBeLessThan(f1.objective[0]! - 0.005);
    // the mean margin of the triplets ARML draws (x± among the 10 nearest under each metric), averaged over 20
    // draws: 0.7370 under the learned G against 0.7282 under G = I
    const G = f1.metric.components();
    const mean = (m: Float64Array) => m.reduce((s, v) => s + v, 0) / m.length;
    let learned = 0;
    let identity = 0;
    for (let s = 0; s < 20; s++) {
      learned += mean(armlMargins(ds.X, G, armlTriplets(gemmABt(ds.X, G), ds.y, 10, new Rng(s)))) / 20;
      identity += mean(armlMargins(ds.X, eye(4), armlTriplets(ds.X, ds.y, 10, new Rng(s)))) / 20;
    }
    expect(learned).toBeGreaterThan(identity + 0.005);
  });
  it("init=random starts from I + N(0, 1) noise: finite, seeded, different from the identity start", () => {
    const a = arml.fit(ds.X, ds.y, resolveParams(arml, { epochs: 20, init: "random" }), { rng: new Rng(2) });
    const b = arml.fit(ds.X, ds.y, resolveParams(arml, { epochs: 20, init: "random" }), { rng: new Rng(2) });
    const c = arml.fit(ds.X, ds.y, resolveParams(arml, { epochs: 20 }), { rng: new Rng(2) });
    expect(finite(a.metric.components())).toBe(true);
    expect(Array.from(a.metric.components().data)).toEqual(Array.from(b.metric.components().data));
    expect(Array.from(a.metric.components().data)).not.toEqual(Array.from(c.metric.components().data));
  });
  it("classifies iris (standardised, 5 splits, default 1000 epochs) above 90 %", () => {
    const r = evaluateMethods(ds, { methods: ["euclidean", "arml"], nSplits: 5 });
    expect(r.methods[1]!.accuracy.mean).toBeGreaterThan(0.9);
    expect(r.methods[1]!.splits.every((s) => s.iterations === 1000)).toBe(true);
  });
  it("degenerate data gives a finite metric or a clear error, never NaN", () => {
    const rng = new Rng(2);
    const X = zeros(8, 20);
    for (let i = 0; i < 8; i++) for (let j = 0; j < 19; j++) X.data[i * 20 + j] = rng.normal();
    X.data.copyWithin(20, 0, 20); // duplicate rows 0 and 1, constant column 19, d > n
    const cases: Array<[string, Mat, Int32Array]> = [
      ["d > n, duplicates, constant column", X, Int32Array.from([0, 0, 0, 0, 1, 1, 1, 1])],
      [
        "same point, two labels",
        fromRows([
          [1, 2],
          [1, 2],
          [0, 1],
          [3, 1],
        ]),
        Int32Array.from([0, 1, 0, 1]),
      ],
      ["one feature", fromRows([[0], [0.1], [1], [1.2], [0.05]]), Int32Array.from([0, 0, 1, 1, 0])],
      [
        "a singleton class",
        fromRows([
          [0, 1],
          [0.2, 1],
          [3, 3],
          [5, 5],
        ]),
        Int32Array.from([0, 0, 1, 2]),
      ],
    ];
    for (const [name, Xc, yc] of cases) {
      const fit = arml.fit(Xc, yc, resolveParams(arml, { epochs: 200 }), { rng: new Rng(1) });
      expect(finite(fit.metric.components()), name).toBe(true);
      expect(fit.objective.every(Number.isFinite), name).toBe(true);
    }
    const one = () => arml.fit(fromRows([[1], [2]]), Int32Array.from([0, 0]), resolveParams(arml));
    expect(one).toThrow(/at least two classes/);
    const alone = () => arml.fit(fromRows([[1], [2]]), Int32Array.from([0, 1]), resolveParams(arml));
    expect(alone).toThrow(/alone in its class/);
  });
});
