// The LMNN-PL authors' experimental protocol on their stored data (reference/lmnnpl-reference.md §1, `demo.m`):
// transductive standardize + unit-norm preprocessing of all rows, the stored train/test splits, the stored
// (μ, λ, τ) of each split, faithful LMNN-PL, 3-NN test accuracy with their tie rule.
import type { Dataset } from "../data/dataset.js";
import { parseJsonData } from "../data/json-data.js";
import { Preprocessor } from "../data/preprocess.js";
import { parseSplitsFile, type Split } from "../data/splits.js";
import { RobustMetricError } from "../errors.js";
import { type Mat, selectRows } from "../linalg/mat.js";
import { KNeighborsClassifier } from "../neighbors/knn.js";
import { fitLmnnPl, type LmnnPlCounts, type LmnnPlTerms, lmnnPl } from "./lmnn-pl.js";
import { resolveParams } from "./registry.js";

/** A reference file such as lmnnpl-australian.json, read and checked. */
export interface LmnnPlReference {
  data: Dataset;
  splits: Split[];
  /** (μ, λ, τ) per split, in split order (the authors' `Par_opt`). */
  parOpt: Array<{ mu: number; lambda: number; tau: number }>;
  /** Solver and triplet constants (the authors' `pars`). */
  k: number;
  v: number;
  maxIter: number;
  eta: number;
}

/**
 * Reads a reference file `{X, y, splits: [{train, test}], parOpt: [[μ, λ, τ], ...], constants?: {k, v, max_iter,
 * eta, alpha, eps}}` (lmnnpl-australian.json). Missing constants take the authors' values (k 3, v 10, max_iter
 * 1000, eta 1e−7); alpha and eps, when present, must be the authors' 1 and 1e−10 (the only ones implemented).
 *
 * @throws RobustMetricError BAD_INPUT naming the field: invalid JSON or data (see parseJsonData, parseSplitsFile),
 *   parOpt missing, of the wrong length or with an out-of-range value, unsupported constants.
 * @example const ref = parseLmnnPlReference(readTextFile("lmnnpl-australian.json"));
 */
export function parseLmnnPlReference(text: string): LmnnPlReference {
  const data = parseJsonData(text, { name: "reference" });
  const splits = parseSplitsFile(text, data.X.rows);
  const doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as Record<string, unknown>;
  const par = doc.parOpt;
  if (!Array.isArray(par) || par.length !== splits.length) {
    throw new RobustMetricError(
      "BAD_INPUT",
      `reference file: 'parOpt' must hold one [mu, lambda, tau] per split (${splits.length}), got ${
        Array.isArray(par) ? par.length : typeof par
      }`,
    );
  }
  const parOpt = par.map((row, s) => {
    const ok =
      Array.isArray(row) &&
      row.length === 3 &&
      row.every((v) => typeof v === "number" && Number.isFinite(v)) &&
      row[0] >= 0 &&
      row[0] <= 1 &&
      row[1] >= 0 &&
      row[2] >= 0;
    if (!ok) {
      throw new RobustMetricError(
        "BAD_INPUT",
        `reference file: parOpt[${s}] = ${JSON.stringify(row)} is not [mu in [0, 1], lambda ≥ 0, tau ≥ 0]`,
      );
    }
    return { mu: row[0] as number, lambda: row[1] as number, tau: row[2] as number };
  });
  const c = (doc.constants ?? {}) as Record<string, unknown>;
  const num = (name: string, def: number, integer: boolean): number => {
    const v = c[name] ?? def;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
      throw new RobustMetricError(
        "BAD_INPUT",
        `reference file: constants.${name} = ${JSON.stringify(v)} must be a positive ${integer ? "integer" : "number"}`,
      );
    }
    return v;
  };
  for (const [name, authors] of [
    ["alpha", 1],
    ["eps", 1e-10],
  ] as const) {
    if (c[name] !== undefined && c[name] !== authors) {
      throw new RobustMetricError(
        "BAD_INPUT",
        `reference file: constants.${name} = ${JSON.stringify(c[name])}; only the authors' ${authors} is implemented`,
      );
    }
  }
  return {
    data,
    splits,
    parOpt,
    k: num("k", 3, true),
    v: num("v", 10, true),
    maxIter: num("max_iter", 1000, true),
    eta: num("eta", 1e-7, false),
  };
}

