import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Dataset } from "../../src/data/dataset.js";
import { blobs } from "../../src/data/embedded.js";
import { randomSplits } from "../../src/eval/evaluate.js";
import {
  CellComputer,
  type CellResult,
  canonicalJson,
  cellId,
  cellKey,
  DEFAULT_CONFIG,
  datasetInfo,
  type ExperimentConfig,
  fnv64,
  MemoryCellStore,
  runExperiment,
  runExperimentAsync,
} from "../../src/eval/runner.js";
import {
  candidateSet,
  materialize,
  medianTripletMargin,
  parseTuneSpec,
  TUNING_SPACES,
  tuneParams,
} from "../../src/eval/tuning.js";
import { getLearner, resolveParams } from "../../src/learners/registry.js";
import "../../src/learners/index.js";
import { lmnn } from "../../src/learners/lmnn.js";
import {
  type PoolMessage,
  type PoolWorker,
  runExperimentParallel,
  threadWorker,
  type WorkerData,
} from "../../src/node/pool.js";
import { handleTask } from "../../src/node/pool-worker.js";

const small = (seed: number, name: string): Dataset => ({
  ...blobs({ n: 60, classes: 2, d: 2, overlap: 1.5, noiseFeatures: 1, seed }),
  name,
});

const cfg = (over: Partial<ExperimentConfig> = {}): ExperimentConfig => ({
  ...DEFAULT_CONFIG,
  methods: ["euclidean", "lmnn"],
  nSplits: 2,
  noise: [0, 0.2],
  noiseRepeats: 2,
  radii: [0, 0.1],
  ...over,
});

describe("runExperimentAsync", () => {
  it("gives runExperiment's cells, returning to the event loop after each computed one", async () => {
    const ds = [small(1, "a")];
    const sync = runExperiment(ds, cfg(), new MemoryCellStore());
    let turns = 0;
    const timer = setInterval(() => turns++, 0);
    const seen: number[] = [];
    let res: Awaited<ReturnType<typeof runExperimentAsync>>;
    try {
      res = await runExperimentAsync(ds, cfg(), new MemoryCellStore(), ({ done }) => seen.push(done));
    } finally {
      clearInterval(timer);
    }
    const strip = (c: CellResult) => ({ ...c, fitSeconds: 0, seconds: 0 });
    expect(res.cells.map(strip)).toEqual(sync.cells.map(strip));
    expect(seen).toEqual([1, 2, 3, 4]);
    // the event loop ran between cells (an interval fired), as a signal handler would
    expect(turns).toBeGreaterThan(0);
  });
});

describe("hashing and keys", () => {
  it("fnv64 is the 64-bit two-lane FNV-1a of the UTF-8 bytes (fixed values) and canonical JSON sorts keys", () => {
    expect(fnv64("")).toBe(fnv64(new Uint8Array(0)));
    expect(fnv64("")).toBe("811c9dc5050c5d1f");
    // lane a is the standard 32-bit FNV-1a: fnv1a32("a") = e40c292c
    expect(fnv64("a").slice(0, 8)).toBe("e40c292c");
    expect(fnv64("ab")).not.toBe(fnv64("ba"));
    expect(canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] })).toBe('{"a":[2,{"c":4,"d":3}],"b":1}');
  });

  it("a cell's key ignores the other methods and the number of splits but not its own parameters", () => {
    const info = datasetInfo(small(1, "s"));
    const base = cellId(cellKey(info, "lmnn", 2, cfg()));
    expect(cellId(cellKey(info, "lmnn", 2, cfg({ methods: ["lmnn", "itml"], nSplits: 7 })))).toEqual(base);
    expect(cellId(cellKey(info, "lmnn", 2, cfg({ params: { lmnn: { mu: 0.3 } } }))).hash).not.toBe(base.hash);
    expect(cellId(cellKey(info, "lmnn", 2, cfg({ noise: [0] }))).hash).not.toBe(base.hash);
    expect(cellId(cellKey(info, "lmnn", 2, cfg({ transductive: true }))).hash).not.toBe(base.hash);
    expect(cellId(cellKey(info, "lmnn", 2, cfg({ k: 1 }))).hash).not.toBe(base.hash);
    // euclidean has nothing to tune: --tune does not touch its cells, it does touch lmnn's
    const tuned = cfg({ tune: { folds: 5, candidates: 3 } });
    expect(cellId(cellKey(info, "euclidean", 1, tuned))).toEqual(
      cellId(cellKey(info, "euclidean", 1, cfg())),
    );
    expect(cellId(cellKey(info, "lmnn", 1, tuned)).hash).not.toBe(
      cellId(cellKey(info, "lmnn", 1, cfg())).hash,
    );
    // a different data set content changes the fingerprint
    expect(datasetInfo(small(2, "s")).fingerprint).not.toBe(info.fingerprint);
    expect(base.id).toMatch(/^s\.lmnn\.2\.[0-9a-f]{16}$/);
  });

  it("split s of a run does not depend on the number of splits (one seeded stream, prefix property)", () => {
    const a = randomSplits(60, 2, 0.3, 5);
    const b = randomSplits(60, 5, 0.3, 5);
    expect(Array.from(b[1]!.test)).toEqual(Array.from(a[1]!.test));
  });
});

