// npm run bench:uci16 — every method with its default hyper-parameters on the 16 small UCI sets of
// ../shared/datasets (MANIFEST.md, suite uci16): 10 random 70/30 splits (seed 0), standardize on the training rows,
// 3-NN, through evaluateMethods (what `eval --methods ... --json` runs). Checks that no fit crashes and no accuracy
// is NaN; writes the "UCI16: AML and ARML against the base learners" section of BENCHMARKS.md (rewritten after each
// data set, so a partial run leaves a partial table).
// Usage: node .bench-build/bench/uci16.js [method,...] [dataset,...]
import { existsSync } from "node:fs";
import { SUITES } from "../src/cli/bench.js";
import { evaluateMethods, type MethodResult } from "../src/eval/evaluate.js";
import { learnerNames } from "../src/learners/index.js";
import { readDataset } from "../src/node/read.js";
import { machine, writeSection } from "./common.js";

const shared = "../shared/datasets";
const ALL = SUITES.uci16!;
const DATASETS = process.argv[3] ? process.argv[3].split(",") : ALL;
const METHODS = (process.argv[2] ?? "euclidean,lmnn,lmnn-pl,gmml,aml,arml").split(",");
const N_SPLITS = 10;
const TITLE = "UCI16: AML and ARML against the base learners";

if (!existsSync(`${shared}/iris.csv`)) {
  console.error(`bench:uci16 needs ${shared} (run it from the project root beside shared/)`);
  process.exit(2);
}
const missing = METHODS.filter((m) => !learnerNames().includes(m));
if (missing.length > 0) {
  console.error(`bench:uci16: methods not registered: ${missing.join(", ")}`);
  process.exit(2);
}

type Cell = { ok: true; r: MethodResult; wall: number } | { ok: false; error: string; wall: number };
const table = new Map<string, Map<string, Cell>>();
const sizes = new Map<string, string>();
const problems: string[] = [];
/** Crashes and NaN accuracies (the failures this benchmark checks for). */
let failures = 0;
const t0 = performance.now();

function fmtCell(c: Cell | undefined, what: "acc" | "sec"): string {
  if (!c) return "";
  if (!c.ok) return "crash";
  if (what === "sec") return c.r.fitSeconds.median.toFixed(c.r.fitSeconds.median < 1 ? 4 : 2);
  return `${(100 * c.r.accuracy.mean).toFixed(2)} ± ${(100 * c.r.accuracy.std).toFixed(2)}`;
}

