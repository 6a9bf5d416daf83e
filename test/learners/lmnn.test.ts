import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  fixedTriplets,
  impostorTriplets,
  impostorTripletsDense,
  targetNeighbours,
} from "../../src/constraints/neighbours.js";
import { blobs, iris } from "../../src/data/embedded.js";
import { Rng } from "../../src/data/rng.js";
import { parseSplitsFile } from "../../src/data/splits.js";
import { evaluateMethods } from "../../src/eval/evaluate.js";
import { resolveParams } from "../../src/learners/index.js";
import { evaluateTerms, lmnn, lmnnTerms, targetPairs } from "../../src/learners/lmnn.js";
import { fromRows, type Mat, symmetrize, zeros } from "../../src/linalg/index.js";
import { linalgBackend, setLinalgBackend } from "../../src/linalg/wasm-linalg.js";
import { readDataset } from "../../src/node/read.js";
import { projectedGradient } from "../../src/solvers/projected-gradient.js";
import { TINY_X, TINY_Y } from "../objectives/perturbation-fixtures.js";

const shared = fileURLToPath(new URL("../../../shared/", import.meta.url));
const hasShared = existsSync(`${shared}splits/iris-10x70-30.json`);

// reference/perturbation-loss.md §8.2 tiny fixture
const tinyX = TINY_X;
const tinyY = TINY_Y;

describe("LMNN constraints", () => {
  it("fixed triplets reproduce the authors' 24 triplets in their order (spec §4)", () => {
    const targets = targetNeighbours(tinyX, tinyY, 2);
    const T = fixedTriplets(tinyX, tinyY, targets, 2);
    const got = Array.from(T.anchor, (a, t) => `(${a + 1},${T.target[t]! + 1},${T.impostor[t]! + 1})`).join(
      " ",
    );
    expect(got).toBe(
      "(1,3,4) (1,3,6) (1,2,4) (1,2,6) (2,3,4) (2,3,5) (2,1,4) (2,1,5) (3,1,6) (3,1,4) (3,2,6) (3,2,4) " +
        "(4,6,3) (4,6,2) (4,5,3) (4,5,2) (5,4,2) (5,4,3) (5,6,2) (5,6,3) (6,4,3) (6,4,2) (6,5,3) (6,5,2)",
    );
    expect(targetPairs(targets).a.length).toBe(12);
  });

  it("targets exclude self by index (duplicates count), ties to the lower index, small classes warn once", () => {
    const X = fromRows([[0], [0], [1], [1], [5], [9]]);
    const y = Int32Array.from([0, 0, 0, 0, 1, 1]);
    const t = targetNeighbours(X, y, 2);
    expect(Array.from(t.index.subarray(t.start[0]!, t.start[1]!))).toEqual([1, 2]);
    expect(Array.from(t.index.subarray(t.start[4]!, t.start[5]!))).toEqual([5]);
    expect(t.warnings).toHaveLength(1);
    expect(t.warnings[0]).toMatch(/class code 1 \(2 members\) has fewer than k \+ 1 = 3 points/);
  });

  it("impostor triplets are exactly the triplets inside the margin (+ slack)", () => {
    const targets = targetNeighbours(tinyX, tinyY, 2);
    const T = impostorTriplets(tinyX, tinyY, targets, 1);
    const d = (a: number, b: number) =>
      (tinyX.data[2 * a]! - tinyX.data[2 * b]!) ** 2 + (tinyX.data[2 * a + 1]! - tinyX.data[2 * b + 1]!) ** 2;
    let expected = 0;
    for (let i = 0; i < 6; i++)
      for (let s = targets.start[i]!; s < targets.start[i + 1]!; s++)
        for (let l = 0; l < 6; l++)
          if (tinyY[l] !== tinyY[i] && d(i, l) < d(i, targets.index[s]!) + 1) expected++;
    expect(T.anchor.length).toBe(expected);
  });

  it("a scratch buffer reused across calls (larger sets, then smaller) gives the same triplets", () => {
    const big = blobs({ n: 120, d: 3, overlap: 2, seed: 5 });
    const small = blobs({ n: 50, d: 3, overlap: 2, seed: 6 });
    const scratch: { buffer?: Float64Array } = {};
    for (const ds of [big, small, big]) {
      const targets = targetNeighbours(ds.X, ds.y, 3);
      const fresh = impostorTripletsDense(ds.X, ds.y, targets, 1.1);
      const reused = impostorTripletsDense(ds.X, ds.y, targets, 1.1, scratch);
      expect(fresh.anchor.length).toBeGreaterThan(0);
      expect(reused).toEqual(fresh);
    }
    expect(scratch.buffer?.length).toBe(120 * 120); // allocated once, for the largest set
  });
});

