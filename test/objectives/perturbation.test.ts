import { describe, expect, it } from "vitest";
import { Rng } from "../../src/data/rng.js";
import { RobustMetricError } from "../../src/errors.js";
import { eye, fromRows, type Mat, toRows, zeros } from "../../src/linalg/mat.js";
import {
  adversarialMargin,
  closestAdversarialExample,
  PerturbationLoss,
  perturbationLoss,
  perturbationLossTriplet,
  TripletEngine,
} from "../../src/objectives/perturbation.js";
import { TINY_M2, TINY_SETTINGS, TINY_STATES, TINY_TRIPLETS, TINY_X } from "./perturbation-fixtures.js";

// spec §1.4: the single-triplet test vector
const xi = [0, 0];
const xj = [0.3, 0.9];
const xl = [1.2, 1.1];
const M14 = fromRows([
  [1.5, 0.3],
  [0.3, 0.8],
]);

function relClose(a: number, b: number, rel: number): void {
  expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.max(Math.abs(b), 1e-300));
}

function randomSpd(p: number, rng: Rng): Mat {
  const A = zeros(p, p);
  for (let k = 0; k < p * p; k++) A.data[k] = rng.normal();
  const M = zeros(p, p);
  for (let r = 0; r < p; r++) {
    for (let c = 0; c < p; c++) {
      let s = r === c ? 0.5 : 0;
      for (let k = 0; k < p; k++) s += (A.data[k * p + r]! * A.data[k * p + c]!) / p;
      M.data[r * p + c] = s;
    }
  }
  return M;
}

function randomSymmetric(p: number, rng: Rng): Mat {
  const D = zeros(p, p);
  for (let r = 0; r < p; r++) {
    for (let c = r; c < p; c++) {
      const v = rng.normal();
      D.data[r * p + c] = v;
      D.data[c * p + r] = v;
    }
  }
  return D;
}

function axpy(M: Mat, h: number, D: Mat): Mat {
  return { rows: M.rows, cols: M.cols, data: M.data.map((v, k) => v + h * D.data[k]!) };
}

function frob(a: Mat, b: Mat): number {
  let s = 0;
  for (let k = 0; k < a.data.length; k++) s += a.data[k]! * b.data[k]!;
  return s;
}