describe("tuning", () => {
  it("parses --tune", () => {
    expect(parseTuneSpec("cv5:20")).toEqual({ folds: 5, candidates: 20 });
    expect(parseTuneSpec("none")).toEqual({ folds: 0, candidates: 0 });
    expect(() => parseTuneSpec("cv1:3")).toThrow(/cvK:N/);
    expect(() => parseTuneSpec("grid")).toThrow(/cvK:N/);
  });

  it("the candidate set is fixed by (method, seed): defaults first, then draws inside the documented ranges", () => {
    const a = candidateSet("lmnn-pl", 6, 0);
    expect(candidateSet("lmnn-pl", 6, 0)).toEqual(a);
    expect(candidateSet("lmnn-pl", 3, 0)).toEqual(a.slice(0, 3));
    expect(a[0]).toEqual({ mu: 0.5, lambda: 10, tau: 1 });
    for (const c of a.slice(1)) {
      expect(c.mu).toBeGreaterThanOrEqual(0.05);
      expect(c.mu).toBeLessThanOrEqual(0.95);
      expect(c.lambda).toBeGreaterThanOrEqual(0.1);
      expect(c.lambda).toBeLessThanOrEqual(1000);
      expect(c.tau).toBeGreaterThanOrEqual(0.1);
      expect(c.tau).toBeLessThanOrEqual(2);
    }
    expect(candidateSet("lmnn-pl", 6, 1)).not.toEqual(a);
    expect(candidateSet("euclidean", 5, 0)).toEqual([{}]);
    expect(candidateSet("lmnn", 4, 0, { mu: 0.2 })).toEqual([{}]);
    expect(Object.keys(TUNING_SPACES)).toContain("aml");
  });

  it("every tuned dimension is a declared parameter and every candidate resolves within its declared range", () => {
    for (const method of Object.keys(TUNING_SPACES)) {
      const learner = getLearner(method);
      for (const c of candidateSet(method, 8, 0)) {
        const params = resolveParams(learner, materialize(method, c, 0.3));
        for (const name of Object.keys(TUNING_SPACES[method]!))
          expect(params[name]).toBe(materialize(method, c, 0.3)[name]);
      }
    }
  });

  it("medianTripletMargin is the median Euclidean margin of the satisfied fixed triplets", () => {
    // 1-D, two classes: points 0, 1 (class 0) and 3, 4 (class 1); k = 1, v = 1
    const X = { rows: 4, cols: 1, data: Float64Array.from([0, 1, 3, 4]) };
    const y = Int32Array.from([0, 0, 1, 1]);
    // triplets (0,1,2): (9 − 1)/(2·2) = 2; (1,0,2): (4 − 1)/(2·3) = 0.5; (2,3,1): (4 − 1)/(2·3) = 0.5; (3,2,1): 2
    expect(medianTripletMargin(X, y, 1, 1)).toBe(1.25);
  });

  it("picks the candidate with the best mean CV accuracy, ties to the defaults", () => {
    const ds = small(3, "t");
    const r = tuneParams("lmnn", ds.X, ds.y, { candidates: 3, seed: 0, nClasses: 2, fixed: { maxIter: 30 } });
    expect(r.cvAccuracy).toHaveLength(3);
    const best = Math.max(...r.cvAccuracy);
    expect(r.best).toBe(r.cvAccuracy.indexOf(best));
    expect(r.params.mu).toBe(candidateSet("lmnn", 3, 0)[r.best]!.mu);
    expect(r.params.maxIter).toBe(30);
    expect(lmnn.params.mu!.default).toBe(0.5);
  });
});

