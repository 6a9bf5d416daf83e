import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, extname, join, resolve } from "node:path";
import type { Command } from "commander";
import type { Dataset } from "../data/dataset.js";
import { blobs, iris } from "../data/embedded.js";
import { parsePreprocessKind } from "../data/preprocess.js";
import { RobustMetricError } from "../errors.js";
import {
  type CellProgress,
  type CellResult,
  type CellStore,
  checkExperiment,
  DEFAULT_CONFIG,
  type ExperimentConfig,
  type ExperimentResult,
  RUNNER_VERSION,
} from "../eval/runner.js";
import { parseTuneSpec } from "../eval/tuning.js";
import { runExperimentParallel } from "../node/pool.js";
import { readDataset, writeFileAtomic } from "../node/read.js";
import { comparisonTable, type ResultsDocument, resultsMarkdown } from "../report/tables.js";
import { collect, fractionOption, intOption, parseParams, progress, table } from "./common.js";

/** The named suites of the project's data-set manifest (uci16, large), plus `embedded` (no files needed). */
export const SUITES: Readonly<Record<string, readonly string[]>> = {
  uci16: [
    "australian",
    "balance_scale",
    "bupa",
    "dermatology",
    "ecoli",
    "glass",
    "haberman",
    "heart",
    "ionosphere",
    "iris",
    "pima",
    "segment",
    "sonar",
    "vehicle",
    "wdbc",
    "wine",
  ],
  large: ["digits", "satimage", "letter", "usps", "mnist_2k"],
};

/** The embedded data sets of `--suite embedded` (and the demo): iris and 3 Gaussian blobs with 4 noise features. */
export function embeddedSuite(): Dataset[] {
  return [iris(), blobs({ n: 300, classes: 3, d: 2, overlap: 1.2, noiseFeatures: 4, seed: 1 })];
}

/**
 * Resolves `--suite`: a suite name (files `<name>.csv` under dataDir), `embedded`, a folder (every .csv and .json
 * in it, sorted), or a comma-separated list of files.
 *
 * @throws RobustMetricError IO / BAD_INPUT naming the missing file or unknown suite.
 */
export function resolveSuite(suite: string, dataDir: string, only?: string): Dataset[] {
  if (suite === "embedded") return selectDatasets(embeddedSuite(), only);
  const named = SUITES[suite];
  if (named) {
    // --only is applied before reading, so that a subset of `large` does not parse the big files
    const wanted = only === undefined ? undefined : only.split(",").map((s) => s.trim());
    const unknown = (wanted ?? []).filter((n) => n && !named.includes(n));
    if (unknown.length > 0)
      throw new RobustMetricError(
        "BAD_INPUT",
        `--only: ${unknown.join(", ")} not in the suite (${named.join(", ")})`,
      );
    const files = named.filter((n) => !wanted || wanted.includes(n)).map((n) => join(dataDir, `${n}.csv`));
    const missing = files.filter((f) => !existsSync(f));
    if (missing.length > 0)
      throw new RobustMetricError(
        "IO",
        `suite '${suite}': missing ${missing.join(", ")} (set --data-dir to the folder of the data sets)`,
      );
    return files.map((f) => readDataset(f));
  }
  if (existsSync(suite) && statSync(suite).isDirectory()) {
    const files = readdirSync(suite)
      .filter((f) => [".csv", ".json"].includes(extname(f).toLowerCase()))
      .sort();
    if (files.length === 0)
      throw new RobustMetricError("BAD_INPUT", `folder '${suite}' has no .csv or .json files`);
    return selectDatasets(
      files.map((f) => readDataset(join(suite, f))),
      only,
    );
  }
  const parts = suite
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length > 0 && parts.every((p) => /\.(csv|json)$/i.test(p)))
    return selectDatasets(
      parts.map((p) => readDataset(p)),
      only,
    );
  throw new RobustMetricError(
    "BAD_INPUT",
    `unknown suite '${suite}'; use ${Object.keys(SUITES).join(", ")}, embedded, a folder or a list of .csv/.json files`,
  );
}

/** The data sets named in `only` (comma-separated), in suite order; all when `only` is undefined. */
export function selectDatasets(all: Dataset[], only: string | undefined): Dataset[] {
  if (only === undefined) return all;
  const names = only
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const have = all.map((d) => d.name ?? "data");
  const unknown = names.filter((n) => !have.includes(n));
  if (unknown.length > 0)
    throw new RobustMetricError(
      "BAD_INPUT",
      `--only: ${unknown.join(", ")} not in the suite (${have.join(", ")})`,
    );
  return all.filter((d) => names.includes(d.name ?? "data"));
}

/** A cell store on disk: `<dir>/<id>.json`, written atomically; unreadable or stale files count as missing. */
export class FileCellStore implements CellStore {
  constructor(readonly dir: string) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new RobustMetricError("IO", `cannot create '${dir}': ${(e as Error).message}`);
    }
  }
  get(id: string, hash: string): CellResult | undefined {
    const path = join(this.dir, `${id}.json`);
    if (!existsSync(path)) return undefined;
    try {
      const cell = JSON.parse(readFileSync(path, "utf8")) as CellResult;
      return cell.hash === hash && cell.id === id ? cell : undefined;
    } catch {
      return undefined;
    }
  }
  put(cell: CellResult): void {
    writeFileAtomic(join(this.dir, `${cell.id}.json`), `${JSON.stringify(cell)}\n`);
  }
}