describe("single triplet (spec §1.4)", () => {
  it("reproduces DM, q, the margin and the closest adversarial example", () => {
    const r = perturbationLossTriplet(M14, xi, xj, xl, 1.2);
    relClose(r.dm, 2.975, 1e-15);
    relClose(r.q, 2.173, 1e-15);
    // the loss's squared margin carries eps = 1e-10 in its denominator: relative effect ~5e-11
    relClose(r.marginSquared, 1.0182495398067186, 1e-10);
    relClose(adversarialMargin(M14, xi, xj, xl), 1.0090835147829533, 1e-15);
    relClose(adversarialMargin(M14, xi, xj, xl) ** 2, 1.0182495398067186, 1e-15);
    const star = closestAdversarialExample(M14, xi, xj, xl)!;
    relClose(star[0]!, 0.965197883110906, 1e-14);
    relClose(star[1]!, 0.294351127473539, 1e-14);
    // x* lies on the boundary d²_M(x*, x_l) = d²_M(x*, x_j) and at the margin's distance from x_i
    const at = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      const d0 = a[0]! - b[0]!;
      const d1 = a[1]! - b[1]!;
      return 1.5 * d0 * d0 + 0.6 * d0 * d1 + 0.8 * d1 * d1;
    };
    expect(Math.abs(at(star, xl) - at(star, xj))).toBeLessThan(1e-14);
    relClose(Math.hypot(star[0]!, star[1]!), 1.0090835147829533, 1e-15);
  });

  it("gives the loss and gradient of the spec at τ = 1.2 and nothing at τ = 0.3", () => {
    const r = perturbationLossTriplet(M14, xi, xj, xl, 1.2);
    expect(r.status).toBe("active");
    // the spec's 0.4217504601932814 is τ² − d_E² without eps; the loss carries eps = 1e-10 in q + eps
    relClose(r.loss, 1.44 - (2.975 * 2.975) / (4 * (2.173 + 1e-10)), 1e-14);
    expect(Math.abs(r.loss - 0.4217504601932814)).toBeLessThan(5e-11);
    const want = [
      [0.265159839866292, -0.405276602793053],
      [-0.405276602793053, -0.193217247654507],
    ];
    const got = toRows(r.gradient);
    for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) relClose(got[a]![b]!, want[a]![b]!, 1e-9);
    const off = perturbationLossTriplet(M14, xi, xj, xl, 0.3);
    expect(off.status).toBe("inactive");
    expect(off.loss).toBe(0);
    expect(Array.from(off.gradient.data)).toEqual([0, 0, 0, 0]);
  });

  it("gives the values of the same triplet at M = I", () => {
    const r = perturbationLossTriplet(eye(2), xi, xj, xl, 1.2);
    relClose(r.dm, 1.75, 1e-15);
    relClose(r.q, 0.85, 1e-15);
    relClose(adversarialMargin(eye(2), xi, xj, xl), 0.9490707529566211, 1e-15);
  });

  it("matches central differences of the loss", () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 5; trial++) {
      const D = randomSymmetric(2, rng);
      const h = 1e-6;
      const fp = perturbationLossTriplet(axpy(M14, h, D), xi, xj, xl, 1.2).loss;
      const fm = perturbationLossTriplet(axpy(M14, -h, D), xi, xj, xl, 1.2).loss;
      const g = perturbationLossTriplet(M14, xi, xj, xl, 1.2).gradient;
      relClose((fp - fm) / (2 * h), frob(g, D), 1e-8);
    }
  });

  it("treats violated, tied and degenerate triplets as the spec says", () => {
    // swap target and impostor: DM < 0, loss τ², no gradient, margin 0, x_i itself is adversarial
    const v = perturbationLossTriplet(M14, xi, xl, xj, 0.5);
    expect(v.status).toBe("violated");
    expect(v.loss).toBe(0.25);
    expect(Array.from(v.gradient.data)).toEqual([0, 0, 0, 0]);
    expect(adversarialMargin(M14, xi, xl, xj)).toBe(0);
    expect(Array.from(closestAdversarialExample(M14, xi, xl, xj)!)).toEqual(xi);
    // DM = 0 exactly: active with loss τ² and zero gradient (A = 0)
    const tie = perturbationLossTriplet(eye(2), [0, 0], [1, 0], [0, 1], 0.5);
    expect(tie.dm).toBe(0);
    expect(tie.status).toBe("active");
    expect(tie.loss).toBe(0.25);
    expect(Array.from(tie.gradient.data).every((g) => g === 0)).toBe(true);
    // M v = 0 makes g(x) = −2(x − m_jl)ᵀMv vanish everywhere, so DM = 0 too: every point is tied, x_i is its
    // own closest adversarial example, and the loss is τ² with zero gradient
    const Mi = fromRows([
      [1, 1],
      [1, 1],
    ]);
    const deg = perturbationLossTriplet(Mi, [3, 0], [0, 1], [1, 0], 0.5);
    expect(deg.q).toBe(0);
    expect(deg.dm).toBe(0);
    expect(deg.loss).toBe(0.25);
    expect(Array.from(deg.gradient.data).every((g) => g === 0)).toBe(true);
    expect(adversarialMargin(Mi, [3, 0], [0, 1], [1, 0])).toBe(0);
  });

  it("rejects bad inputs with a clear error", () => {
    expect(() => perturbationLossTriplet(M14, [0, 0, 0], xj, xl, 1)).toThrow(/x_i has 3 values but M is 2×2/);
    expect(() => perturbationLossTriplet(M14, xi, xj, xl, -1)).toThrow(
      /tau must be a finite number ≥ 0, got -1/,
    );
    expect(() => perturbationLossTriplet(M14, xi, xj, xl, Number.NaN)).toThrow(RobustMetricError);
  });
});

/** A random triplet set over n points with repeated pairs (anchors reuse targets and impostors). */
function randomProblem(n: number, p: number, T: number, seed: number) {
  const rng = new Rng(seed);
  const X = zeros(n, p);
  for (let k = 0; k < n * p; k++) X.data[k] = rng.normal() + 3; // off-centre on purpose
  const anchor = new Int32Array(T);
  const target = new Int32Array(T);
  const impostor = new Int32Array(T);
  for (let t = 0; t < T; t++) {
    const i = rng.int(0, n - 1);
    let j = rng.int(0, n - 1);
    while (j === i) j = rng.int(0, n - 1);
    let l = rng.int(0, n - 1);
    while (l === i || l === j) l = rng.int(0, n - 1);
    anchor[t] = i;
    target[t] = j;
    impostor[t] = l;
  }
  return { X, triplets: { anchor, target, impostor }, M: randomSpd(p, rng), rng };
}

function rowOf(X: Mat, i: number): Float64Array {
  return X.data.subarray(i * X.cols, (i + 1) * X.cols);
}

/** The loss and gradient as (λ/|T|) Σ of the per-triplet closed form. */
function directSum(X: Mat, tr: typeof TINY_TRIPLETS, M: Mat, tau: number, lambda: number) {
  const T = tr.anchor.length;
  const p = X.cols;
  const G = zeros(p, p);
  let value = 0;
  const counts = { violated: 0, active: 0, inactive: 0 };
  for (let t = 0; t < T; t++) {
    const r = perturbationLossTriplet(
      M,
      rowOf(X, tr.anchor[t]!),
      rowOf(X, tr.target[t]!),
      rowOf(X, tr.impostor[t]!),
      tau,
    );
    value += r.loss;
    counts[r.status]++;
    for (let k = 0; k < p * p; k++) G.data[k] = G.data[k]! + r.gradient.data[k]!;
  }
  const w = lambda / T;
  return { value: w * value, G: { rows: p, cols: p, data: G.data.map((g) => w * g) }, counts };
}

