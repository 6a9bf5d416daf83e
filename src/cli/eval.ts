import type { Command } from "commander";
import { parsePreprocessKind } from "../data/preprocess.js";
import { parseSplitsFile } from "../data/splits.js";
import { RobustMetricError } from "../errors.js";
import { type EvaluateReport, evaluateMethods } from "../eval/evaluate.js";
import { readDataset, readTextFile } from "../node/read.js";
import { collect, fractionOption, intOption, parseParams, progress, table } from "./common.js";

/** The human-readable eval table: one row per method. */
export function formatReport(r: EvaluateReport): string {
  const nSplits = r.methods[0]?.splits.length ?? 0;
  const rows = [["method", "accuracy (mean ± std)", "fit s (median)", "converged"]];
  for (const m of r.methods) {
    const conv = m.splits.filter((s) => s.converged).length;
    rows.push([
      m.method,
      `${(m.accuracy.mean * 100).toFixed(2)} ± ${(m.accuracy.std * 100).toFixed(2)} %`,
      m.fitSeconds.median.toFixed(4),
      `${conv}/${m.splits.length}`,
    ]);
  }
  const head = `${r.dataset}: n = ${r.n}, d = ${r.d}, ${r.classes} classes, ${r.k}-NN, ${nSplits} splits`;
  const warn = r.methods.flatMap((m) => m.warnings.map((w) => `warning (${m.method}): ${w}`));
  return [head, table(rows), ...warn].join("\n");
}

interface EvalOpts {
  data: string;
  methods: string;
  splits?: string;
  testSize?: string;
  seed?: string;
  splitsFile?: string;
  preprocess: string;
  transductive?: boolean;
  k?: string;
  label?: string;
  param: string[];
  json?: boolean;
}

/** `robust-metric eval`: compare methods over repeated train/test splits. */
export function register(program: Command): void {
  program
    .command("eval")
    .description("compare methods by k-NN test accuracy over repeated train/test splits")
    .requiredOption("--data <file>", "labelled data (CSV with a header, or JSON {X, y})")
    .option("--methods <list>", "comma-separated methods", "euclidean")
    .option("--splits <n>", "number of random 70/30 splits", "20")
    .option("--test-size <f>", "test fraction of random splits", "0.3")
    .option("--seed <n>", "seed of the splits and the learners", "0")
    .option("--splits-file <file>", "use stored splits {splits: [{train, test}]} (0-based rows) instead")
    .option("--preprocess <kind>", "none | standardize | unitnorm | standardize+unitnorm", "standardize")
    .option("--transductive", "fit the preprocessing on all rows (the LMNN-PL authors' protocol)")
    .option("--k <n>", "k of the k-NN classifier", "3")
    .option("--label <column>", "label column name (default: the last column)")
    .option("--param <method.name=value>", "a method's hyper-parameter (repeatable)", collect, [])
    .option("--json", "print one JSON object on stdout")
    .action((o: EvalOpts) => {
      const methods = o.methods
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      if (methods.length === 0) throw new RobustMetricError("BAD_INPUT", "--methods is empty");
      const ds = readDataset(o.data, o.label === undefined ? {} : { label: o.label });
      const splits = o.splitsFile ? parseSplitsFile(readTextFile(o.splitsFile), ds.X.rows) : undefined;
      const bar = progress("eval");
      const report = evaluateMethods(ds, {
        methods,
        ...(splits ? { splits } : {}),
        nSplits: intOption("--splits", o.splits, 20),
        testSize: fractionOption("--test-size", o.testSize, 0.3),
        seed: intOption("--seed", o.seed, 0, -(2 ** 31)),
        preprocess: parsePreprocessKind(o.preprocess),
        transductive: o.transductive ?? false,
        k: intOption("--k", o.k, 3),
        params: parseParams(o.param),
        onCell: (d, t) => bar.update(d, t),
      });
      bar.stop();
      process.stdout.write(o.json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`);
    });
}
