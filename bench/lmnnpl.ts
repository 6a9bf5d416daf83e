// npm run bench:lmnnpl — faithful LMNN-PL (and its λ = 0 LMNN baseline) on the authors' 20 stored Australian
// splits, timed as the authors time it (the solver alone, tic/toc inside LMNN_PL.m: no triplet construction),
// against their code under Octave (reference/lmnnpl-reference.md §2.4: 2.56 s per split for LMNN-PL, 2.89 s for
// LMNN, one BLAS thread). Written to the "LMNN-PL" section of BENCHMARKS.md.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { mean, median } from "../src/eval/stats.js";
import {
  type LmnnPlSplitResult,
  parseLmnnPlReference,
  reproduceLmnnPlSplit,
  transductive,
} from "../src/learners/lmnn-pl-reference.js";
import { TripletEngine } from "../src/objectives/perturbation.js";
import { machine, writeSection } from "./common.js";

const file = resolve(process.argv[2] ?? "../shared/reference/lmnnpl-australian.json");
if (!existsSync(file)) {
  console.log(`bench:lmnnpl skipped: ${file} is missing (pass the path of lmnnpl-australian.json)`);
  process.exit(0);
}
const REPEATS = 3;
// the authors' solver seconds per split under Octave 7.3 / OpenBLAS 0.3.21, one thread (reference §2.4)
const OCTAVE = {
  "LMNN-PL": [
    5.12, 1.57, 2.27, 2.2, 1.76, 2.63, 2.88, 2.21, 2.63, 2.68, 1.82, 2.6, 1.8, 1.56, 2.19, 3.54, 3.01, 2.17,
    2.55, 4.07,
  ],
  LMNN: [
    5.66, 3.05, 3.66, 2.52, 1.99, 5.02, 2.57, 2.87, 2.59, 2.27, 2.34, 2.5, 2.96, 2.79, 2.47, 2.13, 2.65, 2.81,
    2.21, 2.73,
  ],
};
const OCTAVE_MEAN = { "LMNN-PL": 2.56, LMNN: 2.89 };
const OCTAVE_ITERS = { "LMNN-PL": 291.15, LMNN: 478.3 };

const ref = parseLmnnPlReference(readFileSync(file, "utf8"));
const Z = transductive(ref);
const backend = new TripletEngine(Z, { anchor: [0], target: [1], impostor: [2] }).backend;

interface Row {
  method: "LMNN-PL" | "LMNN";
  solver: number[]; // median over repeats, per split
  total: number[];
  iterations: number[];
  accuracy: number[];
}

function sweep(method: Row["method"]): Row {
  const runs: LmnnPlSplitResult[][] = [];
  for (let r = 0; r < REPEATS; r++) {
    const one: LmnnPlSplitResult[] = [];
    for (let s = 1; s <= ref.splits.length; s++) {
      one.push(
        reproduceLmnnPlSplit(ref, s, { preprocessed: Z, ...(method === "LMNN" ? { lambda: 0 } : {}) }),
      );
    }
    runs.push(one);
  }
  const perSplit = (f: (x: LmnnPlSplitResult) => number) =>
    ref.splits.map((_, s) => median(runs.map((one) => f(one[s]!))));
  return {
    method,
    solver: perSplit((x) => x.solverSeconds),
    total: perSplit((x) => x.seconds),
    iterations: runs[0]!.map((x) => x.iterations),
    accuracy: runs[0]!.map((x) => x.accuracy),
  };
}

// one untimed pass warms the JIT and compiles the wasm module
reproduceLmnnPlSplit(ref, 1, { preprocessed: Z });
const rows = [sweep("LMNN-PL"), sweep("LMNN")];

const f3 = (x: number) => x.toFixed(3);
const lines = rows.map((r) => {
  const m = r.method;
  const iters = r.iterations.reduce((a, b) => a + b, 0);
  const msPerIter = (1000 * r.solver.reduce((a, b) => a + b, 0)) / iters;
  const octMsPerIter = (1000 * OCTAVE_MEAN[m]) / OCTAVE_ITERS[m];
  return [
    m,
    f3(median(r.solver)),
    f3(mean(r.solver)),
    `${(median(OCTAVE[m]) / median(r.solver)).toFixed(1)}×`,
    `${(OCTAVE_MEAN[m] / mean(r.solver)).toFixed(1)}×`,
    `${msPerIter.toFixed(3)} (Octave ${octMsPerIter.toFixed(2)})`,
    `${mean(r.iterations).toFixed(1)} (Octave ${OCTAVE_ITERS[m]})`,
    f3(median(r.total)),
    mean(r.accuracy).toFixed(4),
  ];
});
const table = [
  "| method | solver s/split, median | mean | speed-up vs Octave (medians) | (means) | ms per iteration | iterations per split | whole fit s/split, median | mean accuracy |",
  "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...lines.map((l) => `| ${l.join(" | ")} |`),
].join("\n");
const body = [
  `Command: \`npm run bench:lmnnpl\` (faithful mode, the authors' 20 stored Australian splits and tuned (μ, λ, τ),`,
  `${REPEATS} sweeps, per-split median; TripletEngine backend: ${backend}; one thread). Machine: ${machine()}.`,
  "",
  "Solver seconds are timed as the authors time theirs (tic/toc around the solver, no triplet construction); the",
  "Octave column is their code under Octave 7.3 / OpenBLAS 0.3.21 with one thread on a 2-vCPU AMD EPYC",
  "(reference/lmnnpl-reference.md §2.4: mean 2.56 s per split for LMNN-PL, 2.89 s for LMNN, median 2.41 s and",
  "2.62 s). Target (issue 4): LMNN-PL at least 20× faster. Iteration counts differ from Octave's on the splits",
  "where the stopping rule is sensitive to floating-point order (docs/perturbation-loss.md), hence the per-iteration",
  "column. The whole fit adds the authors' triplet construction (distances in their BLAS order) and the",
  "evaluation of the terms at M = I and at the end.",
  "",
  table,
].join("\n");
console.log(body);
writeSection("LMNN-PL", body);
