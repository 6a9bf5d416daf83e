// npm run bench:poolfits — whole fits and certification with the kernel pool against one thread (issue 7's digits
// targets): LMNN (projected gradient and L-BFGS), NCA and ITML on the 10 digits splits of bench:parity (standardize
// on the training rows, defaults), wall-clock medians with the pool unregistered and with a two-thread pool, every
// pooled fit checked bit for bit (metric and objective trace) against its one-thread fit; then certifiedAccuracy
// on 1000 satimage test points (exact 1-NN and the k = 3 bound) under an LMNN metric. Written to the "Fits on the
// kernel pool" section of BENCHMARKS.md.
import { existsSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { Rng } from "../src/data/rng.js";
import { parseSplitsFile } from "../src/data/splits.js";
import { prepareSplit, splitSeed } from "../src/eval/evaluate.js";
import { median } from "../src/eval/stats.js";
import type { FitResult } from "../src/learners/index.js";
import { getLearner, resolveParams } from "../src/learners/index.js";
import { setRowParallel } from "../src/linalg/parallel.js";
import { KNeighborsClassifier } from "../src/neighbors/knn.js";
import { KernelPool, kernelWorkerScript } from "../src/node/kernel-pool.js";
import { readDataset } from "../src/node/read.js";
import { certifiedAccuracy } from "../src/robust/curves.js";
import { machine, satimageSplit, writeSection } from "./common.js";

const shared = "../shared";
for (const f of [`${shared}/splits/digits-10x70-30.json`, `${shared}/datasets/satimage.csv`]) {
  if (!existsSync(f)) {
    console.error(`bench:poolfits needs ${f} (run it from the project root beside shared/)`);
    process.exit(2);
  }
}
const script = kernelWorkerScript();
if (!script) throw new Error("bench:poolfits needs the compiled kernel-worker.js (run it through npm run)");
const load0 = loadavg()[0]!;
const pool = new KernelPool({ threads: 2, script });
await pool.start();

const bits = (a: ArrayLike<number>) => Buffer.from(Float64Array.from(a).buffer);
const sameFit = (a: FitResult, b: FitResult) =>
  bits(a.metric.matrix().data).equals(bits(b.metric.matrix().data)) &&
  bits(a.objective).equals(bits(b.objective));

const ds = readDataset(`${shared}/datasets/digits.csv`);
const splits = parseSplitsFile(readFileSync(`${shared}/splits/digits-10x70-30.json`, "utf8"), ds.X.rows);
const variants = [
  { label: "LMNN (projected gradient, default)", method: "lmnn", params: {}, target: "≤ 1 s" },
  { label: 'LMNN `solver: "lbfgs"`', method: "lmnn", params: { solver: "lbfgs" }, target: "≤ 1 s" },
  { label: "NCA", method: "nca", params: {}, target: "≤ 1 s" },
  { label: "ITML", method: "itml", params: {}, target: "≤ 2 s" },
];
const rows: string[] = [];
for (const v of variants) {
  const learner = getLearner(v.method);
  const params = resolveParams(learner, v.params);
  const wall: Record<"one" | "two", number[]> = { one: [], two: [] };
  let identical = true;
  let acc = 0;
  const before = pool.tasks;
  splits.forEach((split, s) => {
    const { Xtr, ytr, Xte, yte } = prepareSplit(ds, split, "standardize", false);
    const fits: Partial<Record<"one" | "two", FitResult>> = {};
    for (const mode of ["one", "two"] as const) {
      setRowParallel(mode === "two" ? pool : undefined);
      // an untimed warm-up fit on the first split, for each mode (the JIT, the threads' first instances)
      if (s === 0) learner.fit(Xtr, ytr, params, { rng: new Rng(splitSeed(0, 0)) });
      const t0 = performance.now();
      fits[mode] = learner.fit(Xtr, ytr, params, { rng: new Rng(splitSeed(0, s)) });
      wall[mode].push((performance.now() - t0) / 1000);
      setRowParallel(undefined);
    }
    identical &&= sameFit(fits.one!, fits.two!);
    acc +=
      new KNeighborsClassifier({ k: 3, metric: fits.two!.metric })
        .fit(Xtr, ytr, ds.classes.length)
        .score(Xte, yte) / splits.length;
  });
  const one = median(wall.one);
  const two = median(wall.two);
  rows.push(
    `| digits | ${v.label} | ${one.toFixed(3)} s | ${two.toFixed(3)} s | ${(one / two).toFixed(2)}× | ` +
      `${identical ? "yes" : "**NO**"} | ${pool.tasks - before} | ${acc.toFixed(4)} | ${v.target} |`,
  );
  console.log(rows.at(-1));
}

// certification: the setting of bench:certify (satimage, 4435 training rows, 1000 seeded test rows), LMNN with
// solver lbfgs for the metric (the default solver takes minutes there and the metric only sets the workload)
const { ds: sat, Xtr, Xte, ytr, yte } = satimageSplit(`${shared}/datasets/satimage.csv`, 1000);
const lmnn = getLearner("lmnn");
const metric = lmnn.fit(Xtr, ytr, resolveParams(lmnn, { solver: "lbfgs" })).metric;
for (const [k, exact, label] of [
  [1, true, "exact 1-NN (dual QP per negative)"],
  [3, false, "k = 3 half-space bound"],
] as const) {
  const knn = new KNeighborsClassifier({ k, metric }).fit(Xtr, ytr, sat.classes.length);
  const t: Record<string, number> = {};
  const out: Record<string, ReturnType<typeof certifiedAccuracy>> = {};
  const before = pool.tasks;
  for (const mode of ["one", "two"] as const) {
    setRowParallel(mode === "two" ? pool : undefined);
    const t0 = performance.now();
    out[mode] = certifiedAccuracy(knn, Xte, yte, [0, 0.5, 1], { exact });
    t[mode] = (performance.now() - t0) / 1000;
    setRowParallel(undefined);
  }
  const identical =
    bits(out.one!.lowerBounds).equals(bits(out.two!.lowerBounds)) &&
    bits(out.one!.predictions).equals(bits(out.two!.predictions));
  rows.push(
    `| satimage, 1000 test points | certification, ${label} | ${t.one!.toFixed(2)} s | ${t.two!.toFixed(2)} s | ` +
      `${(t.one! / t.two!).toFixed(2)}× | ${identical ? "yes" : "**NO**"} | ${pool.tasks - before} | ` +
      `certified acc. at r = 0.5: ${out.two!.accuracy[1]!.toFixed(4)} | |`,
  );
  console.log(rows.at(-1));
}
await pool.close();

const body = [
  `Command: \`npm run bench:poolfits\`. Machine: ${machine()}. Load (1-minute average): ${load0.toFixed(2)} at ` +
    `the start, ${loadavg()[0]!.toFixed(2)} at the end.`,
  "Whole fits on the 10 digits splits of bench:parity (standardize on the training rows, default parameters, 3-NN",
  "accuracy of the pooled fits), each split fitted with no pool registered (one thread) and with a two-thread",
  "kernel pool; wall-clock medians over the splits, after one untimed warm-up fit per mode. 'same bits': every",
  "pooled fit's metric and objective trace equal the one-thread fit's byte for byte; 'tasks': the pool's",
  "multi-thread tasks over the ten pooled fits (distances, k-NN, the triplet engine's products, impostor",
  "candidates). Certification: certifiedAccuracy on the 1000 satimage test rows of bench:certify under an LMNN",
  "(L-BFGS) metric, once per mode. The issue 7 targets are for the pooled column.",
  "",
  "| data | task | 1 thread | 2 threads | speed-up | same bits | tasks | accuracy | target (issue 7) |",
  "|---|---|---:|---:|---:|:---:|---:|---:|---|",
  ...rows,
].join("\n");
console.log(body);
writeSection("Fits on the kernel pool", body);
