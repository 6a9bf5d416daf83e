import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { impostorTriplets, targetNeighbours } from "../../src/constraints/neighbours.js";
import { Rng } from "../../src/data/rng.js";
import { RobustMetricError } from "../../src/errors.js";
import { lmnn } from "../../src/learners/lmnn.js";
import { resolveParams } from "../../src/learners/registry.js";
import { forEachDistanceRow, sqDistances } from "../../src/linalg/distance.js";
import type { Mat } from "../../src/linalg/mat.js";
import { rowParallel, setRowParallel, splitRows, taskWork } from "../../src/linalg/parallel.js";
import { setLinalgBackend } from "../../src/linalg/wasm-linalg.js";
import { MahalanobisMetric } from "../../src/metric/mahalanobis.js";
import { KNeighborsClassifier } from "../../src/neighbors/knn.js";
import {
  DEFAULT_MIN_WORK,
  disableKernelPool,
  enableKernelPool,
  KernelPool,
  kernelPool,
  threadsFromEnv,
} from "../../src/node/kernel-pool.js";
import { FAULT } from "../../src/node/kernel-worker.js";
import { LmnnHinge } from "../../src/objectives/lmnn.js";
import { TripletEngine } from "../../src/objectives/perturbation.js";
import { certifiedAccuracy } from "../../src/robust/curves.js";
import { cli } from "../cli/helpers.js";

// A worker thread cannot load TypeScript, so the pool's threads run this CommonJS snippet: it registers a module
// hook that transpiles the sources with the typescript devDependency (the sources' ".js" specifiers resolved to
// ".ts"), then imports kernel-worker.ts — the technique of test/eval/runner.test.ts.
const root = new URL("../../", import.meta.url);
const hooks = `
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
const ts = createRequire(${JSON.stringify(fileURLToPath(new URL("package.json", root)))})("typescript");
export async function resolve(spec, ctx, next) {
  if (spec.endsWith(".js") && spec.startsWith(".") && ctx.parentURL && ctx.parentURL.endsWith(".ts")) {
    const u = new URL(spec.slice(0, -3) + ".ts", ctx.parentURL);
    if (existsSync(fileURLToPath(u))) return { url: u.href, shortCircuit: true };
  }
  return next(spec, ctx);
}
export async function load(url, ctx, next) {
  if (!url.endsWith(".ts")) return next(url, ctx);
  const source = ts.transpileModule(readFileSync(fileURLToPath(url), "utf8"), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  return { format: "module", source, shortCircuit: true };
}`;
const script = `
const { register } = require("node:module");
register("data:text/javascript," + encodeURIComponent(${JSON.stringify(hooks)}));
import(${JSON.stringify(new URL("src/node/kernel-worker.ts", root).href)});`;

