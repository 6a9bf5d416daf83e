import type { Command } from "commander";
import { Preprocessor, parsePreprocessKind } from "../data/preprocess.js";
import { Rng } from "../data/rng.js";
import { buildModel, serializeModel } from "../learners/model.js";
import { getLearner, resolveParams } from "../learners/registry.js";
import { readDataset, writeFileAtomic } from "../node/read.js";
import { collect, intOption, parseParams } from "./common.js";

interface FitOpts {
  train: string;
  method: string;
  preprocess: string;
  label?: string;
  param: string[];
  seed?: string;
  out: string;
  json?: boolean;
}

/** `robust-metric fit`: learn a metric on a training file and write the model file atomically. */
export function register(program: Command): void {
  program
    .command("fit")
    .description("learn a metric from a labelled CSV/JSON file and write a model file")
    .requiredOption("--train <file>", "training data (CSV with a header; label column last unless --label)")
    .option("--method <name>", "learning method (see `robust-metric methods`)", "euclidean")
    .option("--preprocess <kind>", "none | standardize | unitnorm | standardize+unitnorm", "standardize")
    .option("--label <column>", "label column name (default: the last column)")
    .option("--param <name=value>", "hyper-parameter of the method (repeatable)", collect, [])
    .option("--seed <n>", "seed of the method's randomness", "0")
    .requiredOption("--out <file>", "model file to write (JSON)")
    .option("--json", "print the fit summary as JSON")
    .action((o: FitOpts) => {
      const learner = getLearner(o.method);
      const params = resolveParams(learner, parseParams(o.param, o.method)[o.method] ?? {});
      const ds = readDataset(o.train, o.label === undefined ? {} : { label: o.label });
      const pre = Preprocessor.fit(ds.X, parsePreprocessKind(o.preprocess));
      const X = pre.apply(ds.X);
      const t0 = performance.now();
      const fit = learner.fit(X, ds.y, params, { rng: new Rng(intOption("--seed", o.seed, 0, -(2 ** 31))) });
      fit.seconds = (performance.now() - t0) / 1000;
      const file = buildModel({
        learner: learner.name,
        fit,
        preprocessor: pre,
        training: { n: ds.X.rows, classes: ds.classes, featureNames: ds.featureNames },
      });
      writeFileAtomic(o.out, serializeModel(file));
      const summary = {
        method: learner.name,
        out: o.out,
        n: ds.X.rows,
        d: ds.X.cols,
        classes: ds.classes.length,
        iterations: fit.iterations,
        converged: fit.converged,
        seconds: fit.seconds,
        params: fit.params,
        warnings: fit.warnings,
      };
      if (o.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else {
        process.stdout.write(
          `fitted ${learner.name} on ${ds.X.rows} rows × ${ds.X.cols} features, ${ds.classes.length} classes: ` +
            `${fit.iterations} iterations, ${fit.converged ? "converged" : "NOT converged"}, ${fit.seconds.toFixed(3)} s\n` +
            `model written to ${o.out}\n`,
        );
        for (const w of fit.warnings) process.stderr.write(`warning: ${w}\n`);
      }
    });
}
