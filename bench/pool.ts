// npm run bench:pool — the kernel worker pool (src/node/kernel-pool.ts): wall-clock medians of pairwise squared
// distances (n = 2000, d = 50; X with itself and two distinct sets) and of k-NN prediction (2000 queries, 5000
// training rows, d = 36) with one thread and with two; a threshold sweep (distinct sets m = n, d = 50, around
// DEFAULT_MIN_WORK); every two-thread result checked bit for bit against one thread. Written to the "Kernel worker
// pool" section of BENCHMARKS.md.
import { cpus, loadavg } from "node:os";
import { Rng } from "../src/data/rng.js";
import { sqDistances } from "../src/linalg/distance.js";
import { type Mat, zeros } from "../src/linalg/mat.js";
import { setRowParallel } from "../src/linalg/parallel.js";
import { linalgBackend } from "../src/linalg/wasm-linalg.js";
import { KNeighborsClassifier } from "../src/neighbors/knn.js";
import { DEFAULT_MIN_WORK, KernelPool, kernelWorkerScript } from "../src/node/kernel-pool.js";
import { timeMedian, writeSection } from "./common.js";

function rand(r: number, c: number, rng: Rng): Mat {
  const m = zeros(r, c);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal();
  return m;
}
const same = (a: Float64Array | Int32Array, b: Float64Array | Int32Array): boolean =>
  a.length === b.length &&
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

const script = kernelWorkerScript();
if (!script)
  throw new Error("bench:pool needs the compiled kernel-worker.js (run through npm run bench:pool)");
const load0 = loadavg()[0]!;
const pool = new KernelPool({ threads: 2, script });
await pool.start();
const RUNS = 15;

/** Median wall ms of f with one thread and with the pool; checks that both give the same bits. */
function both(
  f: () => Float64Array | Int32Array,
  runs = RUNS,
): { one: number; two: number; identical: boolean } {
  setRowParallel(undefined);
  const ref = f().slice();
  const one = timeMedian(() => f(), runs, 2, "wall");
  setRowParallel(pool);
  const before = pool.tasks;
  const got = f().slice();
  const two = timeMedian(() => f(), runs, 2, "wall");
  setRowParallel(undefined);
  return { one, two, identical: same(ref, got) && pool.tasks > before };
}

const rng = new Rng(0);
const P = rand(2000, 50, rng);
const P2 = rand(2000, 50, rng);
const D = zeros(2000, 2000);
const self = both(() => sqDistances(P, P, D).data);
const distinct = both(() => sqDistances(P, P2, D).data);
const Xtr = rand(5000, 36, rng);
const ytr = new Int32Array(5000).map(() => rng.int(0, 5));
const Xq = rand(2000, 36, rng);
const knn = new KNeighborsClassifier({ k: 3 }).fit(Xtr, ytr, 5);
const knnT = both(() => knn.predict(Xq), 9);
const knnD = both(() => knn.kneighbors(Xq).sqDistances, 9);

// threshold sweep: distinct sets m = n, d = 50, the pool forced on (minWork 1) against one thread
const eager = new KernelPool({ threads: 2, script, minWork: 1 });
await eager.start();
const sweep: string[] = [];
for (const size of [64, 91, 128, 181, 256, 362, 512]) {
  const A = rand(size, 50, rng);
  const B = rand(size, 50, rng);
  const out = zeros(size, size);
  const f = () => sqDistances(A, B, out).data;
  setRowParallel(undefined);
  const one = timeMedian(f, 41, 5, "wall");
  setRowParallel(eager);
  const two = timeMedian(f, 41, 5, "wall");
  setRowParallel(undefined);
  const work = size * size * 50;
  sweep.push(
    `| ${size}×${size} | 2^${Math.log2(work).toFixed(1)} | ${(one * 1000).toFixed(0)} µs | ${(two * 1000).toFixed(0)} µs | ${(one / two).toFixed(2)}× |`,
  );
}
await eager.close();
await pool.close();
const load1 = loadavg()[0]!;

const c = cpus();
const row = (what: string, r: { one: number; two: number; identical: boolean }, target = "") =>
  `| ${what} | ${r.one.toFixed(1)} ms | ${r.two.toFixed(1)} ms | ${(r.one / r.two).toFixed(2)}× | ${r.identical ? "yes" : "**NO**"} | ${target} |`;
const body = [
  `Command: \`npm run bench:pool\`. Machine: ${c[0]?.model ?? "unknown CPU"} (${c.length} cores), Node ${process.version}, ` +
    `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC. Load (1-minute average): ${load0.toFixed(2)} at the ` +
    `start, ${load1.toFixed(2)} at the end. Kernels: ${linalgBackend()}. Wall-clock medians of ${RUNS} calls (k-NN: 9) ` +
    'after 2 warm-up calls; "same bits": the two-thread output equals the one-thread output byte for byte (and ' +
    "the pool did compute it).",
  "",
  "| task | 1 thread | 2 threads | speed-up | same bits | target (issue 7) |",
  "|---|---:|---:|---:|:---:|---|",
  row("pairwise sq. distances 2000×2000, d = 50, X with itself (upper triangle, mirrored)", self, "≤ 40 ms"),
  row("pairwise sq. distances 2000×2000, d = 50, two distinct sets", distinct),
  row("k-NN predict, 2000 queries × 5000 training rows, d = 36, k = 3", knnT),
  row("k-NN kneighbors (same)", knnD),
  "",
  `Threshold sweep (two distinct sets, d = 50, pool forced on; medians of 41 calls): below DEFAULT_MIN_WORK = ` +
    `2^${Math.log2(DEFAULT_MIN_WORK)} multiply-adds the kernels stay on the calling thread.`,
  "",
  "| m = n | m·n·d | 1 thread | 2 threads | speed-up |",
  "|---|---:|---:|---:|---:|",
  ...sweep,
].join("\n");
console.log(body);
writeSection("Kernel worker pool", body);