describe("impostor candidates by the pair kernel", () => {
  // Z with `zeros` leading all-zero columns (an eigen-ordered L with clipped directions), random rest
  const make = (n: number, p: number, zeros: number, seed: number, classes = 3) => {
    const rng = new Rng(seed);
    const Z = { rows: n, cols: p, data: new Float64Array(n * p) };
    for (let i = 0; i < n; i++) for (let c = zeros; c < p; c++) Z.data[i * p + c] = rng.normal() * (1 + c);
    const y = Int32Array.from({ length: n }, () => rng.int(0, classes - 1));
    return { Z, y };
  };
  it("give the triplets of the full distance matrix, in the same order (zero columns, odd p, chunks)", () => {
    expect(linalgBackend()).toBe("wasm");
    const cases: Array<[number, number, number, number]> = [
      [60, 1, 0, 1],
      [61, 2, 1, 1],
      [80, 5, 2, 2],
      [90, 7, 3, 2],
      [120, 16, 5, 4],
      [150, 33, 4, 4],
      [100, 17, 0, 3],
      [200, 64, 19, 8],
    ];
    let total = 0;
    for (const [n, p, zeros, margin] of cases) {
      const { Z, y } = make(n, p, zeros, n + p);
      // duplicate points (distance 0) and a point whose class has no other member (no targets)
      Z.data.copyWithin(0, p, 2 * p);
      y[n - 1] = 99;
      for (const k of [1, 3]) {
        const targets = targetNeighbours(Z, y, k);
        for (const m of [margin, 10 * margin]) {
          const fast = impostorTriplets(Z, y, targets, m);
          const dense = impostorTripletsDense(Z, y, targets, m);
          expect(fast).toEqual(dense);
          total += fast.anchor.length;
        }
      }
    }
    expect(total).toBeGreaterThan(1000);
    // far from the origin (the projection's rounding is relative to the points' norms, not their differences)
    const { Z: F, y: yF } = make(120, 40, 2, 9);
    for (let i = 0; i < F.data.length; i++) if (i % 40 >= 2) F.data[i] = F.data[i]! + 1e7;
    const tF = targetNeighbours(F, yF, 3);
    expect(impostorTriplets(F, yF, tF, 50)).toEqual(impostorTripletsDense(F, yF, tF, 50));
    // every pair a candidate: more entries than one kernel call holds (2^16), so the rows go in several calls
    const { Z, y } = make(300, 4, 0, 7);
    const targets = targetNeighbours(Z, y, 2);
    const all = impostorTriplets(Z, y, targets, 1e6);
    expect(all).toEqual(impostorTripletsDense(Z, y, targets, 1e6));
    expect(all.anchor.length).toBeGreaterThan(2 ** 16);
  });
  it("fall back to the dense search without WebAssembly", () => {
    const { Z, y } = make(70, 6, 2, 3);
    const targets = targetNeighbours(Z, y, 3);
    const fast = impostorTriplets(Z, y, targets, 2);
    setLinalgBackend("js");
    try {
      expect(impostorTriplets(Z, y, targets, 2)).toEqual(fast);
    } finally {
      setLinalgBackend("auto");
    }
  });
});

describe("LMNN objective", () => {
  it("pull + hinge gradient matches central finite differences", () => {
    const rng = new Rng(2);
    const ds = blobs({ n: 40, d: 3, overlap: 2, seed: 3 });
    const targets = targetNeighbours(ds.X, ds.y, 3);
    const T = fixedTriplets(ds.X, ds.y, targets, 5);
    const { engine, terms } = lmnnTerms(ds.X, T, targetPairs(targets), 0.4, T.anchor.length);
    const A = zeros(3, 3);
    for (let i = 0; i < 9; i++) A.data[i] = rng.normal() * 0.3;
    const M: Mat = symmetrize(
      fromRows([
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ]),
    );
    for (let i = 0; i < 9; i++) M.data[i]! += A.data[i]! * A.data[i % 3]!;
    symmetrize(M);
    const { gradient } = evaluateTerms(engine, terms, M, true);
    for (let r = 0; r < 3; r++) {
      for (let c = r; c < 3; c++) {
        const h = 1e-6;
        const E = zeros(3, 3);
        E.data[r * 3 + c] = h;
        E.data[c * 3 + r] = h;
        const plus = { ...M, data: M.data.map((v, i) => v + E.data[i]!) };
        const minus = { ...M, data: M.data.map((v, i) => v - E.data[i]!) };
        const fd =
          (evaluateTerms(engine, terms, plus, false).value -
            evaluateTerms(engine, terms, minus, false).value) /
          (2 * h);
        const analytic = r === c ? gradient!.data[r * 3 + c]! : 2 * gradient!.data[r * 3 + c]!;
        expect(Math.abs(fd - analytic)).toBeLessThan(1e-6 * Math.max(1, Math.abs(analytic)));
      }
    }
  });
});

