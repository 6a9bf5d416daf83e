import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { blobs } from "../../src/data/embedded.js";
import { Rng } from "../../src/data/rng.js";
import { parseSplitsFile } from "../../src/data/splits.js";
import { evaluateMethods } from "../../src/eval/evaluate.js";
import { nca } from "../../src/learners/nca.js";
import { resolveParams } from "../../src/learners/registry.js";
import { expNonPositive } from "../../src/linalg/exp.js";
import { zeros } from "../../src/linalg/mat.js";
import { setLinalgBackend } from "../../src/linalg/wasm-linalg.js";
import { readDataset } from "../../src/node/read.js";
import { ncaLoss } from "../../src/objectives/nca.js";
import { expKernel, ncaRows } from "../../src/objectives/nca-kernel.js";

const shared = fileURLToPath(new URL("../../../shared/", import.meta.url));
const hasShared = existsSync(`${shared}splits/iris-10x70-30.json`);

describe("NCA objective", () => {
  it("gradient in L matches central finite differences", () => {
    const ds = blobs({ n: 30, d: 3, overlap: 2, seed: 2 });
    const rng = new Rng(7);
    const L = zeros(2, 3);
    for (let i = 0; i < 6; i++) L.data[i] = 0.5 * rng.normal();
    const g = new Float64Array(6);
    ncaLoss(ds.X, ds.y, L, g);
    for (let k = 0; k < 6; k++) {
      const h = 1e-6;
      const plus = { ...L, data: L.data.slice() };
      const minus = { ...L, data: L.data.slice() };
      plus.data[k]! += h;
      minus.data[k]! -= h;
      const fd = (ncaLoss(ds.X, ds.y, plus) - ncaLoss(ds.X, ds.y, minus)) / (2 * h);
      expect(Math.abs(fd - g[k]!)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
    }
  });
  it("dropping softmax terms below e^−46 leaves loss and gradient equal to the dense sums to rounding", () => {
    // a large L spreads the points so that most terms fall below the cutoff
    const ds = blobs({ n: 60, d: 3, overlap: 1.5, seed: 8 });
    const L = { rows: 3, cols: 3, data: Float64Array.of(6, 1, 0, 0, 5, 2, 1, 0, 7) };
    const g = new Float64Array(9);
    const value = ncaLoss(ds.X, ds.y, L, g);
    // dense reference, straight from eq. 1–5
    const n = 60;
    const Z = Array.from({ length: n }, (_, i) =>
      [0, 1, 2].map((r) => [0, 1, 2].reduce((s, c) => s + L.data[r * 3 + c]! * ds.X.data[i * 3 + c]!, 0)),
    );
    let ref = 0;
    const S = new Float64Array(9);
    let dropped = 0;
    for (let i = 0; i < n; i++) {
      const d = Z.map((z) => z.reduce((s, v, c) => s + (v - Z[i]![c]!) ** 2, 0));
      const dmin = Math.min(...d.filter((_, k) => k !== i));
      const e = d.map((v, k) => (k === i ? 0 : Math.exp(dmin - v)));
      dropped += d.filter((v, k) => k !== i && v > dmin + 46).length;
      const Zi = e.reduce((a, b) => a + b, 0);
      const pi = e.reduce((a, v, k) => a + (ds.y[k] === ds.y[i] ? v : 0), 0) / Zi;
      ref -= pi;
      for (let k = 0; k < n; k++) {
        const w = pi * (e[k]! / Zi) - (ds.y[k] === ds.y[i] ? e[k]! / Zi : 0);
        for (let a = 0; a < 3; a++)
          for (let b = 0; b < 3; b++) {
            const xa = ds.X.data[i * 3 + a]! - ds.X.data[k * 3 + a]!;
            const xb = ds.X.data[i * 3 + b]! - ds.X.data[k * 3 + b]!;
            S[a * 3 + b]! += w * xa * xb;
          }
      }
    }
    expect(dropped).toBeGreaterThan(1000); // the cutoff really drops terms here
    expect(Math.abs(value - ref)).toBeLessThan(1e-12 * Math.abs(ref));
    for (let r = 0; r < 3; r++)
      for (let c = 0; c < 3; c++) {
        const want = -2 * [0, 1, 2].reduce((s, k) => s + L.data[r * 3 + k]! * S[k * 3 + c]!, 0);
        expect(Math.abs(g[r * 3 + c]! - want)).toBeLessThan(1e-10 * Math.max(1, Math.abs(want)));
      }
  });
  it("WebAssembly and JavaScript kernels give the same bits: loss, gradient, value-only (odd and even p)", () => {
    // scales 1 (every pair kept), 6 (many softmax terms cut below e^−46) and duplicated points (zero distances)
    for (const d of [3, 4]) {
      for (const scale of [1, 6]) {
        const ds = blobs({ n: 90, d, overlap: 1.5, seed: d });
        const X = zeros(92, d);
        X.data.set(ds.X.data);
        X.data.set(ds.X.data.subarray(0, 2 * d), 90 * d);
        const y = Int32Array.from([...ds.y, ds.y[0]!, ds.y[1]!]);
        const L = zeros(d, d);
        for (let i = 0; i < d; i++) L.data[i * d + i] = scale * (1 + 0.3 * i);
        L.data[1] = 0.2 * scale;
        expect(ncaRows(X.data, y, 92, d, true).backend).toBe("wasm");
        const g1 = new Float64Array(d * d);
        const v1 = ncaLoss(X, y, L, g1);
        const v1only = ncaLoss(X, y, L);
        setLinalgBackend("js");
        try {
          expect(ncaRows(X.data, y, 92, d, true).backend).toBe("js");
          const g2 = new Float64Array(d * d);
          expect(ncaLoss(X, y, L, g2)).toBe(v1);
          expect(Array.from(g2)).toEqual(Array.from(g1));
          expect(ncaLoss(X, y, L)).toBe(v1only);
          expect(v1only).toBe(v1);
        } finally {
          setLinalgBackend("auto");
        }
      }
    }
  });
  it("the kernel's exp is expNonPositive bit for bit on [−46, 0]", () => {
    const exp = expKernel();
    expect(exp).not.toBeNull();
    const rng = new Rng(5);
    const xs = [
      0,
      -0,
      -1e-300,
      -Number.MIN_VALUE,
      -46,
      -Math.LN2 / 128,
      -Math.LN2 / 64,
      -Math.LN2,
      -45.99999999,
    ];
    for (let k = 0; k < 20000; k++) xs.push(-46 * rng.uniform());
    for (let j = 0; j <= 64 * 67; j++) xs.push((-j * Math.LN2) / 64, (-(j + 0.5) * Math.LN2) / 64);
    for (const x of xs) expect(exp!(x)).toBe(expNonPositive(x));
  });
  it("is −(expected number of correct stochastic 1-NN votes): between −n and 0", () => {
    const ds = blobs({ n: 40, seed: 1 });
    const v = ncaLoss(ds.X, ds.y, { rows: 2, cols: 2, data: Float64Array.of(1, 0, 0, 1) });
    expect(v).toBeLessThan(0);
    expect(v).toBeGreaterThan(-40);
  });
});

describe("nca learner", () => {
  it("lowers the loss to near-perfect leave-one-out accuracy, stays finite on duplicates", () => {
    const ds = blobs({ n: 120, d: 2, overlap: 1.2, noiseFeatures: 3, seed: 3 });
    const fit = nca.fit(ds.X, ds.y, resolveParams(nca, { maxIter: 50 }));
    expect(fit.objective.at(-1)!).toBeLessThan(fit.objective[0]!);
    // separable training data: the stochastic leave-one-out accuracy −f/n approaches 1
    expect(-fit.objective.at(-1)! / 120).toBeGreaterThan(0.99);
    const dup = { rows: 4, cols: 1, data: Float64Array.of(0, 0, 1, 1) };
    const f2 = nca.fit(dup, Int32Array.from([0, 0, 1, 1]), resolveParams(nca, { maxIter: 10 }));
    expect(Array.from(f2.metric.components().data).every(Number.isFinite)).toBe(true);
  });
});

describe.skipIf(!hasShared)("NCA parity with metric-learn 0.7.0", () => {
  // metric-learn's mean accuracy and median n_iter_ (reference/metric-learn/results.md): its NCA runs scipy's
  // L-BFGS-B with the default gtol 1e−5 and ftol 2.2e−9, our defaults; with gtol 1e−8 the medians were 29 and 22
  it.each([
    ["iris", 0.9556, 24],
    ["wine", 0.9648, 17],
  ])(
    "%s: mean accuracy within 1.5 points of metric-learn's, median iterations equal",
    (name, reference, iters) => {
      const ds = readDataset(`${shared}datasets/${name}.csv`);
      const splits = parseSplitsFile(
        readFileSync(`${shared}splits/${name}-10x70-30.json`, "utf8"),
        ds.X.rows,
      );
      const r = evaluateMethods(ds, { methods: ["nca"], splits });
      expect(r.methods[0]!.accuracy.mean).toBeGreaterThanOrEqual(reference - 0.015);
      const its = r.methods[0]!.splits.map((s) => s.iterations).sort((a, b) => a - b);
      expect((its[4]! + its[5]!) / 2).toBe(iters);
    },
  );
});
if (!hasShared) console.warn(`skipping NCA parity tests: ${shared}splits/iris-10x70-30.json is missing`);
