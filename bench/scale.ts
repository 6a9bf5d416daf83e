// npm run bench:scale — LMNN and LMNN-PL at scale (issue 7): letter (20,000 × 16) and usps (9,298 × 256) on their
// customary train/test parts, with fit time, iterations, test accuracy and peak memory; then a scaling table of fit
// time against n (subsets of letter's training part) and d (leading pixel blocks of usps), with the exponent of a
// least-squares fit of log time on log size. Writes the "LMNN at scale" section of BENCHMARKS.md.
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { Preprocessor } from "../src/data/preprocess.js";
import { getLearner, resolveParams } from "../src/learners/index.js";
import { type Mat, selectRows } from "../src/linalg/mat.js";
import { KNeighborsClassifier } from "../src/neighbors/knn.js";
import { readDataset } from "../src/node/read.js";
import { machine, writeSection } from "./common.js";

const shared = "../shared/datasets";
if (!existsSync(`${shared}/letter.csv`) || !existsSync(`${shared}/usps.csv`)) {
  console.error(
    `bench:scale needs ${shared}/letter.csv and usps.csv (run it from the project root beside shared/)`,
  );
  process.exit(2);
}

const range = (a: number, b: number) => Int32Array.from({ length: b - a }, (_, i) => a + i);
const pick = (y: Int32Array, idx: Int32Array) => Int32Array.from(idx, (i) => y[i]!);
const columns = (X: Mat, d: number): Mat => {
  const out = { rows: X.rows, cols: d, data: new Float64Array(X.rows * d) };
  for (let i = 0; i < X.rows; i++) out.data.set(X.data.subarray(i * X.cols, i * X.cols + d), i * d);
  return out;
};

interface Run {
  seconds: number;
  cpu: number;
  iterations: number;
  converged: boolean;
  accuracy: number;
}

/** Fits on train (standardized on train), scores 3-NN on test. */
function run(
  method: string,
  params: Record<string, unknown>,
  X: Mat,
  y: Int32Array,
  tr: Int32Array,
  te: Int32Array,
): Run {
  const pre = Preprocessor.fit(selectRows(X, tr), "standardize");
  const Xtr = pre.apply(selectRows(X, tr));
  const ytr = pick(y, tr);
  const learner = getLearner(method);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const fit = learner.fit(Xtr, ytr, resolveParams(learner, params));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0).user / 1e6;
  const accuracy =
    te.length > 0
      ? new KNeighborsClassifier({ k: 3, metric: fit.metric })
          .fit(Xtr, ytr)
          .score(pre.apply(selectRows(X, te)), pick(y, te))
      : Number.NaN;
  return { seconds, cpu, iterations: fit.iterations, converged: fit.converged, accuracy };
}

const variants: Array<{ label: string; method: string; params: Record<string, unknown> }> = [
  { label: "lmnn (solver lbfgs)", method: "lmnn", params: { solver: "lbfgs" } },
  { label: "lmnn-pl (200 iterations)", method: "lmnn-pl", params: { maxIter: 200 } },
];
const letter = readDataset(`${shared}/letter.csv`);
const usps = readDataset(`${shared}/usps.csv`);
const big: string[] = [];
for (const [name, ds, ntr] of [
  ["letter", letter, 16000],
  ["usps", usps, 7291],
] as const) {
  const tr = range(0, ntr);
  const te = range(ntr, ds.X.rows);
  for (const v of variants) {
    const r = run(v.method, v.params, ds.X, ds.y, tr, te);
    const rss = process.resourceUsage().maxRSS / 2 ** 20;
    big.push(
      `| ${name} | ${ds.X.rows} × ${ds.X.cols} | ${v.label} | ${r.seconds.toFixed(1)} | ${r.cpu.toFixed(1)} | ${r.iterations}${r.converged ? "" : " (cap)"} | ${(100 * r.accuracy).toFixed(2)} | ${rss.toFixed(2)} |`,
    );
    console.log(big.at(-1));
  }
}

/** Least-squares slope of log t on log s. */
function exponent(points: Array<[number, number]>): number {
  const xs = points.map(([s]) => Math.log(s));
  const ys = points.map(([, t]) => Math.log(t));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => {
    num += (x - mx) * (ys[i]! - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

const scaling: string[] = [];
const empty = new Int32Array(0);
for (const v of variants) {
  const byN: Array<[number, number]> = [];
  for (const n of [1000, 2000, 4000, 8000, 16000]) {
    const r = run(v.method, v.params, letter.X, letter.y, range(0, n), empty);
    byN.push([n, r.cpu]);
    scaling.push(`| ${v.label} | letter, n = ${n}, d = 16 | ${r.cpu.toFixed(2)} | ${r.iterations} |`);
    console.log(scaling.at(-1));
  }
  const byD: Array<[number, number]> = [];
  for (const d of [16, 32, 64, 128, 256]) {
    const r = run(v.method, v.params, columns(usps.X, d), usps.y, range(0, 2000), empty);
    byD.push([d, r.cpu]);
    scaling.push(
      `| ${v.label} | usps, n = 2000, d = ${d} (first d pixels) | ${r.cpu.toFixed(2)} | ${r.iterations} |`,
    );
    console.log(scaling.at(-1));
  }
  scaling.push(
    `| ${v.label} | **fitted exponent** | time ∝ n^${exponent(byN).toFixed(2)}, ∝ d^${exponent(byD).toFixed(2)} | |`,
  );
}

const body = [
  `Command: \`npm run bench:scale\`. Machine: ${machine()}. Load: 1-minute average ${loadavg()[0]!.toFixed(2)} at the end (2 cores).`,
  "One thread. Customary parts: letter's first 16,000 rows train, the last 4,000 test; usps's first 7,291 train, the",
  "last 2,007 test; standardized on the training part; 3-NN test accuracy. Peak memory is the process's maximum",
  "resident set so far (target: under 4 GiB).",
  "",
  "| data set | n × d | method | fit s (wall) | fit s (CPU) | iterations | accuracy % | peak RSS GiB |",
  "|---|---|---|---:|---:|---:|---:|---:|",
  ...big,
  "",
  "Scaling (CPU seconds of one fit; n from letter's training part, d from the first d pixels of 2,000 usps rows;",
  "iteration counts differ between sizes, so the exponents mix the cost per iteration with the number of iterations):",
  "",
  "| method | data | fit s (CPU) | iterations |",
  "|---|---|---:|---:|",
  ...scaling,
].join("\n");
writeSection("LMNN at scale", body);
