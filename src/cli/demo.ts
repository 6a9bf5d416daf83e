import { join } from "node:path";
import type { Command } from "commander";
import type { EvaluateReport } from "../eval/evaluate.js";
import { DEFAULT_CONFIG, type ExperimentConfig, MemoryCellStore, runExperiment } from "../eval/runner.js";
import { mean, median, std } from "../eval/stats.js";
import { learnerNames } from "../learners/registry.js";
import { writeFileAtomic } from "../node/read.js";
import type { ResultsDocument } from "../report/tables.js";
import { resultsMarkdown } from "../report/tables.js";
import { embeddedSuite, resultsDocument, writeReport } from "./bench.js";
import { intOption, progress, table } from "./common.js";

/** Methods the demo shows, in this order, when they are registered: the baseline, LMNN and the two robust ones. */
export const DEMO_METHODS = ["euclidean", "lmnn", "lmnn-pl", "aml"];

/** Noise level and radii the terminal table shows (all levels and radii are in the report). */
const SHOW_NOISE = 0.3;
const SHOW_RADII = [0.1, 0.3];

/** The `eval --json` shape of one data set's cells (what `demo --json` prints, one line per data set). */
export function evalReportOf(doc: ResultsDocument, dataset: string): EvaluateReport {
  const info = doc.datasets.find((d) => d.name === dataset)!;
  return {
    dataset,
    n: info.n,
    d: info.d,
    classes: info.classes,
    k: doc.config.k,
    methods: doc.methods.map((method) => {
      const cells = doc.cells
        .filter((c) => c.dataset === dataset && c.method === method)
        .sort((a, b) => a.split - b.split);
      const acc = cells.map((c) => c.accuracy);
      return {
        method,
        params: cells[0]?.params ?? {},
        accuracy: { mean: mean(acc), std: std(acc) },
        fitSeconds: { median: median(cells.map((c) => c.fitSeconds)) },
        splits: cells.map((c) => ({
          split: c.split,
          accuracy: c.accuracy,
          fitSeconds: c.fitSeconds,
          iterations: c.iterations,
          converged: c.converged,
        })),
        warnings: [...new Set(cells.flatMap((c) => c.warnings))],
      };
    }),
  };
}

/** The demo's terminal table: per data set and method, clean, noisy and certified accuracy, margins, fit time. */
export function formatDemo(doc: ResultsDocument): string {
  const pct = (v: number[]) => `${(100 * mean(v)).toFixed(1)} ± ${(100 * std(v)).toFixed(1)}`;
  const ni = doc.config.noise.indexOf(SHOW_NOISE);
  const ri = SHOW_RADII.map((r) => doc.config.radii.indexOf(r));
  const head = [
    "data set",
    "method",
    "accuracy %",
    ...(ni >= 0 ? [`noise σ=${SHOW_NOISE} %`] : []),
    ...SHOW_RADII.filter((_, i) => ri[i]! >= 0).map((r) => `certified r=${r} %`),
    "triplet margin",
    "fit s",
  ];
  const rows = [head];
  for (const d of doc.datasets) {
    for (const m of doc.methods) {
      const cs = doc.cells.filter((c) => c.dataset === d.name && c.method === m);
      if (cs.length === 0) continue;
      rows.push([
        d.name,
        m,
        pct(cs.map((c) => c.accuracy)),
        ...(ni >= 0 ? [pct(cs.map((c) => c.noise.accuracy[ni]!))] : []),
        ...ri.filter((i) => i >= 0).map((i) => pct(cs.map((c) => c.certified.accuracy[i]!))),
        mean(cs.map((c) => c.margin.mean)).toFixed(3),
        median(cs.map((c) => c.fitSeconds)).toFixed(3),
      ]);
    }
  }
  const c = doc.config;
  return [
    `${c.nSplits} random 70/30 splits, standardized on the training part, ${c.k}-NN, default hyper-parameters.`,
    `Noise: Gaussian, σ × feature std. Certified: fraction of test points correctly classified with a certified`,
    `${c.k}-NN radius above r (Euclidean, standardized units). Triplet margin: mean adversarial margin of the`,
    `training triplets under the learned metric.`,
    "",
    table(rows),
  ].join("\n");
}

/** `robust-metric demo`: the showcase on embedded data, in well under a minute. */
export function register(program: Command): void {
  program
    .command("demo")
    .description(
      "showcase on embedded data (iris, and Gaussian blobs with 2 informative and 4 noise features): Euclidean, LMNN, LMNN-PL and AML compared on accuracy, noise and certified robustness; writes report.html",
    )
    .option("--splits <n>", "number of random 70/30 splits", "10")
    .option("--out <dir>", "folder of report.html, results.json and results.md", join("results", "demo"))
    .option("--no-report", "do not write the report files")
    .option("--json", "print the eval JSON (one object per line, one line per data set) and write no files")
    .action(async (o: { splits: string; out: string; report: boolean; json?: boolean }) => {
      const available = new Set(learnerNames());
      const methods = DEMO_METHODS.filter((m) => available.has(m));
      const config: ExperimentConfig = {
        ...DEFAULT_CONFIG,
        methods,
        nSplits: intOption("--splits", o.splits, 10),
        noiseRepeats: 3,
      };
      const bar = progress("demo");
      const res = runExperiment(embeddedSuite(), config, new MemoryCellStore(), ({ done, total }) =>
        bar.update(done, total),
      );
      bar.stop();
      const doc = resultsDocument(res);
      if (o.json) {
        for (const d of doc.datasets) process.stdout.write(`${JSON.stringify(evalReportOf(doc, d.name))}\n`);
        return;
      }
      let written = "";
      if (o.report) {
        const { mkdirSync } = await import("node:fs");
        mkdirSync(o.out, { recursive: true });
        writeFileAtomic(join(o.out, "results.json"), `${JSON.stringify(doc, null, 1)}\n`);
        writeFileAtomic(join(o.out, "results.md"), resultsMarkdown(doc));
        await writeReport(doc, join(o.out, "report.html"));
        written = `\n\nwrote ${join(o.out, "report.html")} (tables and figures), results.json and results.md`;
      }
      process.stdout.write(`${formatDemo(doc)}${written}\n`);
    });
}