describe("runExperiment", () => {
  const dsA = small(1, "a");
  const config = cfg({ methods: ["euclidean", "lmnn"], params: { lmnn: { maxIter: 50 } } });

  it("computes every cell once, then reuses them all; results equal a fresh run in any method order", () => {
    const store = new MemoryCellStore();
    const first = runExperiment([dsA], config, store);
    expect(first.computed).toBe(4);
    expect(first.cells.map((c) => `${c.method}/${c.split}`)).toEqual([
      "euclidean/1",
      "lmnn/1",
      "euclidean/2",
      "lmnn/2",
    ]);
    const again = runExperiment([dsA], config, store);
    expect(again.computed).toBe(0);
    expect(again.skipped).toBe(4);
    const other = runExperiment([dsA], { ...config, methods: ["lmnn", "euclidean"] }, new MemoryCellStore());
    const strip = (c: (typeof first.cells)[number]) => ({ ...c, fitSeconds: 0, seconds: 0 });
    const byId = new Map(other.cells.map((c) => [c.id, strip(c)]));
    for (const c of first.cells) expect(byId.get(c.id)).toEqual(strip(c));
  });

  it("fills every per-cell field with sane values", () => {
    const c = runExperiment([dsA], config, new MemoryCellStore()).cells[1]!;
    expect(c.method).toBe("lmnn");
    expect(c.nTrain + c.nTest).toBe(60);
    expect(c.nTest).toBe(18);
    expect(Math.abs(c.accuracy * c.nTest - Math.round(c.accuracy * c.nTest))).toBeLessThan(1e-9);
    expect(c.noise.levels).toEqual([0, 0.2]);
    // σ = 0 is the clean accuracy
    expect(c.noise.accuracy[0]).toBe(c.accuracy);
    // radius 0: certified accuracy ≤ accuracy; larger radius: no more
    expect(c.certified.accuracy[0]!).toBeLessThanOrEqual(c.accuracy);
    expect(c.certified.accuracy[1]!).toBeLessThanOrEqual(c.certified.accuracy[0]!);
    expect(c.certified.exact).toBe(false);
    expect(c.margin.triplets).toBeGreaterThan(0);
    expect(c.margin.mean).toBeGreaterThan(0);
    expect(c.params.maxIter).toBe(50);
    expect(c.embedding!.x).toHaveLength(c.nTest);
    expect(c.tuning).toBeUndefined();
  });

  it("tuning never touches the test part: changing test labels leaves the tuned parameters unchanged", () => {
    const tuned = cfg({
      methods: ["lmnn"],
      nSplits: 1,
      tune: { folds: 3, candidates: 3 },
      params: { lmnn: { maxIter: 30 } },
    });
    const split = randomSplits(60, 1, tuned.testSize, tuned.seed)[0]!;
    const y2 = dsA.y.slice();
    for (const i of split.test) y2[i] = 1 - y2[i]!;
    const a = runExperiment([dsA], tuned, new MemoryCellStore()).cells[0]!;
    const b = runExperiment([{ ...dsA, y: y2 }], tuned, new MemoryCellStore()).cells[0]!;
    expect(a.tuning!.cvAccuracy).toHaveLength(3);
    expect(b.tuning).toEqual(a.tuning);
    expect(b.params).toEqual(a.params);
    expect(b.accuracy).toBeCloseTo(1 - a.accuracy, 12);
  });

  it("exact certification for k = 1", () => {
    const c = runExperiment([dsA], cfg({ methods: ["euclidean"], nSplits: 1, k: 1 }), new MemoryCellStore())
      .cells[0]!;
    expect(c.certified.exact).toBe(true);
    expect(c.certified.accuracy[0]).toBeLessThanOrEqual(c.accuracy);
  });

  it("rejects bad configurations", () => {
    expect(() => runExperiment([dsA], cfg({ methods: ["nope"] }), new MemoryCellStore())).toThrow(
      /unknown method/,
    );
    expect(() => runExperiment([dsA, dsA], cfg(), new MemoryCellStore())).toThrow(/two data sets/);
    expect(() =>
      runExperiment([dsA], cfg({ params: { itml: { gamma: 1 } } }), new MemoryCellStore()),
    ).toThrow(/not run/);
  });
});

