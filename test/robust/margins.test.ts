import { describe, expect, it } from "vitest";
import * as core from "../../src/core.js";
import { iris } from "../../src/data/embedded.js";
import { eye, fromRows, type Mat } from "../../src/linalg/mat.js";
import { MahalanobisMetric } from "../../src/metric/mahalanobis.js";
import { adversarialMargin as objectivesMargin } from "../../src/objectives/perturbation.js";
import { sharedTableSource } from "../../src/robust/curves.js";
import {
  adversarialMargin,
  CertificationContext,
  certifiedNeighbourhood,
  epsTilde,
  epsTildeBatch,
  knnCertifiedRadius,
  maxPositivesForFlip,
} from "../../src/robust/index.js";

const Mpl = fromRows([
  [1.5, 0.3],
  [0.3, 0.8],
]);

function ctxOf(X: number[][], y: number[], M: Mat): CertificationContext {
  return CertificationContext.fromMetric(MahalanobisMetric.fromM(M), fromRows(X), Int32Array.from(y));
}

describe("ε̃ (certification.md §1.2) = adversarial margin (perturbation-loss.md §1.4)", () => {
  it("re-exports the objectives' binding", () => {
    expect(adversarialMargin).toBe(objectivesMargin);
    // the public API exports one binding, not two conflicting ones
    expect(core.adversarialMargin).toBe(objectivesMargin);
    expect(core.knnCertifiedRadius).toBe(knnCertifiedRadius);
  });

  it("matches the triplet test vector", () => {
    expect(epsTilde(Mpl, [0, 0], [0.3, 0.9], [1.2, 1.1])).toBeCloseTo(1.0090835147829533, 14);
    expect(epsTilde(eye(2), [0, 0], [0.3, 0.9], [1.2, 1.1])).toBeCloseTo(0.9490707529566211, 14);
    const B = epsTildeBatch(Mpl, [0, 0], fromRows([[0.3, 0.9]]), fromRows([[1.2, 1.1]]));
    expect(B.data[0]).toBeCloseTo(1.0090835147829533, 13);
  });

  it("is invariant to M → cM and 0 for a violated pair", () => {
    const M3: Mat = { rows: 2, cols: 2, data: Mpl.data.map((v) => 3 * v) };
    expect(epsTilde(M3, [0, 0], [0.3, 0.9], [1.2, 1.1])).toBeCloseTo(1.0090835147829533, 13);
    expect(epsTilde(Mpl, [0, 0], [1.2, 1.1], [0.3, 0.9])).toBe(0);
  });

  it("the batch agrees with the scalar formula", () => {
    const P = [
      [0.3, 0.9],
      [1, -0.4],
      [-0.2, 0.1],
    ];
    const N = [
      [1.2, 1.1],
      [2, 0.4],
    ];
    const z = [0.1, 0.05];
    const B = epsTildeBatch(Mpl, z, fromRows(P), fromRows(N));
    for (let j = 0; j < 2; j++)
      for (let i = 0; i < 3; i++) expect(B.data[j * 3 + i]).toBeCloseTo(epsTilde(Mpl, z, P[i]!, N[j]!), 12);
  });

  it("the context's sound ε̃ is below the plain value by a rounding margin only", () => {
    const X = [
      [0, 0],
      [0.3, 0.9],
      [1.2, 1.1],
    ];
    const ctx = ctxOf(X, [0, 0, 1], Mpl);
    const q = ctx.prepare([0, 0]);
    const safe = ctx.pairMargin(q, 1, 2);
    expect(safe).toBeLessThanOrEqual(1.0090835147829533);
    expect(safe).toBeGreaterThan(1.0090835147829533 * (1 - 1e-12));
  });

  it("certified neighbourhood = min margin over the anchor's triplets", () => {
    const X = fromRows([
      [0, 0],
      [0.3, 0.9],
      [1.2, 1.1],
      [2, 0.4],
    ]);
    const r = certifiedNeighbourhood(Mpl, X, { anchor: [0, 0, 1], target: [1, 1, 0], impostor: [2, 3, 2] });
    expect(r[0]).toBeCloseTo(Math.min(1.0090835147829533, epsTilde(Mpl, [0, 0], [0.3, 0.9], [2, 0.4])), 14);
    expect(r[1]).toBeCloseTo(epsTilde(Mpl, [0.3, 0.9], [0, 0], [1.2, 1.1]), 14);
    expect(r[2]).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("k-NN certified radius (certification.md §1.3 vectors, §2)", () => {
  it("1-NN half-space bound of the knn_robustness vector equals ε* = 0.353553390593", () => {
    const ctx = ctxOf(
      [
        [0.5, 0.5],
        [1, 0.5],
        [0, 1],
      ],
      [1, 1, 0],
      eye(2),
    );
    const c = knnCertifiedRadius(ctx, [0, 0], 1, 1);
    expect(c.prediction).toBe(1);
    expect(c.radius).toBeCloseTo(0.353553390593, 11);
  });

  it("the two-active-constraint vectors: bounds 0.335410196625 (M = I) and 0.424437343814 (M = diag(1,2))", () => {
    const X = [
      [0, 0],
      [1, 0],
      [0.5, 1],
    ];
    const y = [0, 0, 1];
    expect(knnCertifiedRadius(ctxOf(X, y, eye(2)), [0.5, 0], 0, 1).radius).toBeCloseTo(0.335410196625, 11);
    const D = fromRows([
      [1, 0],
      [0, 2],
    ]);
    expect(knnCertifiedRadius(ctxOf(X, y, D), [0.5, 0], 0, 1).radius).toBeCloseTo(0.424437343814, 11);
  });

  it("the 4-point vector: 1-NN predicts 1 and the bound is min_j max_i ε̃ ≤ ε* = 0.0132087228", () => {
    const X = [
      [0.5, 0.5],
      [1, 0.5],
      [0.2, 0.9],
      [0, 1],
      [0.9, 0],
      [0.4, 0],
    ];
    const y = [1, 1, 1, 0, 0, 2];
    const M = fromRows([
      [1, 0.3],
      [0.3, 2],
    ]);
    const z = [0.3, 0.3];
    const c = knnCertifiedRadius(ctxOf(X, y, M), z, 1, 1);
    expect(c.prediction).toBe(1);
    let want = Number.POSITIVE_INFINITY;
    for (const j of [3, 4, 5]) {
      let m = 0;
      for (const i of [0, 1, 2]) m = Math.max(m, epsTilde(M, z, X[i]!, X[j]!));
      want = Math.min(want, m);
    }
    expect(c.radius).toBeCloseTo(want, 12);
    expect(c.radius).toBeLessThanOrEqual(0.0132087228);
  });

  it("ranks: maxPositivesForFlip, k = 2 equals the 1-NN bound, too few negatives gives ∞, wrong gives 0", () => {
    expect([1, 2, 3, 4, 5, 11].map(maxPositivesForFlip)).toEqual([0, 1, 1, 2, 2, 5]);
    const X = [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
      [2, 2],
      [3, 1],
    ];
    const ctx = ctxOf(X, [0, 0, 0, 1, 1, 0], eye(2));
    for (const z of [
      [0.2, 0.1],
      [0.4, 0.6],
      [2.5, 1.2],
    ]) {
      expect(knnCertifiedRadius(ctx, z, undefined, 2).radius).toBe(
        knnCertifiedRadius(ctx, z, undefined, 1).radius,
      );
    }
    // k = 5 needs 3 negatives among the 5 nearest, class 1 has only 2 points
    expect(knnCertifiedRadius(ctx, [0.2, 0.1], 0, 5).radius).toBe(Number.POSITIVE_INFINITY);
    expect(knnCertifiedRadius(ctx, [0.2, 0.1], 1, 1)).toEqual({ prediction: 0, label: 1, radius: 0 });
    // a subset of positives only lowers the bound
    const full = knnCertifiedRadius(ctx, [0.4, 0.6], 0, 3).radius;
    expect(knnCertifiedRadius(ctx, [0.4, 0.6], 0, 3, { maxPositives: 2 }).radius).toBeLessThanOrEqual(full);
  });

  it("bitwise-tied training rows follow the tie rule (lower index wins)", () => {
    // a positive at index 0 and a negative at index 1 on the same point: the negative never wins
    const a = ctxOf(
      [
        [0, 0],
        [0, 0],
        [1, 1],
      ],
      [0, 1, 0],
      eye(2),
    );
    expect(knnCertifiedRadius(a, [0.1, 0.2], 0, 1).radius).toBe(Number.POSITIVE_INFINITY);
    // the negative first: it wins every tie, so only the far positive [1, 1] protects z
    const b = ctxOf(
      [
        [0, 0],
        [0, 0],
        [1, 1],
      ],
      [1, 0, 0],
      eye(2),
    );
    expect(knnCertifiedRadius(b, [0.9, 0.9], 0, 1).radius).toBeCloseTo((1.62 - 0.02) / (2 * Math.SQRT2), 12);
  });
});

describe("k-NN bound screening", () => {
  it("screening the positives and caching change only the speed: the same radii on iris for k = 1..6", () => {
    const ds = iris();
    const tr = Int32Array.from({ length: 150 }, (_, i) => i).filter((i) => i % 4 !== 0);
    const X = { rows: tr.length, cols: 4, data: new Float64Array(tr.length * 4) };
    tr.forEach((i, r) => X.data.set(ds.X.data.subarray(i * 4, i * 4 + 4), r * 4));
    const M = fromRows([
      [2, 0.3, 0, 0.1],
      [0.3, 1, 0.2, 0],
      [0, 0.2, 0.5, 0],
      [0.1, 0, 0, 3],
    ]);
    const ctx = CertificationContext.fromMetric(
      MahalanobisMetric.fromM(M),
      X,
      Int32Array.from(tr, (i) => ds.y[i]!),
    );
    let positive = 0;
    for (let i = 0; i < 150; i += 4) {
      const z = ds.X.data.subarray(i * 4, i * 4 + 4);
      for (let k = 1; k <= 6; k++) {
        const full = knnCertifiedRadius(ctx, z, ds.y[i]!, k, { screenSize: 1000 }).radius;
        if (full > 0) positive++;
        for (const screenSize of [1, 3, 10]) {
          expect(knnCertifiedRadius(ctx, z, ds.y[i]!, k, { screenSize }).radius).toBe(full);
          expect(knnCertifiedRadius(ctx, z, ds.y[i]!, k, { screenSize, cache: false }).radius).toBe(full);
        }
      }
    }
    expect(positive).toBeGreaterThan(100);
  });
});

describe("shared denominator tables (a thread pool's, built once in shared memory)", () => {
  const ctxOf = () => {
    const ds = iris();
    const X: Mat = { rows: 150, cols: 4, data: Float64Array.from(ds.X.data) };
    return CertificationContext.fromMetric(
      MahalanobisMetric.fromL(
        fromRows([
          [1, 0.5, 0, 0],
          [0, 1, 0.2, 1],
        ]),
      ),
      X,
      Int32Array.from(ds.y),
      3,
    );
  };

  it("give each class the table of classDenominators, bit for bit; the context takes them first", () => {
    const own = ctxOf();
    const shared = ctxOf();
    const n = shared.n;
    const counters = new Int32Array(2 * shared.nClasses);
    const source = sharedTableSource(shared, new Float64Array(n * n), counters);
    shared.sharedDenominators = source;
    for (let c = 0; c < 3; c++) {
      const want = own.classDenominators(c)!;
      const got = shared.classDenominators(c)!;
      expect(got.length).toBe(want.length);
      expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(want.buffer))).toBe(
        true,
      );
      // every block claimed and done: ceil(50 / 8) = 7 (claims overshoot by one, the claim that found none left)
      expect(counters[2 * c + 1]).toBe(7);
      expect(counters[2 * c]).toBe(8);
      expect(source(c)).toEqual(got);
    }
    // the same certificates through the shared tables
    const z = [5.1, 3.3, 1.7, 0.4];
    expect(knnCertifiedRadius(shared, z, 0, 3).radius).toBe(knnCertifiedRadius(own, z, 0, 3).radius);
  });

  it("a block that another thread claimed and never finished: undefined after the stall limit, not a hang", () => {
    const ctx = ctxOf();
    const counters = new Int32Array(2 * ctx.nClasses);
    counters[2] = 100; // class 1: every block claimed elsewhere, none done
    const source = sharedTableSource(ctx, new Float64Array(ctx.n * ctx.n), counters, 20);
    const t0 = performance.now();
    expect(source(1)).toBeUndefined();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(20);
    // the context then builds its own table
    ctx.sharedDenominators = source;
    expect(ctx.classDenominators(1)!.length).toBe(50 * 150);
  });
});