/** One split of the protocol. */
export interface LmnnPlSplitResult {
  /** 1-based, as the authors number them. */
  split: number;
  mu: number;
  lambda: number;
  tau: number;
  /** 3-NN test accuracy and the number of correct test points. */
  accuracy: number;
  correct: number;
  nTest: number;
  iterations: number;
  converged: boolean;
  objectiveAtIdentity: LmnnPlTerms;
  objectiveFinal: LmnnPlTerms;
  countsAtIdentity: LmnnPlCounts;
  countsFinal: LmnnPlCounts;
  /** Whole fit, and the solver alone (the authors' timing). */
  seconds: number;
  solverSeconds: number;
}

/**
 * Runs split `split` (1-based) of the authors' protocol: preprocessing fitted on all rows (their transductive
 * `data_preprocess`), faithful LMNN-PL with the split's stored (μ, λ, τ) — λ replaced by `opts.lambda` when given
 * (λ = 0: their LMNN baseline) — and 3-NN on the test rows under the learned metric. `opts.preprocessed` passes
 * {@link transductive}(ref) computed once for many splits.
 *
 * @throws RobustMetricError BAD_INPUT for a split number out of range, and as fitLmnnPl.
 * @example const r = reproduceLmnnPlSplit(ref, 1); // r.accuracy, r.iterations, r.objectiveAtIdentity.total
 */
export function reproduceLmnnPlSplit(
  ref: LmnnPlReference,
  split: number,
  opts: { lambda?: number; preprocessed?: Mat } = {},
): LmnnPlSplitResult {
  const sp = ref.splits[split - 1];
  const par = ref.parOpt[split - 1];
  if (!Number.isInteger(split) || !sp || !par) {
    throw new RobustMetricError(
      "BAD_INPUT",
      `split ${split} does not exist: the reference file has splits 1..${ref.splits.length}`,
    );
  }
  const { y } = ref.data;
  const Z = opts.preprocessed ?? transductive(ref);
  const Xtr = selectRows(Z, sp.train);
  const ytr = Int32Array.from(sp.train, (i) => y[i]!);
  const lambda = opts.lambda ?? par.lambda;
  const params = resolveParams(lmnnPl, {
    mu: par.mu,
    lambda,
    tau: lambda > 0 ? par.tau : 0,
    k: ref.k,
    v: ref.v,
    maxIter: ref.maxIter,
    eta: ref.eta,
    faithful: true,
  });
  const fit = fitLmnnPl(Xtr, ytr, params);
  const knn = new KNeighborsClassifier({ k: ref.k, metric: fit.metric }).fit(
    Xtr,
    ytr,
    ref.data.classes.length,
  );
  const pred = knn.predict(selectRows(Z, sp.test));
  let correct = 0;
  sp.test.forEach((i, t) => {
    if (pred[t] === y[i]) correct++;
  });
  return {
    split,
    mu: par.mu,
    lambda,
    tau: lambda > 0 ? par.tau : 0,
    accuracy: correct / sp.test.length,
    correct,
    nTest: sp.test.length,
    iterations: fit.iterations,
    converged: fit.converged,
    objectiveAtIdentity: fit.atIdentity,
    objectiveFinal: fit.final,
    countsAtIdentity: fit.countsAtIdentity,
    countsFinal: fit.countsFinal,
    seconds: fit.seconds,
    solverSeconds: fit.solverSeconds,
  };
}

/** All rows preprocessed with standardize + unit norm fitted on all rows (the authors' protocol). */
export function transductive(ref: LmnnPlReference): Mat {
  return Preprocessor.fit(ref.data.X, "standardize+unitnorm").apply(ref.data.X);
}