describe("projected gradient (bold driver)", () => {
  it("minimises ‖M − A‖²/2 over the PSD cone: the projection of A", () => {
    const A = fromRows([
      [2, 1, 0],
      [1, -1, 0],
      [0, 0, 0.5],
    ]);
    const obj = {
      evaluate(M: Mat) {
        const G = { ...M, data: M.data.map((v, i) => v - A.data[i]!) };
        return { value: 0.5 * G.data.reduce((s, v) => s + v * v, 0), gradient: G };
      },
    };
    const res = projectedGradient(obj, 3, { alpha0: 0.5 });
    expect(res.converged).toBe(true);
    // projection of A: clip its negative eigenvalue
    const lam = (1 - Math.sqrt(13)) / 2; // eigenvalue of [[2,1],[1,-1]] below zero
    const expectedValue = 0.5 * lam * lam;
    expect(res.trace.at(-1)!).toBeCloseTo(expectedValue, 6);
    expect(res.trace.length).toBe(res.iterations);
  });
});

describe("lmnn learner", () => {
  it("learns a metric that helps on data with noise features, deterministically", () => {
    // 2 informative features + 4 noise features of the same scale
    const ds = blobs({ n: 150, classes: 3, d: 2, overlap: 1.2, seed: 4 });
    const rng = new Rng(5);
    const X = zeros(150, 6);
    for (let i = 0; i < 150; i++) {
      X.data[i * 6] = ds.X.data[i * 2]!;
      X.data[i * 6 + 1] = ds.X.data[i * 2 + 1]!;
      for (let j = 2; j < 6; j++) X.data[i * 6 + j] = 3 * rng.normal();
    }
    const noisy = { ...ds, X, featureNames: ["a", "b", "n1", "n2", "n3", "n4"], name: "noisy" };
    const r = evaluateMethods(noisy, { methods: ["euclidean", "lmnn"], nSplits: 3 });
    const [eu, lm] = r.methods;
    expect(lm!.accuracy.mean).toBeGreaterThan(eu!.accuracy.mean + 0.05);
    const a = lmnn.fit(noisy.X, noisy.y, resolveParams(lmnn));
    const b = lmnn.fit(noisy.X, noisy.y, resolveParams(lmnn));
    expect(Array.from(a.metric.components().data)).toEqual(Array.from(b.metric.components().data));
    expect(a.objective.length).toBe(a.iterations);
    expect(a.objective.at(-1)!).toBeLessThan(a.objective[0]!);
  });

  it("no impostors at all (metric-learn #312 crashes): a valid metric, converged", () => {
    const X = fromRows([
      [0, 0],
      [0, 0.1],
      [0.1, 0],
      [0.1, 0.1],
      [10, 10],
      [10, 10.1],
      [10.1, 10],
      [10.1, 10.1],
    ]);
    const y = Int32Array.from([0, 0, 0, 0, 1, 1, 1, 1]);
    const fit = lmnn.fit(X, y, resolveParams(lmnn, { k: 2 }));
    expect(fit.converged).toBe(true);
    expect(fit.objective.every(Number.isFinite)).toBe(true);
    expect(Array.from(fit.metric.matrix().data).every(Number.isFinite)).toBe(true);
  });

  it("warns when the optimum is M = 0 (every target farther than its impostors), with either solver", () => {
    // 1-D: the target of 0 is 10 (class 0), its impostor 1 (class 1) is 100 times nearer; the same for the others
    const X = fromRows([[0], [10], [1], [11]]);
    const y = Int32Array.from([0, 0, 1, 1]);
    for (const solver of ["pg", "lbfgs"]) {
      const fit = lmnn.fit(X, y, resolveParams(lmnn, { k: 1, solver }));
      expect(Math.max(...fit.metric.matrix().data.map(Math.abs))).toBeLessThan(1e-8);
      expect(fit.warnings.join(" ")).toMatch(/collapsed to M = 0/);
    }
    const fine = lmnn.fit(tinyX, tinyY, resolveParams(lmnn));
    expect(fine.warnings.join(" ")).not.toMatch(/collapsed/);
    // large features (fitted as given: spread below 2^20) give small M entries, which are not a collapse
    const big = iris();
    const X17 = { ...big.X, data: big.X.data.map((v) => v * 2 ** 17) };
    const wide = lmnn.fit(X17, big.y, resolveParams(lmnn, { maxIter: 100, solver: "lbfgs" }));
    expect(Math.max(...wide.metric.matrix().data.map(Math.abs))).toBeLessThan(1e-9);
    expect(wide.warnings.join(" ")).not.toMatch(/collapsed|fitted on X/);
  });

  it("solver lbfgs: L-BFGS on L, deterministic, learns the noise-feature data, reports convergence", () => {
    const ds = blobs({ n: 120, classes: 3, d: 2, overlap: 1.2, noiseFeatures: 3, seed: 4 });
    const r = evaluateMethods(ds, {
      methods: ["euclidean", "lmnn"],
      nSplits: 3,
      params: { lmnn: { solver: "lbfgs" } },
    });
    expect(r.methods[1]!.accuracy.mean).toBeGreaterThan(r.methods[0]!.accuracy.mean + 0.05);
    const params = resolveParams(lmnn, { solver: "lbfgs" });
    const a = lmnn.fit(ds.X, ds.y, params);
    const b = lmnn.fit(ds.X, ds.y, params);
    expect(Array.from(a.metric.components().data)).toEqual(Array.from(b.metric.components().data));
    expect(a.converged).toBe(true);
    expect(a.iterations).toBeLessThan(1000);
    expect(a.objective.at(-1)!).toBeLessThan(a.objective[0]!);
    // the same objective as the projected gradient: both end near the same value
    const pg = lmnn.fit(ds.X, ds.y, resolveParams(lmnn));
    expect(Math.abs(a.objective.at(-1)! - pg.objective.at(-1)!)).toBeLessThan(0.05 * pg.objective.at(-1)!);
  });

  it.each([
    ["a constant column", () => withColumn(iris(), 7)],
    ["duplicate points", () => duplicated(iris())],
    ["d > n", () => wide()],
    [
      "one feature",
      () => ({
        X: fromRows(Array.from({ length: 30 }, (_, i) => [i % 2 ? i : -i])),
        y: Int32Array.from({ length: 30 }, (_, i) => i % 2),
      }),
    ],
    [
      "a class with 2 members (k = 3)",
      () => ({ X: fromRows([[0], [1], [2], [3], [10], [11]]), y: Int32Array.from([0, 0, 0, 0, 1, 1]) }),
    ],
  ])("degenerate data (%s): a finite result with either solver", (_name, make) => {
    const { X, y } = make();
    for (const solver of ["pg", "lbfgs"]) {
      const fit = lmnn.fit(X, y, resolveParams(lmnn, { maxIter: 200, solver }));
      expect(fit.objective.every(Number.isFinite)).toBe(true);
      expect(Array.from(fit.metric.components().data).every(Number.isFinite)).toBe(true);
    }
  });
});

