// npm run bench:kernels — GFLOP/s of gemm 500², time of pairwise distances (n = 2000, d = 50) and of eigh
// (n = 100, 300); medians; written to the "Kernels" section of BENCHMARKS.md.
import { loadavg } from "node:os";
import { Rng } from "../src/data/rng.js";
import { sqDistances } from "../src/linalg/distance.js";
import { eigh } from "../src/linalg/eigh.js";
import { gemm, gemmABt } from "../src/linalg/gemm.js";
import { type Mat, zeros } from "../src/linalg/mat.js";
import { symmetrize } from "../src/linalg/sym.js";
import { linalgBackend, setLinalgBackend } from "../src/linalg/wasm-linalg.js";
import { machine, timeMedian, writeSection } from "./common.js";

function rand(r: number, c: number, rng: Rng): Mat {
  const m = zeros(r, c);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal();
  return m;
}

const rng = new Rng(0);
const A = rand(500, 500, rng);
const B = rand(500, 500, rng);
const out = zeros(500, 500);
const flops = 2 * 500 ** 3;
const tGemm = timeMedian(() => gemm(A, B, out));
const tGemmABt = timeMedian(() => gemmABt(A, B, out));
const P = rand(2000, 50, rng);
const D = zeros(2000, 2000);
const tPair = timeMedian(() => sqDistances(P, P, D));
const P2 = { ...P, data: P.data.slice() };
const tPair2 = timeMedian(() => sqDistances(P, P2, D));
const backend = linalgBackend();
setLinalgBackend("js");
const tPairJs = timeMedian(() => sqDistances(P, P, D));
const tPair2Js = timeMedian(() => sqDistances(P, P2, D));
setLinalgBackend("auto");
const S100 = symmetrize(rand(100, 100, rng));
const S300 = symmetrize(rand(300, 300, rng));
const S64 = symmetrize(rand(64, 64, rng));
const tE64 = timeMedian(() => eigh(S64), 51);
const tE100 = timeMedian(() => eigh(S100), 9);
const tE300 = timeMedian(() => eigh(S300), 5);
setLinalgBackend("js");
const tE64Js = timeMedian(() => eigh(S64), 51);
const tE100Js = timeMedian(() => eigh(S100), 9);
const tE300Js = timeMedian(() => eigh(S300), 5);
setLinalgBackend("auto");

const rows = [
  [
    `gemm 500×500·500×500 (${backend})`,
    `${tGemm.toFixed(1)} ms`,
    `${(flops / tGemm / 1e6).toFixed(2)} GFLOP/s`,
    "≥ 2.5 GFLOP/s",
  ],
  [
    `gemmABt 500×500·(500×500)ᵀ (${backend})`,
    `${tGemmABt.toFixed(1)} ms`,
    `${(flops / tGemmABt / 1e6).toFixed(2)} GFLOP/s`,
    "",
  ],
  [
    `pairwise sq. distances 2000×2000, d = 50 (X with itself: upper triangle, mirrored; ${backend})`,
    `${tPair.toFixed(1)} ms`,
    "",
    "≤ 160 ms",
  ],
  [
    `pairwise sq. distances 2000×2000, d = 50 (two distinct sets; ${backend})`,
    `${tPair2.toFixed(1)} ms`,
    `${((3 * 2000 * 2000 * 50) / tPair2 / 1e6).toFixed(2)} GFLOP/s`,
    "",
  ],
  ["pairwise sq. distances, X with itself (JavaScript twin, same bits)", `${tPairJs.toFixed(1)} ms`, "", ""],
  [
    "pairwise sq. distances, two distinct sets (JavaScript twin, same bits)",
    `${tPair2Js.toFixed(1)} ms`,
    `${((3 * 2000 * 2000 * 50) / tPair2Js / 1e6).toFixed(2)} GFLOP/s`,
    "",
  ],
  [`eigh 64×64 (vectors; ${backend})`, `${tE64.toFixed(2)} ms`, "", ""],
  [`eigh 100×100 (vectors; ${backend})`, `${tE100.toFixed(1)} ms`, "", ""],
  [`eigh 300×300 (vectors; ${backend})`, `${tE300.toFixed(1)} ms`, "", "≤ 250 ms"],
  ["eigh 64×64 (JavaScript twin, same bits)", `${tE64Js.toFixed(2)} ms`, "", ""],
  ["eigh 100×100 (JavaScript twin, same bits)", `${tE100Js.toFixed(1)} ms`, "", ""],
  ["eigh 300×300 (JavaScript twin, same bits)", `${tE300Js.toFixed(1)} ms`, "", ""],
];
const table = [
  "| kernel | median | rate | target (issue 2) |",
  "|---|---:|---:|---|",
  ...rows.map((r) => `| ${r.join(" | ")} |`),
].join("\n");
const body =
  `Command: \`npm run bench:kernels\` (one thread; gemm and distances by the WebAssembly SIMD kernels when ` +
  `available — ${backend} here — eigh's tred2/tql2 likewise, and distances and eigh also by their JavaScript ` +
  `twins). Times are medians of the process's CPU time per call (equal to wall time on a quiet machine). Machine: ${machine()}. Load: ` +
  `1-minute average ${loadavg()[0]!.toFixed(2)} at the end of the run (2 cores).\n\n${table}`;
console.log(body);
writeSection("Kernels", body);
