import type { Dataset } from "../data/dataset.js";
import { type PreprocessKind, Preprocessor } from "../data/preprocess.js";
import { Rng } from "../data/rng.js";
import { randomSplit, type Split } from "../data/splits.js";
import { RobustMetricError } from "../errors.js";
import { getLearner, resolveParams } from "../learners/index.js";
import type { ParamValues } from "../learners/types.js";
import { type Mat, selectRows } from "../linalg/mat.js";
import { KNeighborsClassifier } from "../neighbors/knn.js";
import { mean, median, std } from "./stats.js";

/** Options of {@link evaluateMethods}; every field has the CLI's default. */
export interface EvaluateOptions {
  /** Method names from the learner registry, e.g. ["euclidean", "lmnn"]. */
  methods: string[];
  /** Explicit splits (e.g. from a splits file). When absent, `nSplits` random splits are drawn from `seed`. */
  splits?: Split[];
  /** Number of random splits (default 20). */
  nSplits?: number;
  /** Test fraction of random splits (default 0.3). */
  testSize?: number;
  /** Seed of the splits and of every learner's randomness (default 0). */
  seed?: number;
  /** Preprocessing, fitted on the training rows of each split (default "standardize"). */
  preprocess?: PreprocessKind;
  /** Fit the preprocessing on all rows (the perturbation-loss authors' protocol; default false). */
  transductive?: boolean;
  /** k of the k-NN classifier (default 3). */
  k?: number;
  /** Hyper-parameters per method: { lmnn: { mu: "0.3" } }; validated against each learner's declarations. */
  params?: Record<string, Record<string, unknown>>;
  /** Called after each (split, method) cell. */
  onCell?: (done: number, total: number) => void;
}

export interface SplitResult {
  split: number;
  accuracy: number;
  fitSeconds: number;
  iterations: number;
  converged: boolean;
}

export interface MethodResult {
  method: string;
  params: ParamValues;
  accuracy: { mean: number; std: number };
  fitSeconds: { median: number };
  splits: SplitResult[];
  warnings: string[];
}

/** The `eval --json` document. */
export interface EvaluateReport {
  dataset: string;
  n: number;
  d: number;
  classes: number;
  k: number;
  methods: MethodResult[];
}

/**
 * The seed of the learner's random stream for one split: a function of (seed, split) only, so that adding or
 * removing a method never changes another method's result.
 */
export function splitSeed(seed: number, split: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x01000193) + Math.imul(split + 1, 0x27d4eb2d)) | 0;
}

/**
 * Draws `nSplits` random (unstratified) train/test splits from one seeded stream, as the perturbation-loss
 * authors' protocol does.
 */
export function randomSplits(n: number, nSplits: number, testSize: number, seed: number): Split[] {
  const rng = new Rng(seed);
  const out: Split[] = [];
  for (let s = 0; s < nSplits; s++) out.push(randomSplit(n, testSize, rng));
  return out;
}

/**
 * Fits each method on the training part of each split (after preprocessing fitted on the training rows, or on
 * all rows when `transductive`), classifies the test part with k-NN under the learned metric, and reports
 * accuracy (mean, std with N − 1), median fit time, iterations and convergence per split.
 *
 * @throws RobustMetricError BAD_INPUT for an unknown method or parameter (listing the valid ones), k < 1, or a
 *   split whose indices do not fit the data set.
 * @example
 * const report = evaluateMethods(iris(), { methods: ["euclidean", "lmnn"], nSplits: 5 });
 * report.methods[1].accuracy.mean;
 */
