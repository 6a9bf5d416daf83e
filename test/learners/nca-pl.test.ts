import { describe, expect, it } from "vitest";
import { blobs, iris } from "../../src/data/embedded.js";
import { Preprocessor } from "../../src/data/preprocess.js";
import { Rng } from "../../src/data/rng.js";
import { evaluateMethods } from "../../src/eval/evaluate.js";
import { getLearner, resolveParams } from "../../src/learners/index.js";
import { nca } from "../../src/learners/nca.js";
import { ncaPl, ncaPlObjective } from "../../src/learners/nca-pl.js";
import type { Mat } from "../../src/linalg/mat.js";
import { ncaLoss } from "../../src/objectives/nca.js";

const ds = blobs({ n: 60, d: 3, classes: 3, overlap: 1.5, seed: 4 });
const X = Preprocessor.fit(ds.X, "standardize").apply(ds.X);
const params = (over: Record<string, unknown>) => resolveParams(ncaPl, over);

function randomL(p: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: p * p }, (_, k) => (k % (p + 1) === 0 ? 1 : 0) + 0.3 * rng.normal());
}

describe("NCA-PL", () => {
  it("is registered with NCA's solver parameters and the perturbation parameters", () => {
    expect(Object.keys(resolveParams(getLearner("nca-pl"), {})).sort()).toEqual(
      ["faithful", "gradTol", "k", "lambda", "maxIter", "tau", "tol", "v"].sort(),
    );
  });

  it("objective = NCA loss + λ·(n/|T|)·Σ ℓ_P, gradient matches central finite differences in L", () => {
    const p = 3;
    const obj = ncaPlObjective(X, ds.y, params({ lambda: 3, tau: 0.8 }));
    expect(obj.triplets).toBe(60 * 3 * 10);
    const x = randomL(p, 1);
    const g = new Float64Array(p * p);
    const f0 = obj.f(x, g);
    const L: Mat = { rows: p, cols: p, data: x };
    const plPart = obj.perturbation(L);
    expect(plPart).toBeGreaterThan(0.01 * Math.abs(f0));
    expect(f0).toBeCloseTo(ncaLoss(X, ds.y, L) + plPart, 12);
    const rng = new Rng(9);
    for (let trial = 0; trial < 5; trial++) {
      const dir = Float64Array.from({ length: p * p }, () => rng.normal());
      const h = 1e-6;
      const fp = obj.f(
        x.map((v, k) => v + h * dir[k]!),
        new Float64Array(p * p),
      );
      const fm = obj.f(
        x.map((v, k) => v - h * dir[k]!),
        new Float64Array(p * p),
      );
      const fd = (fp - fm) / (2 * h);
      const an = g.reduce((s, gk, k) => s + gk * dir[k]!, 0);
      expect(Math.abs(fd - an)).toBeLessThan(1e-6 * Math.max(1, Math.abs(an)));
    }
  });

  it("with λ = 0 is NCA exactly", () => {
    const a = ncaPl.fit(X, ds.y, params({ lambda: 0, maxIter: 20 }));
    const b = nca.fit(X, ds.y, resolveParams(nca, { maxIter: 20 }));
    expect(Array.from(a.metric.components().data)).toEqual(Array.from(b.metric.components().data));
    expect(a.objective).toEqual(b.objective);
  });

  it("lowers the perturbation loss of the NCA solution (larger adversarial margins)", () => {
    const opts = { lambda: 5, tau: 0.5, maxIter: 60 };
    const withPl = ncaPl.fit(X, ds.y, params(opts));
    const plain = nca.fit(X, ds.y, resolveParams(nca, { maxIter: 60 }));
    const obj = ncaPlObjective(X, ds.y, params(opts));
    const at = (m: typeof withPl.metric) => obj.perturbation(m.components());
    expect(at(withPl.metric)).toBeLessThan(at(plain.metric));
    expect(withPl.params.tau).toBe(0.5);
  });

  it("runs through eval on iris with no NaN and a sensible accuracy", () => {
    const r = evaluateMethods(iris(), {
      methods: ["nca-pl"],
      nSplits: 2,
      params: { "nca-pl": { maxIter: "30" } },
    });
    const m = r.methods[0]!;
    for (const s of m.splits) expect(Number.isFinite(s.accuracy)).toBe(true);
    expect(m.accuracy.mean).toBeGreaterThan(0.85);
  });
});