describe("perturbation loss over a triplet set", () => {
  it("equals the sum of the per-triplet closed form, value and gradient", () => {
    const { X, triplets, M } = randomProblem(15, 4, 400, 11);
    // τ at the median margin so that the three kinds of triplet all occur
    const margins: number[] = [];
    for (let t = 0; t < 400; t++) {
      margins.push(
        adversarialMargin(
          M,
          rowOf(X, triplets.anchor[t]!),
          rowOf(X, triplets.target[t]!),
          rowOf(X, triplets.impostor[t]!),
        ),
      );
    }
    const positive = margins.filter((m) => m > 0).sort((a, b) => a - b);
    const tau = positive[Math.floor(positive.length / 2)]!;
    const want = directSum(X, triplets, M, tau, 2.5);
    expect(want.counts.violated).toBeGreaterThan(20);
    expect(want.counts.active).toBeGreaterThan(20);
    expect(want.counts.inactive).toBeGreaterThan(20);
    const got = perturbationLoss(X, triplets, M, { tau, lambda: 2.5 });
    relClose(got.value, want.value, 1e-13);
    expect(got.counts).toEqual(want.counts);
    const scale = Math.max(...Array.from(want.G.data, Math.abs));
    for (let k = 0; k < 16; k++)
      expect(Math.abs(got.gradient.data[k]! - want.G.data[k]!)).toBeLessThan(1e-13 * scale);
    // the engine shares pairs: 400 triplets over 15 points use far fewer distinct pairs
    const engine = new TripletEngine(X, triplets);
    expect(engine.nPairs).toBeLessThanOrEqual(105);
    expect(engine.nJl).toBeLessThanOrEqual(105);
  });

  it("matches central finite differences along random symmetric directions", () => {
    const { X, triplets, M, rng } = randomProblem(20, 5, 600, 5);
    const opts = { tau: 1.5, lambda: 3 };
    const { value, gradient, counts } = perturbationLoss(X, triplets, M, opts);
    expect(counts.active).toBeGreaterThan(50);
    expect(value).toBeGreaterThan(0);
    for (let trial = 0; trial < 5; trial++) {
      const D = randomSymmetric(5, rng);
      const h = 1e-6;
      const fp = perturbationLoss(X, triplets, axpy(M, h, D), opts).value;
      const fm = perturbationLoss(X, triplets, axpy(M, -h, D), opts).value;
      relClose((fp - fm) / (2 * h), frob(gradient, D), 1e-7);
    }
  });

  it("is the sum of λ-weighted parts and scales with normalization", () => {
    const { X, triplets, M } = randomProblem(10, 3, 120, 2);
    const mean = perturbationLoss(X, triplets, M, { tau: 1, lambda: 1 });
    const sum = perturbationLoss(X, triplets, M, { tau: 1, lambda: 1, normalization: "sum" });
    relClose(sum.value, 120 * mean.value, 1e-14);
    const zero = perturbationLoss(X, triplets, M, { tau: 1, lambda: 0 });
    expect(zero.value).toBe(0);
    expect(Array.from(zero.gradient.data).every((g) => g === 0)).toBe(true);
  });

  it("classifies the tiny fixture's triplets as the reference run (§8.2)", () => {
    for (const [M, want] of [
      [eye(2), TINY_STATES[0]!],
      [TINY_M2, TINY_STATES[1]!],
    ] as const) {
      const engine = new TripletEngine(TINY_X, TINY_TRIPLETS);
      engine.setMetric(M, { q: true });
      const pl = new PerturbationLoss({ tau: TINY_SETTINGS.tau, lambda: TINY_SETTINGS.lambda });
      pl.accumulate(engine, false);
      // triplet 8, (2, 1, 5), is an exact tie: x_2 is the midpoint of x_1 and x_5, so DM = 0 for every M. The
      // reference run gets exactly 0 (non-violated: loss τ², no gradient); the engine's Gram-form distances
      // leave a rounding residue of either sign, which changes neither the loss (τ² both ways) nor the
      // gradient (zero both ways), only which count the triplet lands in.
      const tie = engine.dm[7]!;
      expect(Math.abs(tie)).toBeLessThan(1e-15);
      const tieViolated = tie < 0 ? 1 : 0;
      expect(pl.counts.violated - tieViolated).toBe(want.violated);
      expect(pl.counts.active + tieViolated).toBe(want.plActive);
      expect(Array.from(engine.dm).filter((d) => d < 1).length).toBe(want.hingeActive);
    }
  });

  it("rejects malformed triplets and misuse", () => {
    const X = zeros(4, 2);
    expect(() => new TripletEngine(X, { anchor: [0, 1], target: [1, 2], impostor: [2, 9] })).toThrow(
      /triplet 1 refers to row 9, but X has 4 rows/,
    );
    expect(() => new TripletEngine(X, { anchor: [0, 1], target: [1], impostor: [2, 3] })).toThrow(
      /anchor 2, target 1, impostor 2/,
    );
    const engine = new TripletEngine(X, { anchor: [0], target: [1], impostor: [2] });
    expect(() => engine.setMetric(eye(3))).toThrow(/M is 3×3, expected 2×2/);
    engine.setMetric(eye(2));
    expect(() => new PerturbationLoss({ tau: 1 }).accumulate(engine, true)).toThrow(/needs q/);
    expect(() => new PerturbationLoss({ tau: 1, lambda: -2 })).toThrow(/lambda must be a finite number ≥ 0/);
    const bad = eye(2);
    bad.data[1] = Number.NaN;
    expect(() => engine.setMetric(bad)).toThrow(/M has a non-finite value NaN at row 0, column 1/);
  });
});