describe("runExperimentParallel", () => {
  // in-process stand-ins for worker threads (vitest runs TypeScript sources, which a worker thread cannot load):
  // the same handleTask the real worker runs, answering asynchronously in a scrambled order
  const fake = (delays: number[]) => {
    let n = 0;
    return (data: WorkerData): PoolWorker => {
      const computer = new CellComputer(data.datasets, data.cfg);
      const handlers: ((m: PoolMessage) => void)[] = [];
      const delay = delays[n++ % delays.length]!;
      return {
        post: (task) =>
          setTimeout(() => handleTask(computer, task, (m) => handlers.forEach((h) => h(m))), delay),
        onMessage: (h) => {
          handlers.push(h);
        },
        terminate: () => {},
      };
    };
  };
  const strip = (c: CellResult) => ({ ...c, fitSeconds: 0, seconds: 0 });
  const dsB = small(4, "b");
  const config = cfg({
    methods: ["euclidean", "lmnn", "gmml"],
    nSplits: 3,
    params: { lmnn: { maxIter: 30 } },
  });

  it("gives the cells of a single-thread run, in plan order, storing each one", async () => {
    const serial = runExperiment([small(1, "a"), dsB], config, new MemoryCellStore());
    const store = new MemoryCellStore();
    const seen: string[] = [];
    const par = await runExperimentParallel([small(1, "a"), dsB], config, store, {
      threads: 3,
      spawn: fake([5, 0, 2]),
      onCell: ({ cell }) => seen.push(cell.id),
    });
    expect(par.computed).toBe(18);
    expect(par.cells.map(strip)).toEqual(serial.cells.map(strip));
    expect(store.cells.size).toBe(18);
    expect(new Set(seen).size).toBe(18);
    // resumable in parallel too
    const again = await runExperimentParallel([small(1, "a"), dsB], config, store, {
      threads: 2,
      spawn: fake([0]),
    });
    expect(again.computed).toBe(0);
    expect(again.skipped).toBe(18);
  });

  it("an error in a worker stops the pool and is rethrown with its message; finished cells stay stored", async () => {
    const store = new MemoryCellStore();
    const bad: ExperimentConfig = { ...config, methods: ["euclidean", "lmnn"] };
    const failing = (data: WorkerData): PoolWorker => {
      const w = fake([0])(data);
      return {
        ...w,
        post: (task) => (task.methods.includes("lmnn") ? w.post({ ...task, ds: 99 }) : w.post(task)),
      };
    };
    await expect(
      runExperimentParallel([small(1, "a")], bad, store, { threads: 2, spawn: failing }),
    ).rejects.toThrow(/no data set number 99/);
    for (const c of store.cells.values()) expect(c.method).toBe("euclidean");
  });
});

describe("runExperimentParallel on real worker threads", () => {
  // A worker thread cannot load TypeScript, so this one registers a module hook that transpiles the sources with
  // the typescript devDependency (resolving the sources' ".js" specifiers to ".ts"), then imports pool-worker.ts.
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
  const code = `
const { register } = require("node:module");
register("data:text/javascript," + encodeURIComponent(${JSON.stringify(hooks)}));
import(${JSON.stringify(new URL("src/node/pool-worker.ts", root).href)});`;

  it("two threads give the cells of one thread", async () => {
    const config = cfg({
      methods: ["euclidean", "lmnn-pl"],
      nSplits: 2,
      params: { "lmnn-pl": { maxIter: 30 } },
    });
    const sets = [small(1, "a"), small(5, "c")];
    const serial = runExperiment(sets, config, new MemoryCellStore());
    const store = new MemoryCellStore();
    const par = await runExperimentParallel(sets, config, store, {
      threads: 2,
      spawn: (data) => threadWorker(data, code),
    });
    expect(par.computed).toBe(8);
    const strip = (c: CellResult) => ({ ...c, fitSeconds: 0, seconds: 0 });
    expect(par.cells.map(strip)).toEqual(serial.cells.map(strip));
    expect(store.cells.size).toBe(8);
  }, 60_000);
});
