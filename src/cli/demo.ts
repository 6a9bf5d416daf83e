import type { Command } from "commander";
import { blobs, iris } from "../data/embedded.js";
import { type EvaluateReport, evaluateMethods } from "../eval/evaluate.js";
import { learnerNames } from "../learners/registry.js";
import { progress } from "./common.js";
import { formatReport } from "./eval.js";

/** Methods the demo shows, in this order, when they are registered. */
export const DEMO_METHODS = ["euclidean", "lmnn", "lmnn-pl", "nca", "itml", "gmml", "aml", "arml"];

/** `robust-metric demo`: the main job on embedded data, in well under a minute. */
export function register(program: Command): void {
  program
    .command("demo")
    .description(
      "compare the learners on embedded data: iris, and Gaussian blobs with 2 informative and 4 noise features",
    )
    .option("--splits <n>", "number of random 70/30 splits", "10")
    .option("--json", "print the eval JSON (one object per line, one line per data set)")
    .action((o: { splits: string; json?: boolean }) => {
      const available = new Set(learnerNames());
      const methods = DEMO_METHODS.filter((m) => available.has(m));
      const nSplits = Number(o.splits);
      const sets = [iris(), blobs({ n: 300, classes: 3, d: 2, overlap: 1.2, noiseFeatures: 4, seed: 1 })];
      const reports: EvaluateReport[] = [];
      for (const ds of sets) {
        const bar = progress(ds.name ?? "demo");
        reports.push(evaluateMethods(ds, { methods, nSplits, seed: 0, onCell: (d, t) => bar.update(d, t) }));
        bar.stop();
      }
      if (o.json) for (const r of reports) process.stdout.write(`${JSON.stringify(r)}\n`);
      else process.stdout.write(`${reports.map(formatReport).join("\n\n")}\n`);
    });
}