describe("TripletEngine backends", () => {
  it("WebAssembly (generic, unrolled for p, blocked gemm for p > 48) and JavaScript kernels give the same bits", () => {
    for (const [p, seed] of [
      [5, 1],
      [6, 2],
      [1, 3],
      [2, 4],
      [7, 5],
      [14, 6],
      [49, 7],
      [64, 8],
    ] as const) {
      const { X, triplets, M } = randomProblem(17, p, 300, seed);
      const pairs = { a: triplets.anchor, b: triplets.target };
      const variants = [
        { backend: "js", specialise: false },
        { backend: "wasm", specialise: false },
        { backend: "wasm", specialise: true },
      ] as const;
      const results = variants.map((opts) => {
        const engine = new TripletEngine(X, triplets, pairs, opts);
        expect(engine.backend).toBe(opts.backend);
        engine.setMetric(M, { q: true });
        const pl = new PerturbationLoss({ tau: 1, lambda: 2 });
        const value = pl.accumulate(engine, true);
        const hinge = engine.kernels.hinge(1, 0.25, true);
        return {
          value,
          hinge,
          counts: pl.counts,
          dist: Array.from(engine.dist),
          q: Array.from(engine.q),
          dm: Array.from(engine.dm),
          G: Array.from(engine.gradient().data),
        };
      });
      expect(results[1]).toEqual(results[0]);
      expect(results[2]).toEqual(results[0]);
      const direct = results[0]!.dm.reduce((s, d) => s + Math.max(0, 1 - d), 0);
      relClose(results[0]!.hinge, direct, 1e-13);
    }
  });

  it("an engine built on a recycled one (smaller, then larger: the memory grows) gives a fresh engine's bits", () => {
    const run = (engine: TripletEngine, M: Mat) => {
      engine.setMetric(M, { q: true });
      const pl = new PerturbationLoss({ tau: 1, lambda: 2 });
      return {
        value: pl.accumulate(engine, true),
        dm: Array.from(engine.dm),
        G: Array.from(engine.gradient().data),
      };
    };
    let previous: TripletEngine | undefined;
    for (const [n, T, seed] of [
      [40, 900, 1],
      [17, 100, 2],
      [60, 3000, 3],
    ] as const) {
      const { X, triplets, M } = randomProblem(n, 6, T, seed);
      const pairs = { a: triplets.anchor, b: triplets.target };
      const fresh = run(new TripletEngine(X, triplets, pairs), M);
      const engine = new TripletEngine(X, triplets, pairs, previous ? { recycle: previous } : {});
      expect(run(engine, M)).toEqual(fresh);
      if (previous) expect(() => previous!.setMetric(M)).toThrow(/recycled/);
      previous = engine;
    }
  });

  it("without (j, l) pairs: the same distances, hinge and gradient; q is refused", () => {
    const { X, triplets, M } = randomProblem(30, 5, 600, 4);
    const pairs = { a: triplets.anchor, b: triplets.target };
    const run = (engine: TripletEngine) => {
      engine.setMetric(M);
      const hinge = engine.kernels.hinge(1, 0.5, true);
      return {
        hinge,
        dist: Array.from(engine.dist),
        dm: Array.from(engine.dm),
        G: Array.from(engine.gradient().data),
      };
    };
    const lean = new TripletEngine(X, triplets, pairs, { jl: false });
    expect(run(lean)).toEqual(run(new TripletEngine(X, triplets, pairs)));
    expect(lean.nJl).toBe(0);
    expect(() => lean.setMetric(M, { q: true })).toThrow(/without \(j, l\) pairs/);
  });
});