const randMat = (rng: Rng, rows: number, cols: number, scale = 1): Mat => {
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = scale * rng.normal() + 3;
  return { rows, cols, data };
};
/** Small integers: many exactly equal distances, so the k-NN tie rule is exercised across row splits. */
const gridMat = (rng: Rng, rows: number, cols: number): Mat => {
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(0, 3);
  return { rows, cols, data };
};
const bytes = (a: Float64Array | Int32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const sameBits = (a: Float64Array | Int32Array, b: Float64Array | Int32Array) => {
  expect(a.length).toBe(b.length);
  expect(bytes(a).equals(bytes(b))).toBe(true);
};

/** `f` with no pool registered, then with `pool` registered. */
function bothWays<T>(pool: KernelPool, f: () => T): { one: T; many: T } {
  setRowParallel(undefined);
  const one = f();
  setRowParallel(pool);
  try {
    return { one, many: f() };
  } finally {
    setRowParallel(undefined);
  }
}

describe("row splits", () => {
  it("splitRows balances contiguous ranges, by weight when given", () => {
    expect(splitRows(10, 3)).toEqual([0, 3, 7, 10]);
    expect(splitRows(1, 2)).toEqual([0, 1, 1]);
    // symmetric 2000×2000: row i weighs 2000 − i, so the first range is the shorter one (≈ 586 rows)
    const b = splitRows(2000, 2, (i) => 2000 - i);
    expect(b[1]).toBeGreaterThan(580);
    expect(b[1]).toBeLessThan(592);
    expect(splitRows(7, 3, () => 1)).toEqual([0, 2, 5, 7]);
    const A = new Float64Array(4);
    expect(taskWork({ name: "sqDistances", A, B: A, C: A, m: 4, n: 4, d: 3, symmetric: true })).toBe(30);
  });

  it("ROBUST_METRIC_THREADS: a positive integer or unset", () => {
    expect(threadsFromEnv({})).toBeUndefined();
    expect(threadsFromEnv({ ROBUST_METRIC_THREADS: " " })).toBeUndefined();
    expect(threadsFromEnv({ ROBUST_METRIC_THREADS: "3" })).toBe(3);
    expect(() => threadsFromEnv({ ROBUST_METRIC_THREADS: "0" })).toThrow(/positive integer, got '0'/);
    expect(() => threadsFromEnv({ ROBUST_METRIC_THREADS: "two" })).toThrow(RobustMetricError);
    expect(enableKernelPool({ threads: 1, script })).toBeUndefined();
    expect(enableKernelPool({ script }, { ROBUST_METRIC_THREADS: "1" })).toBeUndefined();
    // no compiled worker next to the TypeScript sources: no pool, kernels stay on one thread
    expect(enableKernelPool({ threads: 2 })).toBeUndefined();
    expect(rowParallel()).toBeUndefined();
  });
});

describe("the command line", () => {
  it("a bad ROBUST_METRIC_THREADS is a bad-input error (exit code 2) naming the value", async () => {
    const before = process.env.ROBUST_METRIC_THREADS;
    process.env.ROBUST_METRIC_THREADS = "lots";
    try {
      const r = await cli("methods");
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/ROBUST_METRIC_THREADS must be a positive integer, got 'lots'/);
    } finally {
      if (before === undefined) delete process.env.ROBUST_METRIC_THREADS;
      else process.env.ROBUST_METRIC_THREADS = before;
    }
    // from the TypeScript sources there is no compiled worker: the CLI runs, kernels on one thread
    expect((await cli("methods")).code).toBe(0);
    expect(rowParallel()).toBeUndefined();
  });
});