function withColumn(ds: ReturnType<typeof iris>, value: number) {
  const X = zeros(ds.X.rows, ds.X.cols + 1);
  for (let i = 0; i < ds.X.rows; i++) {
    for (let j = 0; j < ds.X.cols; j++) X.data[i * (ds.X.cols + 1) + j] = ds.X.data[i * ds.X.cols + j]!;
    X.data[i * (ds.X.cols + 1) + ds.X.cols] = value;
  }
  return { X, y: ds.y };
}
function duplicated(ds: ReturnType<typeof iris>) {
  const X = zeros(2 * ds.X.rows, ds.X.cols);
  X.data.set(ds.X.data);
  X.data.set(ds.X.data, ds.X.data.length);
  const y = new Int32Array(2 * ds.X.rows);
  y.set(ds.y);
  y.set(ds.y, ds.X.rows);
  return { X, y };
}
function wide() {
  const rng = new Rng(1);
  const X = zeros(12, 30);
  for (let i = 0; i < X.data.length; i++) X.data[i] = rng.normal();
  return { X, y: Int32Array.from({ length: 12 }, (_, i) => i % 2) };
}

describe.skipIf(!hasShared)(
  "parity with metric-learn 0.7.0 (../shared/splits, reference/metric-learn/results.md)",
  () => {
    // metric-learn's mean 3-NN accuracy of LMNN on the same 10 frozen splits
    it.each([
      ["iris", 0.9578],
      ["wine", 0.9759],
    ])("%s: mean LMNN accuracy within 1.5 points of metric-learn's (or better)", (name, reference) => {
      const ds = readDataset(`${shared}datasets/${name}.csv`);
      const splits = parseSplitsFile(
        readFileSync(`${shared}splits/${name}-10x70-30.json`, "utf8"),
        ds.X.rows,
      );
      const r = evaluateMethods(ds, { methods: ["lmnn"], splits });
      expect(r.methods[0]!.accuracy.mean).toBeGreaterThanOrEqual(reference - 0.015);
    });
  },
);
if (!hasShared) console.warn(`skipping LMNN parity tests: ${shared}splits/iris-10x70-30.json is missing`);