/** Parses a comma-separated list of numbers ≥ 0, naming the option in the error. */
export function numberList(name: string, raw: string): number[] {
  const out = raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map(Number);
  for (const v of out)
    if (!Number.isFinite(v) || v < 0)
      throw new RobustMetricError(
        "BAD_INPUT",
        `${name} must be a comma-separated list of numbers ≥ 0, got '${raw}'`,
      );
  return out;
}

/** The results.json document of an experiment. */
export function resultsDocument(res: ExperimentResult): ResultsDocument {
  return {
    version: RUNNER_VERSION,
    config: res.config,
    datasets: res.datasets,
    methods: res.config.methods,
    cells: res.cells,
  };
}

function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${Math.round(s % 60)}s` : `${s.toFixed(1)}s`;
}

interface BenchOpts {
  suite: string;
  dataDir: string;
  methods: string;
  splits: string;
  testSize: string;
  seed: string;
  tune: string;
  noise: string;
  noiseRepeats: string;
  radii: string;
  k: string;
  preprocess: string;
  transductive?: boolean;
  param: string[];
  out: string;
  report?: string;
  png?: boolean;
  quiet?: boolean;
  only?: string;
  threads?: string;
}

/** Options of {@link runBench}: the CLI's, parsed. */
export interface BenchRun {
  datasets: Dataset[];
  config: ExperimentConfig;
  out: string;
  report?: string;
  png?: boolean;
  /** Progress lines / bar on stderr (default true). */
  progress?: boolean;
  /** Worker threads (default: the machine's available parallelism; 1 = this thread). */
  threads?: number;
}

/**
 * Runs an experiment with cells stored under `<out>/cells/`, then writes `<out>/results.json` and
 * `<out>/results.md` (atomically) and, on request, the HTML report. Returns the experiment.
 */
export async function runBench(run: BenchRun): Promise<ExperimentResult> {
  // a bad method or parameter must fail before the output folder exists
  checkExperiment(run.datasets, run.config);
  const store = new FileCellStore(join(run.out, "cells"));
  const bar = run.progress === false ? undefined : progress("bench");
  const tty = Boolean(process.stderr.isTTY) && !process.env.CI;
  const t0 = performance.now();
  let computeSeconds = 0;
  let lastLine = 0;
  const onCell: CellProgress = ({ done, total, computed, skipped, cell }) => {
    if (run.progress === false) return;
    bar?.update(done, total);
    if (computed > 0 && cell.seconds !== undefined) computeSeconds = (performance.now() - t0) / 1000;
    if (!tty) {
      const now = performance.now();
      if (now - lastLine > 5000 || done === total) {
        lastLine = now;
        const left = total - done;
        const eta = computed > 0 ? (computeSeconds / computed) * left : Number.NaN;
        process.stderr.write(
          `bench: ${done}/${total} cells (${skipped} reused), elapsed ${fmtDuration((now - t0) / 1000)}, ETA ${fmtDuration(eta)}\n`,
        );
      }
    }
  };
  // Ctrl-C / SIGTERM: the handler runs only between synchronous steps — after a cell file is written, never while
  // (Node's default action ended the process at once, sometimes inside a write, leaving its temporary file). The
  // cells are computed in a worker thread (or in this thread, returning to the event loop between cells), so the
  // handler runs promptly, and it exits at once with the shell's status for the signal.
  const onSignal = (sig: NodeJS.Signals) => {
    bar?.stop();
    process.exit(128 + (sig === "SIGINT" ? 2 : 15));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const res = await runExperimentParallel(run.datasets, run.config, store, {
      onCell,
      isolate: true,
      ...(run.threads !== undefined ? { threads: run.threads } : {}),
    });
    bar?.stop();
    const doc = resultsDocument(res);
    writeFileAtomic(join(run.out, "results.json"), `${JSON.stringify(doc, null, 1)}\n`);
    writeFileAtomic(join(run.out, "results.md"), resultsMarkdown(doc));
    if (run.report || run.png) {
      await writeReport(doc, run.report, run.png ? join(run.out, "figures") : undefined);
    }
    return res;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** Writes the HTML report and/or the PNG figures of a results document. */
export async function writeReport(doc: ResultsDocument, html?: string, pngDir?: string): Promise<void> {
  // loaded on demand: vega and resvg are only needed for the report
  const { renderFigures, reportHtml } = await import("../report/html.js");
  const figures = await renderFigures(doc);
  if (html) {
    const dir = dirname(resolve(html));
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    writeFileAtomic(html, await reportHtml(doc, figures));
  }
  if (pngDir) {
    const { svgToPng } = await import("../report/png.js");
    mkdirSync(pngDir, { recursive: true });
    for (const f of figures) {
      writeFileAtomic(join(pngDir, `${f.id}.png`), svgToPng(f.svg));
      writeFileAtomic(join(pngDir, `${f.id}.svg`), f.svg);
    }
  }
}

/** The terminal summary: accuracy mean ± std per data set and method. */
export function formatBenchSummary(doc: ResultsDocument): string {
  const t = comparisonTable(doc, "accuracy", (c) => c.accuracy);
  const rows = [["data set", ...t.methods]];
  t.datasets.forEach((ds, d) => {
    rows.push([
      ds,
      ...t.entries[d]!.map((e) =>
        e ? `${(100 * e.mean).toFixed(2)} ± ${(100 * e.std).toFixed(2)}${e.best ? " *" : ""}` : "-",
      ),
    ]);
  });
  rows.push(["average rank", ...t.averageRank.map((r) => (Number.isNaN(r) ? "-" : r.toFixed(2)))]);
  return table(rows);
}

/** `robust-metric bench`: the papers' protocol over a suite of data sets, resumable. */
export function register(program: Command): void {
  program
    .command("bench")
    .description(
      "compare methods over a suite of data sets (random splits, CV tuning, noise and certified curves); resumable",
    )
    .option(
      "--suite <name|folder|files>",
      "uci16, large, embedded, a folder of CSVs, or a comma-separated file list",
      "embedded",
    )
    .option(
      "--data-dir <dir>",
      "folder of the suite's CSV files (uci16, large: <name>.csv there)",
      "datasets",
    )
    .option("--only <names>", "run only these data sets of the suite (comma-separated names)")
    .option("--methods <list>", "comma-separated methods", "euclidean,lmnn,lmnn-pl")
    .option("--splits <n>", "random splits per data set", String(DEFAULT_CONFIG.nSplits))
    .option("--test-size <f>", "test fraction", String(DEFAULT_CONFIG.testSize))
    .option("--seed <n>", "seed of the splits, folds and learners", String(DEFAULT_CONFIG.seed))
    .option("--tune <spec>", "none, or cvK:N (K-fold CV over N candidates per method)", "none")
    .option("--noise <list>", "Gaussian noise levels (× feature std)", DEFAULT_CONFIG.noise.join(","))
    .option("--noise-repeats <n>", "noise draws per level", String(DEFAULT_CONFIG.noiseRepeats))
    .option("--radii <list>", "radii of the certified-accuracy curve", DEFAULT_CONFIG.radii.join(","))
    .option("--k <n>", "k of the k-NN classifier (1: exact certification)", String(DEFAULT_CONFIG.k))
    .option(
      "--preprocess <kind>",
      "none, standardize, unitnorm, standardize+unitnorm",
      DEFAULT_CONFIG.preprocess,
    )
    .option("--transductive", "fit the preprocessing on all rows (the perturbation-loss authors' protocol)")
    .option("--param <method.name=value>", "fixed hyper-parameter (repeatable; not tuned)", collect, [])
    .requiredOption("--out <dir>", "output folder (cells/, results.json, results.md)")
    .option("--report <file>", "also write the self-contained HTML report here")
    .option("--png", "also write the figures as PNG under <out>/figures/")
    .option("--threads <n>", "worker threads (default: all cores; results are identical with any number)")
    .option("--quiet", "no progress on stderr")
    .action(async (o: BenchOpts) => {
      const methods = o.methods
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      const seed = Number(o.seed);
      if (!Number.isInteger(seed))
        throw new RobustMetricError("BAD_INPUT", `--seed must be an integer, got '${o.seed}'`);
      const config: ExperimentConfig = {
        methods,
        nSplits: intOption("--splits", o.splits, 20),
        testSize: fractionOption("--test-size", o.testSize, 0.3),
        seed,
        preprocess: parsePreprocessKind(o.preprocess),
        transductive: Boolean(o.transductive),
        k: intOption("--k", o.k, 3),
        params: parseParams(o.param),
        tune: parseTuneSpec(o.tune),
        noise: numberList("--noise", o.noise),
        noiseRepeats: intOption("--noise-repeats", o.noiseRepeats, 5),
        radii: numberList("--radii", o.radii),
      };
      if (config.tune.candidates === 0) config.tune = { folds: 0, candidates: 0 };
      const datasets = resolveSuite(o.suite, resolve(o.dataDir), o.only);
      const res = await runBench({
        datasets,
        config,
        out: o.out,
        ...(o.report ? { report: o.report } : {}),
        ...(o.png ? { png: true } : {}),
        progress: !o.quiet,
        ...(o.threads !== undefined ? { threads: intOption("--threads", o.threads, 1) } : {}),
      });
      const doc = resultsDocument(res);
      process.stdout.write(
        `${formatBenchSummary(doc)}\n\n${res.computed} cells computed, ${res.skipped} reused; wrote ${join(o.out, "results.json")} and ${join(o.out, "results.md")}${o.report ? ` and ${o.report}` : ""}\n`,
      );
    });
}