function render(done: boolean): string {
  const names = [...table.keys()];
  const head = `| data set | n × d, C | ${METHODS.join(" | ")} |`;
  const sep = `|---|---|${METHODS.map(() => "---:").join("|")}|`;
  const acc = names.map(
    (d) =>
      `| ${d} | ${sizes.get(d)} | ${METHODS.map((m) => fmtCell(table.get(d)!.get(m), "acc")).join(" | ")} |`,
  );
  const sec = names.map(
    (d) =>
      `| ${d} | ${sizes.get(d)} | ${METHODS.map((m) => fmtCell(table.get(d)!.get(m), "sec")).join(" | ")} |`,
  );
  // mean accuracy over the data sets every method finished, and mean rank (1 = best; ties share the mean rank)
  const complete = names.filter((d) => METHODS.every((m) => table.get(d)!.get(m)?.ok));
  const meanAcc = METHODS.map((m) => {
    const v = complete.map((d) => (table.get(d)!.get(m) as { r: MethodResult }).r.accuracy.mean);
    return v.length ? `${((100 * v.reduce((a, b) => a + b, 0)) / v.length).toFixed(2)}` : "";
  });
  const ranks = METHODS.map(() => 0);
  for (const d of complete) {
    const a = METHODS.map((m) => (table.get(d)!.get(m) as { r: MethodResult }).r.accuracy.mean);
    a.forEach((x, i) => {
      const better = a.filter((y) => y > x).length;
      const equal = a.filter((y) => y === x).length;
      ranks[i]! += better + (equal + 1) / 2;
    });
  }
  const converged = METHODS.map((m) => {
    let c = 0;
    let t = 0;
    for (const d of names) {
      const cell = table.get(d)!.get(m);
      if (cell?.ok) {
        c += cell.r.splits.filter((s) => s.converged).length;
        t += cell.r.splits.length;
      }
    }
    return `${c}/${t}`;
  });
  const wall = (performance.now() - t0) / 1000;
  return [
    `Command: \`npm run bench:uci16\`. Machine: ${machine()}. ${done ? "Complete run" : "PARTIAL run (in progress)"}:`,
    `${names.length} of ${ALL.length} data sets, wall time ${(wall / 60).toFixed(1)} min.`,
    "",
    `Protocol: the uci16 suite of ../shared/datasets; ${N_SPLITS} random (unstratified) 70/30 splits from seed 0`,
    "(`evaluateMethods`, the same splits for every method); z-scoring fitted on the training rows; 3-NN accuracy on",
    "the test rows, mean ± std (N − 1) over the splits, in %; **default hyper-parameters of every learner, nothing",
    "tuned** (AML: the authors' demo α = 10, β = 1 and code constants; ARML: the authors' 1000 Adam epochs).",
    "",
    head,
    sep,
    ...acc,
    `| **mean over ${complete.length} sets** | | ${meanAcc.join(" | ")} |`,
    `| **mean rank** | | ${ranks.map((r) => (complete.length ? (r / complete.length).toFixed(2) : "")).join(" | ")} |`,
    "",
    "Median fit seconds per split (one thread):",
    "",
    head,
    sep,
    ...sec,
    `| **splits converged** | | ${converged.join(" | ")} |`,
    "",
    "`converged`: AML counts only |ΔF|/F < 1e−10 within its 100 iterations (the code's ρ₀ = 1e−3 rarely gets",
    "there on standardised data); ARML has no convergence test and always reports false.",
    failures > 0 ? `\n${failures} crash(es) or NaN result(s).` : "\nNo crash, no NaN.",
    problems.length ? `\nWarnings and problems:\n\n${problems.map((p) => `- ${p}`).join("\n")}` : "",
  ].join("\n");
}

for (const name of DATASETS) {
  const ds = readDataset(`${shared}/${name}.csv`);
  sizes.set(name, `${ds.X.rows} × ${ds.X.cols}, ${ds.classes.length}`);
  const row = new Map<string, Cell>();
  table.set(name, row);
  for (const m of METHODS) {
    const w0 = performance.now();
    try {
      // one method per call: a crash stays in its cell; splits and each learner's Rng depend on (seed, split) only
      const r = evaluateMethods(ds, { methods: [m], nSplits: N_SPLITS, seed: 0 }).methods[0]!;
      const bad = r.splits.filter((s) => !Number.isFinite(s.accuracy));
      if (bad.length > 0 || !Number.isFinite(r.accuracy.mean)) {
        failures++;
        problems.push(`${name} / ${m}: NaN accuracy on split(s) ${bad.map((s) => s.split).join(", ")}`);
      }
      if (r.warnings.length > 0)
        problems.push(
          `${name} / ${m}: ${r.warnings.length} distinct warning(s) over the splits, e.g. "${r.warnings[0]}"`,
        );
      row.set(m, { ok: true, r, wall: (performance.now() - w0) / 1000 });
    } catch (e) {
      const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      failures++;
      problems.push(`${name} / ${m}: crash: ${msg}`);
      row.set(m, { ok: false, error: msg, wall: (performance.now() - w0) / 1000 });
    }
    const c = row.get(m)!;
    console.log(
      `${name.padEnd(14)} ${m.padEnd(10)} ${fmtCell(c, "acc").padEnd(16)} fit ${fmtCell(c, "sec")} s  (cell ${c.wall.toFixed(1)} s)`,
    );
  }
  writeSection(TITLE, render(false));
}
writeSection(TITLE, render(true));
console.log(
  `bench:uci16 done in ${((performance.now() - t0) / 60000).toFixed(1)} min; ${failures} crash/NaN, ${problems.length} note(s)`,
);
if (failures > 0) process.exitCode = 1;