export function evaluateMethods(ds: Dataset, opts: EvaluateOptions): EvaluateReport {
  const k = opts.k ?? 3;
  const seed = opts.seed ?? 0;
  const preprocess = opts.preprocess ?? "standardize";
  if (!Number.isInteger(k) || k < 1)
    throw new RobustMetricError("BAD_INPUT", `k must be a positive integer, got ${k}`);
  if (opts.methods.length === 0) throw new RobustMetricError("BAD_INPUT", "no methods given");
  const learners = opts.methods.map((m) => getLearner(m));
  for (const name of Object.keys(opts.params ?? {})) {
    if (!opts.methods.includes(name)) {
      throw new RobustMetricError(
        "BAD_INPUT",
        `parameters given for method '${name}', which is not among the methods evaluated (${opts.methods.join(", ")})`,
      );
    }
  }
  const resolved = learners.map((l) => resolveParams(l, opts.params?.[l.name]));
  const splits = opts.splits ?? randomSplits(ds.X.rows, opts.nSplits ?? 20, opts.testSize ?? 0.3, seed);
  const nClasses = ds.classes.length;
  const perMethod: SplitResult[][] = learners.map(() => []);
  const warnings: string[][] = learners.map(() => []);
  const total = splits.length * learners.length;
  let done = 0;

  splits.forEach((split, s) => {
    const { Xtr, Xte, ytr, yte } = prepareSplit(ds, split, preprocess, opts.transductive ?? false);
    learners.forEach((learner, m) => {
      const t0 = performance.now();
      const fit = learner.fit(Xtr, ytr, resolved[m]!, { rng: new Rng(splitSeed(seed, s)) });
      const fitSeconds = (performance.now() - t0) / 1000;
      const knn = new KNeighborsClassifier({ k, metric: fit.metric }).fit(Xtr, ytr, nClasses);
      const accuracy = knn.score(Xte, yte);
      perMethod[m]!.push({
        split: s + 1,
        accuracy,
        fitSeconds,
        iterations: fit.iterations,
        converged: fit.converged,
      });
      for (const w of fit.warnings) if (!warnings[m]!.includes(w)) warnings[m]!.push(w);
      opts.onCell?.(++done, total);
    });
  });

  return {
    dataset: ds.name ?? "data",
    n: ds.X.rows,
    d: ds.X.cols,
    classes: nClasses,
    k,
    methods: learners.map((l, m) => {
      const rows = perMethod[m]!;
      const acc = rows.map((r) => r.accuracy);
      return {
        method: l.name,
        params: resolved[m]!,
        accuracy: { mean: mean(acc), std: std(acc) },
        fitSeconds: { median: median(rows.map((r) => r.fitSeconds)) },
        splits: rows,
        warnings: warnings[m]!,
      };
    }),
  };
}

/** One split's data after preprocessing: what every method of a split is fitted and scored on. */
export interface PreparedSplit {
  pre: Preprocessor;
  Xtr: Mat;
  Xte: Mat;
  ytr: Int32Array;
  yte: Int32Array;
}

/**
 * The training and test rows of a split after preprocessing fitted on the training rows (or on all rows when
 * `transductive`, the perturbation-loss authors' protocol), with their labels. Used by {@link evaluateMethods}
 * and the experiment runner.
 *
 * @throws RobustMetricError BAD_INPUT for split indices out of range.
 * @example
 * const { Xtr, ytr, Xte, yte } = prepareSplit(iris(), randomSplits(150, 1, 0.3, 0)[0]!, "standardize", false);
 */
export function prepareSplit(
  ds: Dataset,
  split: Split,
  preprocess: PreprocessKind,
  transductive: boolean,
): PreparedSplit {
  const pre = Preprocessor.fit(transductiveOrTrain(ds, split, transductive), preprocess);
  const Xtr = pre.apply(selectRows(ds.X, split.train));
  const Xte = pre.apply(selectRows(ds.X, split.test));
  const ytr = pickLabels(ds.y, split.train);
  const yte = pickLabels(ds.y, split.test);
  return { pre, Xtr, Xte, ytr, yte };
}

function transductiveOrTrain(ds: Dataset, split: Split, transductive: boolean) {
  return transductive ? ds.X : selectRows(ds.X, split.train);
}

/** y restricted to the given rows, in their order. */
export function pickLabels(y: Int32Array, idx: ArrayLike<number>): Int32Array {
  const out = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i]!;
    if (r < 0 || r >= y.length)
      throw new RobustMetricError("BAD_INPUT", `split index ${r} is out of range for ${y.length} rows`);
    out[i] = y[r]!;
  }
  return out;
}
