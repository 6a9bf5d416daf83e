import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/data/rng.js";
import type { Mat } from "../../src/linalg/mat.js";
import { MahalanobisMetric } from "../../src/metric/mahalanobis.js";
import {
  CertificationContext,
  epsTilde,
  exactMinimalPerturbation1nn,
  gaussianNoiseAttack,
  knnCertifiedRadius,
  qpGreedyAttack,
  randomDirectionAttack,
} from "../../src/robust/index.js";

/** A random problem: data (continuous, or on a coarse grid with duplicates and ties), labels, a PSD M of random rank. */
function problem(seed: number, k: number) {
  const rng = new Rng(seed);
  const p = rng.int(1, 3);
  const n = rng.int(Math.max(k, 3), 10);
  const C = rng.int(2, 3);
  const grid = rng.uniform() < 0.4;
  const coord = () => (grid ? rng.int(0, 3) / 2 : 2 * rng.uniform() - 1);
  const X = new Float64Array(n * p).map(coord);
  const y = Int32Array.from({ length: n }, (_, i) => (i < C ? i : rng.int(0, C - 1)));
  // rank 0..p: singular metrics are legitimate learned metrics
  const rank = rng.uniform() < 0.15 ? 0 : rng.int(1, p);
  const G = Array.from({ length: Math.max(rank, 1) }, () =>
    Array.from({ length: p }, () => (rank === 0 ? 0 : grid ? rng.int(-2, 2) : rng.normal())),
  );
  const M: Mat = { rows: p, cols: p, data: new Float64Array(p * p) };
  for (let r = 0; r < p; r++)
    for (let c = 0; c < p; c++) M.data[r * p + c] = G.reduce((s, g) => s + g[r]! * g[c]!, 0);
  const ctx = CertificationContext.fromMetric(MahalanobisMetric.fromM(M), { rows: n, cols: p, data: X }, y);
  // the query: random, a training point, or the midpoint of two training points (ties)
  const kind = rng.int(0, 2);
  const a = rng.int(0, n - 1);
  const b = rng.int(0, n - 1);
  const z =
    kind === 0
      ? Float64Array.from({ length: p }, coord)
      : kind === 1
        ? X.slice(a * p, (a + 1) * p)
        : Float64Array.from({ length: p }, (_, c) => 0.5 * (X[a * p + c]! + X[b * p + c]!));
  return { rng, ctx, z, p };
}

function sampleInBall(rng: Rng, z: Float64Array, radius: number, onSphere: boolean): Float64Array {
  const u = Float64Array.from(z, () => rng.normal());
  let s = 0;
  for (const v of u) s += v * v;
  const nu = Math.sqrt(s) || 1;
  const r = onSphere ? radius : radius * rng.uniform() ** (1 / z.length);
  return z.map((v, c) => v + (r * u[c]!) / nu);
}

describe("soundness of certificates against sampling and attacks (fast-check)", () => {
  for (const k of [1, 2, 3, 4, 5]) {
    it(`k = ${k}: no point inside the certified radius changes the prediction; no attack beats it (2000 cases)`, () => {
      let certified = 0;
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
          const { rng, ctx, z } = problem(seed, k);
          const cert = knnCertifiedRadius(ctx, z, undefined, k, {
            screenSize: 1 + (seed % 3),
            cache: seed % 2 === 0,
          });
          expect(cert.radius).toBeGreaterThanOrEqual(0);
          let lb = cert.radius;
          if (k === 1) {
            const ex = exactMinimalPerturbation1nn(ctx, z, undefined, { screenSize: 2, seed });
            expect(ex.lowerBound).toBeLessThanOrEqual(ex.norm);
            if (ex.delta)
              expect(
                ctx.predictOne(
                  z.map((v, c) => v + ex.delta![c]!),
                  1,
                ),
              ).not.toBe(cert.label);
            // both are sound lower bounds, so their max is too
            lb = Math.max(lb, ex.lowerBound);
            expect(ex.norm).toBeGreaterThanOrEqual(cert.radius * (1 - 1e-9));
          }
          if (lb > 0) {
            certified++;
            const R = Number.isFinite(lb) ? 0.999 * lb : 5;
            for (let s = 0; s < 12; s++) {
              const w = sampleInBall(rng, z, R, s % 3 === 0);
              expect(ctx.predictOne(w, k)).toBe(cert.label);
            }
          }
          const attacks = [
            randomDirectionAttack(ctx, z, undefined, k, { seed, directions: 3 }),
            gaussianNoiseAttack(ctx, z, undefined, k, { seed, directions: 2 }),
            qpGreedyAttack(ctx, z, undefined, k, { nFar: 20, maxTrials: 3, minTrials: 1, maxIter: 2000 }),
          ];
          for (const a of attacks) {
            expect(a.norm).toBeGreaterThanOrEqual(lb * (1 - 1e-9));
            if (a.adversarial) expect(ctx.predictOne(a.adversarial, k)).not.toBe(cert.label);
          }
        }),
        { numRuns: 2000, seed: 42 + k },
      );
      // the property is not vacuous
      expect(certified).toBeGreaterThan(400);
    });
  }
});

describe("even k: the authors' s = k/2 ranks are unsound under the library's tie rule", () => {
  it("k = 4 counterexample found by the property (seed 1950194150): a flip inside their bound, none inside ours", () => {
    const k = 4;
    const { rng, ctx, z } = problem(1950194150, k);
    const cert = knnCertifiedRadius(ctx, z, undefined, k);
    // the authors' bound: the (k/2)-th smallest over negatives of the (k/2)-th largest over positives of ε̃
    const P = Array.from(ctx.classRows[cert.label]!);
    const per: number[] = [];
    for (let j = 0; j < ctx.n; j++) {
      if (ctx.y[j] === cert.label) continue;
      const xj = ctx.X.data.subarray(j * ctx.p, (j + 1) * ctx.p);
      const e = P.map((i) => epsTilde(ctx.M, z, ctx.X.data.subarray(i * ctx.p, (i + 1) * ctx.p), xj));
      per.push(e.sort((a, b) => b - a)[k / 2 - 1] ?? 0);
    }
    const authors = per.sort((a, b) => a - b)[k / 2 - 1]!;
    expect(authors).toBeGreaterThan(cert.radius);
    let flipped = Number.POSITIVE_INFINITY;
    for (let s = 0; s < 5000; s++) {
      const w = sampleInBall(rng, z, 0.999 * authors, false);
      if (ctx.predictOne(w, k) !== cert.label) {
        let d = 0;
        for (let c = 0; c < z.length; c++) d += (w[c]! - z[c]!) ** 2;
        flipped = Math.min(flipped, Math.sqrt(d));
      }
    }
    expect(flipped).toBeLessThan(authors);
    expect(flipped).toBeGreaterThanOrEqual(cert.radius);
  });
});
