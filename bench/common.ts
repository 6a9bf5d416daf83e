import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { Preprocessor } from "../src/data/preprocess.js";
import { Rng } from "../src/data/rng.js";
import { selectRows } from "../src/linalg/mat.js";
import { readDataset } from "../src/node/read.js";

/**
 * Median of the times (ms) of `runs` calls after `warmup` untimed ones: CPU time of this process (user + system)
 * by default — on a quiet machine it equals the wall time of these one-thread kernels, and on a shared one it is
 * not inflated by other processes waiting for the same cores — or wall time with `clock: "wall"`.
 */
export function timeMedian(fn: () => void, runs = 7, warmup = 2, clock: "cpu" | "wall" = "cpu"): number {
  for (let i = 0; i < warmup; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    const c = process.cpuUsage(c0);
    t.push(clock === "wall" ? performance.now() - t0 : (c.user + c.system) / 1000);
  }
  t.sort((a, b) => a - b);
  return t[t.length >> 1]!;
}

/** "model, N cores, Node vX, date" for the benchmark headers. */
export function machine(): string {
  const c = cpus();
  return `${c[0]?.model ?? "unknown CPU"} (${c.length} cores), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}

/**
 * Replaces (or appends) the section `## title` of BENCHMARKS.md, leaving the other sections as they are, so
 * that each benchmark owns its own section.
 */
export function writeSection(title: string, body: string, file = "BENCHMARKS.md"): void {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    text = "# Benchmarks\n";
  }
  const head = `## ${title}`;
  const start = text.indexOf(`${head}\n`);
  const section = `${head}\n\n${body.trim()}\n`;
  if (start < 0) text = `${text.trimEnd()}\n\n${section}`;
  else {
    const next = text.indexOf("\n## ", start + head.length);
    text = `${text.slice(0, start)}${section}${next < 0 ? "" : text.slice(next)}`;
  }
  writeFileSync(file, text.endsWith("\n") ? text : `${text}\n`);
}

/**
 * satimage as bench:certify uses it: the 4435 UCI training rows standardized on themselves, and `nTest` test rows
 * drawn by a seeded permutation (Rng(42)) of the rest, standardized alike.
 */
export function satimageSplit(file: string, nTest: number) {
  const ds = readDataset(file);
  const nTrain = 4435;
  const trIdx = Int32Array.from({ length: nTrain }, (_, i) => i);
  const teAll = Int32Array.from({ length: ds.X.rows - nTrain }, (_, i) => nTrain + i);
  const teIdx = Int32Array.from(new Rng(42).permutation(teAll.length).subarray(0, nTest), (i) => teAll[i]!);
  const pre = Preprocessor.fit(selectRows(ds.X, trIdx), "standardize");
  return {
    ds,
    Xtr: pre.apply(selectRows(ds.X, trIdx)),
    Xte: pre.apply(selectRows(ds.X, teIdx)),
    ytr: Int32Array.from(trIdx, (i) => ds.y[i]!),
    yte: Int32Array.from(teIdx, (i) => ds.y[i]!),
  };
}
