// Hyper-parameter tuning by k-fold cross-validation on the training part of a split, over a fixed, seeded
// candidate set per method (docs/experiments.md lists the ranges). The test part is never seen here: the caller
// passes only training rows.

import { fixedTriplets, targetNeighbours } from "../constraints/neighbours.js";
import { Rng } from "../data/rng.js";
import { kFold } from "../data/splits.js";
import { RobustMetricError } from "../errors.js";
import { getLearner, resolveParams } from "../learners/registry.js";
import type { Learner, ParamValues } from "../learners/types.js";
import { type Mat, selectRows } from "../linalg/mat.js";
import { KNeighborsClassifier } from "../neighbors/knn.js";
import { pickLabels, splitSeed } from "./evaluate.js";
import { mean, median } from "./stats.js";

/**
 * One tuned dimension. `uniform` and `loguniform` draw the parameter in [lo, hi]; `margin` draws a factor
 * log-uniformly in [lo, hi] and multiplies it by the median Euclidean adversarial margin of the training part's
 * satisfied triplets at M = I ({@link medianTripletMargin}), so τ lives on the scale of the data's margins whatever
 * the preprocessing; `int` draws an integer uniformly in [lo, hi].
 */
export interface TuneDim {
  kind: "uniform" | "loguniform" | "margin" | "int";
  lo: number;
  hi: number;
}

/**
 * The tuned dimensions per method (this project's choice; the papers' grids are [UNKNOWN], see
 * reference/perturbation-loss.md §6 item 8 and aml.md §5 item 11). Methods not listed (euclidean, nca) are not
 * tuned: their only parameters are iteration caps and tolerances.
 */
export const TUNING_SPACES: Readonly<Record<string, Readonly<Record<string, TuneDim>>>> = {
  lmnn: { mu: { kind: "uniform", lo: 0.05, hi: 0.95 } },
  "lmnn-pl": {
    mu: { kind: "uniform", lo: 0.05, hi: 0.95 },
    lambda: { kind: "loguniform", lo: 0.1, hi: 1000 },
    tau: { kind: "margin", lo: 0.1, hi: 2 },
  },
  "nca-pl": {
    lambda: { kind: "loguniform", lo: 0.1, hi: 1000 },
    tau: { kind: "margin", lo: 0.1, hi: 2 },
  },
  itml: { gamma: { kind: "loguniform", lo: 0.01, hi: 100 } },
  gmml: { t: { kind: "uniform", lo: 0.05, hi: 0.95 }, ridge: { kind: "loguniform", lo: 1e-4, hi: 1e-1 } },
  aml: { alpha: { kind: "loguniform", lo: 0.1, hi: 100 }, beta: { kind: "loguniform", lo: 0.1, hi: 2 } },
  arml: { lr: { kind: "loguniform", lo: 1e-4, hi: 1e-2 } },
};

/** A candidate: parameter values, with `margin` dimensions stored as factors (see {@link materialize}). */
export type Candidate = Record<string, number>;

/** Parses `--tune`: "none" → 0 candidates, "cv5:N" → N candidates with 5 folds (any "cvK:N", 2 ≤ K ≤ 20). */
export function parseTuneSpec(spec: string): { folds: number; candidates: number } {
  if (spec === "none" || spec === "") return { folds: 0, candidates: 0 };
  const m = /^cv(\d+):(\d+)$/.exec(spec.trim());
  const folds = m ? Number(m[1]) : Number.NaN;
  const candidates = m ? Number(m[2]) : Number.NaN;
  if (!m || folds < 2 || folds > 20 || candidates < 1)
    throw new RobustMetricError(
      "BAD_INPUT",
      `--tune must be 'none' or cvK:N with 2 ≤ K ≤ 20 and N ≥ 1 (e.g. cv5:20), got '${spec}'`,
    );
  return { folds, candidates };
}

function nameSeed(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h | 0;
}

/**
 * The fixed candidate set of a method: candidate 0 is the defaults (margin factor 1 = the automatic τ of
 * lmnn-pl / nca-pl), candidates 1..N−1 are drawn from {@link TUNING_SPACES} by an Rng seeded with (seed, method
 * name), so every split and data set sees the same set, as in the perturbation-loss authors' stored Par_opt.
 * Dimensions fixed by the user (`fixed`) are left out. A method without tuned dimensions gets [{}].
 *
 * @throws RobustMetricError BAD_INPUT for count < 1.
 * @example
 * candidateSet("lmnn", 3, 0); // [{ mu: 0.5 }, { mu: 0.61… }, { mu: 0.27… }]
 */
export function candidateSet(
  method: string,
  count: number,
  seed = 0,
  fixed: Record<string, unknown> = {},
): Candidate[] {
  if (!Number.isInteger(count) || count < 1)
    throw new RobustMetricError("BAD_INPUT", `candidate count must be a positive integer, got ${count}`);
  const learner = getLearner(method);
  const dims = Object.entries(TUNING_SPACES[method] ?? {}).filter(([name]) => !(name in fixed));
  if (dims.length === 0) return [{}];
  const defaults: Candidate = {};
  for (const [name, dim] of dims) {
    defaults[name] = dim.kind === "margin" ? 1 : Number(learner.params[name]?.default);
  }
  const out: Candidate[] = [defaults];
  const rng = new Rng((seed ^ nameSeed(method)) | 0);
  for (let c = 1; c < count; c++) {
    const cand: Candidate = {};
    for (const [name, dim] of dims) {
      const u = rng.uniform();
      cand[name] =
        dim.kind === "uniform"
          ? dim.lo + u * (dim.hi - dim.lo)
          : dim.kind === "int"
            ? dim.lo + Math.floor(u * (dim.hi - dim.lo + 1))
            : Math.exp(Math.log(dim.lo) + u * (Math.log(dim.hi) - Math.log(dim.lo)));
    }
    out.push(cand);
  }
  return out;
}