describe("kernel pool on real worker threads", () => {
  // every task goes to the threads (minWork 1); three threads on any machine, so ranges have three owners
  let pool: KernelPool;
  beforeAll(async () => {
    pool = new KernelPool({ threads: 3, minWork: 1, script });
    await pool.start();
  }, 60_000);
  afterAll(async () => {
    setRowParallel(undefined);
    await pool.close();
  });

  it("starts its threads", () => {
    expect(pool.readyThreads()).toBe(2);
  });

  it("sqDistances: bit-identical to one thread on ragged sizes, symmetric and distinct", () => {
    const rng = new Rng(11);
    const before = pool.tasks;
    let expected = 0;
    for (const [m, n, d] of [
      [2, 2, 1],
      [3, 5, 2],
      [7, 1, 3],
      [97, 131, 7],
      [130, 129, 50],
      [301, 301, 9],
      [65, 65, 33],
    ] as const) {
      const A = randMat(rng, m, d);
      const B = randMat(rng, n, d);
      const distinct = bothWays(pool, () => sqDistances(A, B));
      sameBits(distinct.many.data, distinct.one.data);
      const sym = bothWays(pool, () => sqDistances(A, A));
      sameBits(sym.many.data, sym.one.data);
      expected += 2;
      // the same values given as two different arrays: computed as distinct, no mirroring
      const copy = { ...A, data: A.data.slice() };
      const twin = bothWays(pool, () => sqDistances(A, copy));
      sameBits(twin.many.data, twin.one.data);
      expected++;
    }
    expect(pool.tasks - before).toBe(expected);
  });

  it("sqDistances into a caller's output (a view into a larger buffer) and with the JavaScript kernels", () => {
    const rng = new Rng(12);
    const A = randMat(rng, 203, 11);
    const buf = new Float64Array(3 + 203 * 203);
    const out = { rows: 203, cols: 203, data: buf.subarray(3) };
    // NaN first: an entry the pool missed would keep it (a reused output would hide it)
    const r = bothWays(pool, () =>
      sqDistances(A, A, { ...out, data: out.data.fill(Number.NaN) }).data.slice(),
    );
    sameBits(r.many, r.one);
    expect(Array.from(buf.subarray(0, 3))).toEqual([0, 0, 0]);
    setLinalgBackend("js");
    try {
      const js = bothWays(pool, () => sqDistances(A, A));
      sameBits(js.many.data, js.one.data);
      sameBits(js.many.data, r.one);
    } finally {
      setLinalgBackend("auto");
    }
  });

  it("forEachDistanceRow: the same rows, full matrix (n ≤ 2048) and in blocks (n > 2048)", () => {
    const rng = new Rng(13);
    for (const [n, d] of [
      [257, 5],
      [2100, 3],
    ] as const) {
      const Z = randMat(rng, n, d);
      const collect = () => {
        const all = new Float64Array(n * n);
        forEachDistanceRow(Z, (i, row) => all.set(row, i * n));
        return all;
      };
      const before = pool.tasks;
      const r = bothWays(pool, collect);
      sameBits(r.many, r.one);
      // one full symmetric matrix, or one task per block of 256 rows
      expect(pool.tasks - before).toBe(n <= 2048 ? 1 : Math.ceil(n / 256));
    }
  });

  it("k-NN: kneighbors and predict bit-identical to one thread, ties included, with and without a metric", () => {
    const rng = new Rng(14);
    const X = gridMat(rng, 300, 4);
    const y = new Int32Array(300).map(() => rng.int(0, 3));
    const Lm = randMat(rng, 3, 4);
    for (const metric of [undefined, MahalanobisMetric.fromL(Lm)]) {
      for (const [m, k] of [
        [1, 3],
        [2, 1],
        [257, 3],
        [513, 5],
        [300, 300],
      ] as const) {
        const Q = gridMat(rng, m, 4);
        const knn = new KNeighborsClassifier({ k: Math.min(k, 7), ...(metric ? { metric } : {}) }).fit(
          X,
          y,
          3,
        );
        const before = pool.tasks;
        const nb = bothWays(pool, () => knn.kneighbors(Q, k));
        expect(pool.tasks - before).toBe(m === 1 ? 0 : 1);
        sameBits(nb.many.indices, nb.one.indices);
        sameBits(nb.many.sqDistances, nb.one.sqDistances);
        const pr = bothWays(pool, () => knn.predict(Q));
        sameBits(pr.many, pr.one);
      }
    }
  });

  it("TripletEngine beyond the unrolled modules: products and pair forms on shared memory, the bits of one thread", () => {
    const rng = new Rng(15);
    for (const [n, p] of [
      [61, 49],
      [130, 64],
      [97, 65],
    ] as const) {
      const X = randMat(rng, n, p);
      const T = 400;
      const triplets = {
        anchor: Int32Array.from({ length: T }, () => rng.int(0, n - 1)),
        target: Int32Array.from({ length: T }, () => rng.int(0, n - 1)),
        impostor: Int32Array.from({ length: T }, () => rng.int(0, n - 1)),
      };
      const L = randMat(rng, p, p, 0.2);
      const M: Mat = { rows: p, cols: p, data: new Float64Array(p * p) };
      for (let a = 0; a < p; a++)
        for (let b = 0; b < p; b++) {
          let s = 0;
          for (let c = 0; c < p; c++) s += L.data[c * p + a]! * L.data[c * p + b]!;
          M.data[a * p + b] = s / p;
        }
      const before = pool.tasks;
      const r = bothWays(pool, () => {
        const engine = new TripletEngine(X, triplets, { a: [0, 1, 2], b: [3, 4, 5] });
        engine.setMetric(M);
        const value = new LmnnHinge(0.5, 1 + p).accumulate(engine, true);
        return {
          shared: engine.kernels.buffers.x.buffer instanceof SharedArrayBuffer,
          value,
          dist: engine.dist.slice(),
          G: engine.gradient().data,
        };
      });
      expect(r.one.shared).toBe(false);
      expect(r.many.shared).toBe(true);
      expect(r.many.value).toBeGreaterThan(0);
      expect(r.many.value).toBe(r.one.value);
      sameBits(r.many.dist, r.one.dist);
      sameBits(r.many.G, r.one.G);
      // X·M, the pairs' forms (by anchor rows) and XᵀH each split among the threads
      expect(pool.tasks - before).toBe(3);
    }
  });

  it("LMNN beyond the unrolled modules: the same fit, bits and trace, with the pool (engines recycled)", () => {
    const rng = new Rng(16);
    const X = randMat(rng, 90, 50);
    const y = Int32Array.from({ length: 90 }, (_, i) => i % 3);
    for (let i = 0; i < 90; i++) X.data[i * 50 + (i % 50)]! += 2 * y[i]!;
    for (const solver of ["pg", "lbfgs"]) {
      const params = resolveParams(lmnn, { solver, maxIter: 40 });
      const before = pool.tasks;
      const r = bothWays(pool, () => lmnn.fit(X, y, params));
      expect(pool.tasks - before).toBeGreaterThan(40);
      sameBits(Float64Array.from(r.many.objective), Float64Array.from(r.one.objective));
      sameBits(r.many.metric.matrix().data, r.one.metric.matrix().data);
    }
  });

  it("LMNN's impostor candidates: rows split among the threads, the triplets of one thread, full slots completed", () => {
    const rng = new Rng(18);
    for (const [n, p, margin] of [
      [300, 20, 1],
      [700, 18, 1e6],
    ] as const) {
      const Z = randMat(rng, n, p);
      const y = Int32Array.from({ length: n }, (_, i) => i % 3);
      for (let i = 0; i < n; i++) Z.data[i * p + 1]! += 2 * y[i]!;
      const targets = targetNeighbours(Z, y, 3);
      const before = pool.tasks;
      const r = bothWays(pool, () => impostorTriplets(Z, y, targets, margin));
      expect(pool.tasks - before).toBe(1);
      expect(r.many.anchor.length).toBeGreaterThan(n);
      sameBits(r.many.anchor, r.one.anchor);
      sameBits(r.many.target, r.one.target);
      sameBits(r.many.impostor, r.one.impostor);
    }
  });

  it("certification: certifiedAccuracy's points on all threads, the bits of one, progress counted to the end", () => {
    const rng = new Rng(17);
    const X = randMat(rng, 150, 5);
    const y = Int32Array.from({ length: 150 }, (_, i) => i % 3);
    for (let i = 0; i < 150; i++) X.data[i * 5]! += 1.5 * y[i]!;
    const Q = randMat(rng, 37, 5);
    const yq = Int32Array.from({ length: 37 }, (_, i) => (i * 7) % 3);
    yq[5] = -1; // an unseen label: an error at radius 0
    const metric = MahalanobisMetric.fromL(randMat(rng, 4, 5, 0.5));
    for (const [k, exact] of [
      [1, true],
      [3, false],
    ] as const) {
      const knn = new KNeighborsClassifier({ k, metric }).fit(X, y, 3);
      const before = pool.tasks;
      const progress: number[] = [];
      const r = bothWays(pool, () => {
        progress.length = 0;
        return certifiedAccuracy(knn, Q, yq, [0, 0.1, 0.5], {
          exact,
          screenSize: 5,
          onPoint: (done, total) => {
            expect(total).toBe(37);
            progress.push(done);
          },
        });
      });
      expect(pool.tasks - before).toBe(1);
      sameBits(r.many.lowerBounds, r.one.lowerBounds);
      sameBits(r.many.predictions, r.one.predictions);
      if (exact) sameBits(r.many.upperBounds!, r.one.upperBounds!);
      expect(r.many.accuracy).toEqual(r.one.accuracy);
      expect(r.one.lowerBounds[5]).toBe(0);
      expect(r.one.lowerBounds.some((v) => v > 0)).toBe(true);
      // the calling thread reports after each of its points, the shared count of points done
      expect(progress.length).toBeGreaterThan(0);
      expect(progress.every((v, i) => i === 0 || v >= progress[i - 1]!)).toBe(true);
      expect(progress.at(-1)).toBe(37);
    }
    // bad labels and options fail before any point, on one thread or many
    const knn1 = new KNeighborsClassifier({ k: 1, metric }).fit(X, y, 3);
    setRowParallel(pool);
    try {
      const bad = yq.slice();
      bad[9] = -2;
      expect(() => certifiedAccuracy(knn1, Q, bad, [0])).toThrow(/label -2 of point 9 is not a class code/);
      expect(() => certifiedAccuracy(knn1, Q, yq, [0], { exact: true, maxIter: 0 })).toThrow(
        /maxIter must be a positive integer, got 0/,
      );
    } finally {
      setRowParallel(undefined);
    }
  });

  it("a k-NN error in a thread's rows surfaces with the single-thread message; the pool stays usable", () => {
    const rng = new Rng(15);
    const X = randMat(rng, 50, 3);
    const y = new Int32Array(50);
    const Q = randMat(rng, 600, 3);
    // rows 450 and 590 are in the third range (of 600 rows in three): both too far for float64 squares
    Q.data.fill(1e200, 450 * 3, 451 * 3);
    Q.data.fill(1e200, 590 * 3, 591 * 3);
    const knn = new KNeighborsClassifier({ k: 3 }).fit(X, y);
    const errorOf = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e;
      }
      throw new Error("no error");
    };
    const r = bothWays(pool, () => errorOf(() => knn.kneighbors(Q)));
    expect(r.many).toBeInstanceOf(RobustMetricError);
    expect((r.many as RobustMetricError).code).toBe("BAD_INPUT");
    expect((r.many as Error).message).toBe((r.one as Error).message);
    expect((r.many as Error).message).toMatch(/query row 450 /);
    // a bad row in the calling thread's range too: the lowest row wins, as on one thread
    Q.data.fill(1e200, 10 * 3, 11 * 3);
    const r2 = bothWays(pool, () => errorOf(() => knn.kneighbors(Q)));
    expect((r2.many as Error).message).toBe((r2.one as Error).message);
    expect((r2.many as Error).message).toMatch(/query row 10 /);
    Q.data.fill(1);
    const ok = bothWays(pool, () => knn.kneighbors(Q));
    sameBits(ok.many.indices, ok.one.indices);
  });

  it("injected faults: a RobustMetricError keeps its code, any other error becomes INTERNAL; the pool stays usable", () => {
    const rows = 90; // ranges [0, 30), [30, 60), [60, 90)
    expect(() => pool.fault(FAULT.ROBUST, 75, rows)).toThrow(
      expect.objectContaining({ code: "NUMERICAL", message: "injected fault at row 75" }),
    );
    expect(() => pool.fault(FAULT.TYPE, 40, rows)).toThrow(
      expect.objectContaining({
        code: "INTERNAL",
        message: expect.stringMatching(/TypeError: injected type error/),
      }),
    );
    // in the calling thread's own rows: the original error object
    expect(() => pool.fault(FAULT.TYPE, 3, rows)).toThrow(TypeError);
    expect(pool.fault(FAULT.ROBUST, -1, rows)).toBe(true);
    const A = randMat(new Rng(16), 64, 8);
    const r = bothWays(pool, () => sqDistances(A, A));
    sameBits(r.many.data, r.one.data);
    expect(pool.disabled).toBe(false);
  });
});

