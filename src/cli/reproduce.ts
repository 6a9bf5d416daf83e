import type { Command } from "commander";
import { RobustMetricError } from "../errors.js";
import { mean, std } from "../eval/stats.js";
import type { LmnnPlTerms } from "../learners/lmnn-pl.js";
import {
  type LmnnPlSplitResult,
  parseLmnnPlReference,
  reproduceLmnnPlSplit,
  transductive,
} from "../learners/lmnn-pl-reference.js";
import { readTextFile } from "../node/read.js";
import { progress, table } from "./common.js";

interface ReproduceOpts {
  reference: string;
  lambda?: string;
  splits?: string;
  json?: boolean;
}

/** The experiments `reproduce` knows. */
const EXPERIMENTS = ["lmnnpl"] as const;

/** Parses "1,2,7" or "1-5,9" into split numbers within 1..count. */
function parseSplitList(raw: string | undefined, count: number): number[] {
  if (raw === undefined) return Array.from({ length: count }, (_, s) => s + 1);
  const out: number[] = [];
  for (const part of raw.split(",").map((s) => s.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    const a = m ? Number(m[1]) : Number.NaN;
    const b = m?.[2] !== undefined ? Number(m[2]) : a;
    if (!m || a < 1 || b > count || b < a) {
      throw new RobustMetricError(
        "BAD_INPUT",
        `--splits '${raw}': '${part}' is not a split number or range within 1..${count}`,
      );
    }
    for (let s = a; s <= b; s++) if (!out.includes(s)) out.push(s);
  }
  return out;
}

const fmt = (x: number, d = 6) => x.toFixed(d);
const termsJson = (t: LmnnPlTerms) => ({
  pull: t.pull,
  hinge: t.hinge,
  perturbation: t.perturbation,
  total: t.total,
});

/** The human-readable report: one row per split, then mean ± std of the accuracy. */
function formatReport(rows: LmnnPlSplitResult[], lambdaOverride: number | undefined): string {
  const head = [
    "split",
    "mu",
    "lambda",
    "tau",
    "accuracy",
    "iters",
    "F(I) pull",
    "hinge",
    "perturb.",
    "total",
    "F(end) pull",
    "hinge",
    "perturb.",
    "total",
  ];
  const body = rows.map((r) => [
    String(r.split),
    fmt(r.mu, 4),
    fmt(r.lambda, 4),
    fmt(r.tau, 4),
    `${fmt(r.accuracy, 4)} (${r.correct}/${r.nTest})`,
    `${r.iterations}${r.converged ? "" : "*"}`,
    fmt(r.objectiveAtIdentity.pull),
    fmt(r.objectiveAtIdentity.hinge),
    fmt(r.objectiveAtIdentity.perturbation),
    fmt(r.objectiveAtIdentity.total),
    fmt(r.objectiveFinal.pull),
    fmt(r.objectiveFinal.hinge),
    fmt(r.objectiveFinal.perturbation),
    fmt(r.objectiveFinal.total),
  ]);
  const acc = rows.map((r) => r.accuracy);
  const method = lambdaOverride === undefined ? "LMNN-PL" : `LMNN-PL with lambda = ${lambdaOverride}`;
  const notConverged = rows.some((r) => !r.converged)
    ? ["* stopped at the iteration cap, not converged"]
    : [];
  return [
    `${method}, faithful mode, transductive standardize + unit norm, ${rows.length} stored split(s), 3-NN`,
    table([head, ...body]),
    ...notConverged,
    `accuracy: mean ${fmt(mean(acc), 4)} ± std ${fmt(std(acc), 4)} (N − 1) over ${rows.length} split(s)`,
  ].join("\n");
}

/**
 * `robust-metric reproduce lmnnpl --reference FILE [--lambda x] [--splits list] [--json]`: runs the LMNN-PL
 * authors' protocol on their stored splits and tuned (μ, λ, τ) and prints, per split, the 3-NN test accuracy, the
 * iterations and the objective's terms at M = I and at the end, then the mean ± std of the accuracy. With `--json`
 * stdout is one object {splits: [{split, accuracy, iterations, objectiveAtIdentity: {pull, hinge, perturbation,
 * total}, objectiveFinal: {pull, hinge, perturbation, total}}], accuracy: {mean, std}}.
 */
export function register(program: Command): void {
  program
    .command("reproduce")
    .description("reproduce a paper's experiment from its reference file (lmnnpl: the LMNN-PL authors' demo)")
    .argument("<experiment>", `one of: ${EXPERIMENTS.join(", ")}`)
    .requiredOption(
      "--reference <file>",
      "reference JSON {X, y, splits, parOpt, constants} (lmnnpl-australian.json)",
    )
    .option("--lambda <x>", "replace every split's λ (0: the authors' LMNN baseline)")
    .option("--splits <list>", "1-based splits to run, e.g. 1,2,7 or 1-5 (default: all)")
    .option("--json", "print one JSON object on stdout")
    .action((experiment: string, o: ReproduceOpts) => {
      if (!(EXPERIMENTS as readonly string[]).includes(experiment)) {
        throw new RobustMetricError(
          "BAD_INPUT",
          `unknown experiment '${experiment}'; valid: ${EXPERIMENTS.join(", ")}`,
        );
      }
      let lambda: number | undefined;
      if (o.lambda !== undefined) {
        lambda = Number(o.lambda);
        if (o.lambda.trim() === "" || !Number.isFinite(lambda) || lambda < 0)
          throw new RobustMetricError("BAD_INPUT", `--lambda must be a number ≥ 0, got '${o.lambda}'`);
      }
      const ref = parseLmnnPlReference(readTextFile(o.reference));
      const which = parseSplitList(o.splits, ref.splits.length);
      const Z = transductive(ref);
      const bar = progress("reproduce");
      const rows: LmnnPlSplitResult[] = [];
      for (const s of which) {
        rows.push(
          reproduceLmnnPlSplit(ref, s, { preprocessed: Z, ...(lambda === undefined ? {} : { lambda }) }),
        );
        bar.update(rows.length, which.length);
      }
      bar.stop();
      const acc = rows.map((r) => r.accuracy);
      if (o.json) {
        const doc = {
          splits: rows.map((r) => ({
            split: r.split,
            accuracy: r.accuracy,
            iterations: r.iterations,
            objectiveAtIdentity: termsJson(r.objectiveAtIdentity),
            objectiveFinal: termsJson(r.objectiveFinal),
          })),
          accuracy: { mean: mean(acc), std: std(acc) },
        };
        process.stdout.write(`${JSON.stringify(doc)}\n`);
        return;
      }
      process.stdout.write(`${formatReport(rows, lambda)}\n`);
    });
}