/**
 * The median Euclidean adversarial margin (ε = (‖x − x_l‖² − ‖x − x_j‖²)/(2‖x_l − x_j‖), perturbation-loss.md
 * §1.3 at M = I) of the satisfied fixed triplets (3 targets × 10 other-class points per anchor) of X: the scale of
 * τ. 1 when no triplet is satisfied.
 *
 * @example medianTripletMargin(Xtrain, ytrain); // ≈ 0.32 on standardized + unit-norm Australian
 */
export function medianTripletMargin(X: Mat, y: Int32Array, k = 3, v = 10): number {
  const t = fixedTriplets(X, y, targetNeighbours(X, y, k), v);
  const p = X.cols;
  const d = X.data;
  const margins: number[] = [];
  for (let s = 0; s < t.anchor.length; s++) {
    const i = t.anchor[s]! * p;
    const j = t.target[s]! * p;
    const l = t.impostor[s]! * p;
    let dil = 0;
    let dij = 0;
    let djl = 0;
    for (let c = 0; c < p; c++) {
      const xi = d[i + c]!;
      dil += (xi - d[l + c]!) ** 2;
      dij += (xi - d[j + c]!) ** 2;
      djl += (d[j + c]! - d[l + c]!) ** 2;
    }
    if (dil > dij && djl > 0) margins.push((dil - dij) / (2 * Math.sqrt(djl)));
  }
  return margins.length > 0 ? median(margins) : 1;
}

/** Turns a candidate into parameter values: margin factors times `marginScale`, the rest as they are. */
export function materialize(method: string, cand: Candidate, marginScale: number): Record<string, number> {
  const space = TUNING_SPACES[method] ?? {};
  const out: Record<string, number> = {};
  for (const [name, v] of Object.entries(cand))
    out[name] = space[name]?.kind === "margin" ? v * marginScale : v;
  return out;
}

/** What {@link tuneParams} returns. */
export interface TuneResult {
  /** The resolved parameters of the best candidate (ties: the lowest index, i.e. the defaults first). */
  params: ParamValues;
  /** Index of the chosen candidate. */
  best: number;
  /** Mean validation accuracy of every candidate. */
  cvAccuracy: number[];
  /** The τ scale used for margin dimensions (0 when none). */
  marginScale: number;
}

/** Options of {@link tuneParams}. */
export interface TuneOptions {
  /** Number of candidates (including the defaults). */
  candidates: number;
  /** Folds (default 5), stratified by class. */
  folds?: number;
  /** Seed of the candidate set (default 0: the same set everywhere). */
  candidateSeed?: number;
  /** Seed of the folds and of the learners' randomness inside CV. */
  seed: number;
  /** k of the k-NN scoring (default 3). */
  k?: number;
  /** Number of classes of the whole data set (class codes 0..C−1). */
  nClasses: number;
  /** Parameters fixed by the user: not tuned, passed to every fit. */
  fixed?: Record<string, unknown>;
}

/**
 * Chooses a method's hyper-parameters by K-fold cross-validation (stratified folds, seeded) on training rows
 * only: each candidate of {@link candidateSet} is fitted on K − 1 folds and scored by k-NN accuracy on the held-out
 * fold; the highest mean accuracy wins, ties to the earlier candidate. The preprocessing of the rows is the
 * caller's (fitted on the whole training part), so CV folds share it.
 *
 * @throws RobustMetricError BAD_INPUT for an unknown method, a bad fixed parameter or too few rows for the folds.
 * @example
 * tuneParams("lmnn-pl", Xtrain, ytrain, { candidates: 20, seed: 0, nClasses: 2 }).params;
 */
export function tuneParams(method: string, X: Mat, y: Int32Array, opts: TuneOptions): TuneResult {
  const learner: Learner = getLearner(method);
  const fixed = opts.fixed ?? {};
  const cands = candidateSet(method, opts.candidates, opts.candidateSeed ?? 0, fixed);
  const needsScale = Object.values(TUNING_SPACES[method] ?? {}).some((d) => d.kind === "margin");
  const marginScale = needsScale ? medianTripletMargin(X, y) : 0;
  const resolvedOf = (c: Candidate) =>
    resolveParams(learner, { ...fixed, ...materialize(method, c, marginScale) });
  if (cands.length === 1) return { params: resolvedOf(cands[0]!), best: 0, cvAccuracy: [], marginScale };
  const k = opts.k ?? 3;
  const folds = kFold(X.rows, opts.folds ?? 5, new Rng(opts.seed), { stratify: y });
  const parts = folds.map((f) => ({
    Xtr: selectRows(X, f.train),
    ytr: pickLabels(y, f.train),
    Xva: selectRows(X, f.test),
    yva: pickLabels(y, f.test),
  }));
  const scores = cands.map((c) => {
    const params = resolvedOf(c);
    return mean(
      parts.map((part, f) => {
        const fit = learner.fit(part.Xtr, part.ytr, params, { rng: new Rng(splitSeed(opts.seed, f)) });
        const knn = new KNeighborsClassifier({ k, metric: fit.metric }).fit(
          part.Xtr,
          part.ytr,
          opts.nClasses,
        );
        return knn.score(part.Xva, part.yva);
      }),
    );
  });
  let best = 0;
  for (let c = 1; c < scores.length; c++) if (scores[c]! > scores[best]!) best = c;
  return { params: resolvedOf(cands[best]!), best, cvAccuracy: scores, marginScale };
}
