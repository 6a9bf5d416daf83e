import { describe, expect, it } from "vitest";
import { iris } from "../../src/data/embedded.js";
import { Preprocessor } from "../../src/data/preprocess.js";
import { fromRows, selectRows } from "../../src/linalg/mat.js";
import { MahalanobisMetric } from "../../src/metric/mahalanobis.js";
import { KNeighborsClassifier } from "../../src/neighbors/knn.js";
import {
  type AttackMethod,
  attack,
  CertificationContext,
  certifiedAccuracy,
  empiricalRobustAccuracy,
  noiseRobustness,
  robustErrorAt,
  robustErrorCurve,
} from "../../src/robust/index.js";

const M4 = fromRows([
  [1, 0.3],
  [0.3, 2],
]);
const X4 = fromRows([
  [0.5, 0.5],
  [1, 0.5],
  [0.2, 0.9],
  [0, 1],
  [0.9, 0],
  [0.4, 0],
]);
const y4 = Int32Array.from([1, 1, 1, 0, 0, 2]);

describe("robust-error curves (certification.md §4.4)", () => {
  it("uses ≤ r semantics; ∞ never counts; the curve steps at each distinct norm", () => {
    expect(robustErrorAt([0, 0.1, 0.5, Number.POSITIVE_INFINITY], [0, 0.1, 1])).toEqual([0.25, 0.5, 0.75]);
    expect(robustErrorCurve([0, 0.3, Number.POSITIVE_INFINITY, 0.3])).toEqual({
      radii: [0, 0.3],
      error: [0.25, 0.75],
    });
    expect(() => robustErrorAt([Number.NaN], [0])).toThrow(/norm 0/);
    expect(() => robustErrorAt([0.1], [-1])).toThrow(/radius -1/);
  });
});

describe("attacks return verified adversarial points", () => {
  const ctx = CertificationContext.fromMetric(MahalanobisMetric.fromM(M4), X4, y4);
  it("exact attack = ε* of the 4-point vector; the other attacks are upper bounds", () => {
    const z = [0.3, 0.3];
    const ex = attack(ctx, z, 1, 1, "exact");
    expect(ex.norm).toBeCloseTo(0.0132087228, 8);
    for (const m of ["greedy", "random", "noise"] as AttackMethod[]) {
      const a = attack(ctx, z, 1, 1, m, { seed: 3 });
      expect(a.norm).toBeGreaterThanOrEqual(ex.norm * (1 - 1e-9));
      expect(a.adversarial).not.toBeNull();
      expect(ctx.predictOne(a.adversarial!, 1)).toBe(a.adversarialPrediction);
      expect(a.adversarialPrediction).not.toBe(1);
    }
    // greedy with k = 1: near = the pivot, far = all other-class points → the exact QP of the nearest pivots
    expect(attack(ctx, z, 1, 1, "greedy").norm).toBeCloseTo(0.0132087228, 6);
  });

  it("misclassified points cost 0; bad methods are rejected", () => {
    expect(attack(ctx, [0.3, 0.3], 0, 3, "greedy")).toMatchObject({ norm: 0, prediction: 1 });
    expect(() => attack(ctx, [0.3, 0.3], 1, 3, "exact")).toThrow(/1-NN only/);
    expect(() => attack(ctx, [0.3, 0.3], 1, 3, "bogus" as AttackMethod)).toThrow(
      /unknown attack method 'bogus'/,
    );
  });
});

describe("certified / empirical / noise curves on iris", () => {
  const ds = iris();
  const pre = Preprocessor.fit(ds.X, "standardize");
  const X = pre.apply(ds.X);
  const tr = Int32Array.from({ length: 150 }, (_, i) => i).filter((i) => i % 3 !== 0);
  const te = Int32Array.from({ length: 150 }, (_, i) => i).filter((i) => i % 3 === 0);
  const Xtr = selectRows(X, tr);
  const Xte = selectRows(X, te);
  const ytr = Int32Array.from(tr, (i) => ds.y[i]!);
  const yte = Int32Array.from(te, (i) => ds.y[i]!);
  const radii = [0, 0.05, 0.1, 0.2, 0.5, 1];

  it("certified ≤ empirical robust accuracy ≤ clean accuracy, all non-increasing in r", () => {
    for (const k of [1, 3]) {
      const knn = new KNeighborsClassifier({ k }).fit(Xtr, ytr);
      const clean = knn.score(Xte, yte);
      const cert = certifiedAccuracy(knn, Xte, yte, radii, { exact: k === 1 });
      const emp = empiricalRobustAccuracy(knn, Xte, yte, radii, k === 1 ? "exact" : "greedy", {
        maxTrials: 20,
      });
      for (let t = 0; t < radii.length; t++) {
        expect(cert.accuracy[t]).toBeLessThanOrEqual(emp.accuracy[t]! + 1e-12);
        expect(emp.accuracy[t]).toBeLessThanOrEqual(clean + 1e-12);
        if (t > 0) expect(cert.accuracy[t]).toBeLessThanOrEqual(cert.accuracy[t - 1]!);
      }
      for (let i = 0; i < te.length; i++)
        expect(emp.norms[i]).toBeGreaterThanOrEqual(cert.lowerBounds[i]! * (1 - 1e-9));
      if (k === 1) {
        // exact 1-NN: the certified and the attack curves coincide up to the solver's accuracy
        for (let i = 0; i < te.length; i++) expect(cert.upperBounds![i]).toBeCloseTo(cert.lowerBounds[i]!, 6);
        expect(cert.accuracy[0]).toBeCloseTo(clean, 12);
      }
    }
  });

  it("noise robustness: σ = 0 is the clean accuracy, seeded and reproducible", () => {
    const knn = new KNeighborsClassifier({ k: 3 }).fit(Xtr, ytr);
    const a = noiseRobustness(knn, Xte, yte, [0, 0.5, 2], { seed: 7, repeats: 3 });
    const b = noiseRobustness(knn, Xte, yte, [0, 0.5, 2], { seed: 7, repeats: 3 });
    expect(a).toEqual(b);
    expect(a.accuracy[0]).toBe(knn.score(Xte, yte));
    expect(a.std[0]).toBe(0);
    expect(a.accuracy[2]).toBeLessThan(a.accuracy[0]!);
    expect(() => noiseRobustness(knn, Xte, yte, [-1])).toThrow(/noise level -1/);
  });
});