describe("kernel pool lifecycle", () => {
  it("threshold: below DEFAULT_MIN_WORK the calling thread computes alone, above the threads share the rows", async () => {
    const pool = enableKernelPool({ threads: 2, script })!;
    try {
      expect(pool).toBeInstanceOf(KernelPool);
      expect(enableKernelPool({ threads: 2, script })).toBe(pool);
      expect(kernelPool()).toBe(pool);
      expect(rowParallel()).toBe(pool);
      await pool.start();
      const rng = new Rng(17);
      // 72²·50 < 2^18 ≤ 73²·50 (two distinct sets)
      expect(72 * 72 * 50).toBeLessThan(DEFAULT_MIN_WORK);
      expect(73 * 73 * 50).toBeGreaterThanOrEqual(DEFAULT_MIN_WORK);
      for (const [size, used] of [
        [72, 0],
        [73, 1],
      ] as const) {
        const A = randMat(rng, size, 50);
        const B = randMat(rng, size, 50);
        const before = pool.tasks;
        const r = bothWays(pool, () => sqDistances(A, B));
        sameBits(r.many.data, r.one.data);
        expect(pool.tasks - before).toBe(used);
      }
    } finally {
      await disableKernelPool();
    }
    expect(rowParallel()).toBeUndefined();
    expect(kernelPool()).toBeUndefined();
    expect(pool.disabled).toBe(true);
    expect(pool.readyThreads()).toBe(0);
    // a closed pool declines every task; the kernels work as before
    const A = randMat(new Rng(18), 300, 20);
    expect(
      pool.run({
        name: "sqDistances",
        A: A.data,
        B: A.data,
        C: new Float64Array(9e4),
        m: 300,
        n: 300,
        d: 20,
        symmetric: true,
      }),
    ).toBe(false);
    expect(sqDistances(A, A).data[1]).toBeGreaterThan(0);
  }, 60_000);

  it("a worker script that fails to load: the kernels compute on one thread, then the pool disables itself", async () => {
    const pool = new KernelPool({
      threads: 2,
      minWork: 1,
      startMs: 200,
      script: "throw new Error('no kernels here')",
    });
    setRowParallel(pool);
    try {
      const A = randMat(new Rng(20), 50, 4);
      const r = bothWays(pool, () => sqDistances(A, A));
      sameBits(r.many.data, r.one.data);
      expect(pool.tasks).toBe(0);
      // once the thread's exit has been seen, the pool gives up
      await pool.start();
      expect(
        pool.run({
          name: "sqDistances",
          A: A.data,
          B: A.data,
          C: new Float64Array(2500),
          m: 50,
          n: 50,
          d: 4,
          symmetric: true,
        }),
      ).toBe(false);
      expect(pool.disabled).toBe(true);
      expect(pool.failure).toMatch(/every kernel pool thread has exited/);
    } finally {
      setRowParallel(undefined);
      await pool.close();
    }
  }, 60_000);

  it("a thread that dies mid-task: INTERNAL after the stall limit, the pool disables itself, one thread works on", async () => {
    const pool = enableKernelPool({ threads: 2, script, minWork: 1, stallMs: 300 })!;
    await pool.start();
    expect(pool.readyThreads()).toBe(1);
    expect(() => pool.fault(FAULT.EXIT, 50, 60)).toThrow(
      expect.objectContaining({ code: "INTERNAL", message: expect.stringMatching(/finished no rows/) }),
    );
    expect(pool.disabled).toBe(true);
    expect(pool.failure).toMatch(/died or hangs/);
    expect(rowParallel()).toBeUndefined();
    const A = randMat(new Rng(19), 40, 6);
    expect(
      pool.run({
        name: "sqDistances",
        A: A.data,
        B: A.data,
        C: new Float64Array(1600),
        m: 40,
        n: 40,
        d: 6,
        symmetric: true,
      }),
    ).toBe(false);
    await disableKernelPool();
  }, 60_000);
});
