// The experiment runner: the papers' protocol over (data set, method, split) cells, each cell computed
// independently and identified by a hash of exactly the configuration that affects it, so that a store of
// finished cells makes runs resumable and a changed configuration recomputes only the cells it touches.
import { fixedTriplets, type Triplets, targetNeighbours } from "../constraints/neighbours.js";
import type { Dataset } from "../data/dataset.js";
import type { PreprocessKind } from "../data/preprocess.js";
import { Rng } from "../data/rng.js";
import { RobustMetricError } from "../errors.js";
import { getLearner, resolveParams } from "../learners/registry.js";
import type { ParamValues } from "../learners/types.js";
import { eigh } from "../linalg/eigh.js";
import type { Mat } from "../linalg/mat.js";
import { KNeighborsClassifier } from "../neighbors/knn.js";
import { adversarialMargin } from "../objectives/perturbation.js";
import { certifiedAccuracy, noiseRobustness } from "../robust/curves.js";
import { type PreparedSplit, prepareSplit, randomSplits, splitSeed } from "./evaluate.js";
import { TUNING_SPACES, tuneParams } from "./tuning.js";

/** Bumped whenever the meaning of a cell's numbers changes, so that old cells are recomputed. */
export const RUNNER_VERSION = 1;

/** Everything that defines an experiment (`robust-metric bench` options). */
export interface ExperimentConfig {
  methods: string[];
  /** Random 70/30-style splits per data set (drawn from one stream, so split s does not depend on the count). */
  nSplits: number;
  testSize: number;
  seed: number;
  preprocess: PreprocessKind;
  /** Fit the preprocessing on all rows (the perturbation-loss authors' protocol). */
  transductive: boolean;
  /** k of the k-NN classifier. */
  k: number;
  /** Fixed hyper-parameters per method (never tuned). */
  params: Record<string, Record<string, unknown>>;
  /** Cross-validation tuning: `candidates` 0 = none (defaults / fixed params). */
  tune: { folds: number; candidates: number };
  /** Gaussian noise levels σ (in units of the training features' std) and repeats per level. */
  noise: number[];
  noiseRepeats: number;
  /** Radii of the certified-accuracy curve (Euclidean, in the preprocessed space). */
  radii: number[];
}

/** Defaults of {@link ExperimentConfig} (the CLI's). */
export const DEFAULT_CONFIG: Omit<ExperimentConfig, "methods"> = {
  nSplits: 20,
  testSize: 0.3,
  seed: 0,
  preprocess: "standardize",
  transductive: false,
  k: 3,
  params: {},
  tune: { folds: 5, candidates: 0 },
  noise: [0, 0.05, 0.1, 0.2, 0.3],
  noiseRepeats: 5,
  radii: [0, 0.05, 0.1, 0.2, 0.3, 0.5],
};

/** Name and shape of a data set plus a fingerprint of its contents. */
export interface DatasetInfo {
  name: string;
  n: number;
  d: number;
  classes: number;
  fingerprint: string;
  /** Class names (code c is classNames[c]); not part of the cell keys. */
  classNames?: string[];
}

/** One finished cell: what `out/cells/<id>.json` holds. */
export interface CellResult {
  /** `<data set>.<method>.<split>.<hash>`: the file name without `.json`. */
  id: string;
  /** Hash of {@link CellKey}. */
  hash: string;
  key: CellKey;
  dataset: string;
  method: string;
  /** 1-based split number. */
  split: number;
  nTrain: number;
  nTest: number;
  accuracy: number;
  fitSeconds: number;
  iterations: number;
  converged: boolean;
  /** The hyper-parameters the final fit used (tuned or fixed). */
  params: ParamValues;
  /** CV tuning summary (absent without tuning). */
  tuning?: { candidates: number; folds: number; best: number; cvAccuracy: number[]; marginScale: number };
  noise: { levels: number[]; accuracy: number[]; std: number[] };
  certified: { radii: number[]; accuracy: number[]; exact: boolean };
  /** Adversarial margins of the training triplets (3 targets × 10 other-class points per anchor, Euclidean). */
  margin: { mean: number; median: number; triplets: number; satisfied: number; infinite: number };
  /** Split 1 only: first two principal components of the transformed test points (at most 400), with labels. */
  embedding?: { x: number[]; y: number[]; label: number[] };
  warnings: string[];
  /** Wall time of the whole cell (tuning, fit, curves). */
  seconds: number;
}

/** The inputs that determine a cell: hashed into its id. */
export interface CellKey {
  version: number;
  dataset: string;
  fingerprint: string;
  method: string;
  split: number;
  seed: number;
  testSize: number;
  preprocess: PreprocessKind;
  transductive: boolean;
  k: number;
  params: Record<string, unknown>;
  tune: { folds: number; candidates: number };
  noise: number[];
  noiseRepeats: number;
  radii: number[];
}

/** Where finished cells live (a folder of JSON files in the CLI, a Map in tests or browsers). */
export interface CellStore {
  /** The stored cell with this id, if any and if its key matches. */
  get(id: string, hash: string): CellResult | undefined;
  /** Persists one finished cell (atomically: a cell is either stored whole or not at all). */
  put(cell: CellResult): void;
}

/** A {@link CellStore} in memory. */
export class MemoryCellStore implements CellStore {
  readonly cells = new Map<string, CellResult>();
  get(id: string, hash: string): CellResult | undefined {
    const c = this.cells.get(id);
    return c && c.hash === hash ? c : undefined;
  }
  put(cell: CellResult): void {
    this.cells.set(cell.id, cell);
  }
}

/**
 * A 64-bit FNV-1a hash (two 32-bit lanes with different offset bases) of a string or bytes, as 16 hex digits.
 * Not cryptographic: it only has to tell configurations apart.
 *
 * @example fnv64("abc"); // "e71fa2190541574b…" style hex
 */
export function fnv64(input: string | Uint8Array): string {
  const bytes = typeof input === "string" ? new TextEncoder().encode(input) : input;
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < bytes.length; i++) {
    a = Math.imul(a ^ bytes[i]!, 0x01000193);
    b = Math.imul(b ^ bytes[i]!, 0x01000193) ^ (a >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

/** Canonical JSON: object keys sorted, so equal configurations hash equally whatever the key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}

/** Name, shape and content fingerprint (hash of X's float64 bytes and y) of a data set. */
export function datasetInfo(ds: Dataset): DatasetInfo {
  const xb = new Uint8Array(ds.X.data.buffer, ds.X.data.byteOffset, ds.X.data.byteLength);
  const yb = new Uint8Array(ds.y.buffer, ds.y.byteOffset, ds.y.byteLength);
  return {
    name: ds.name ?? "data",
    n: ds.X.rows,
    d: ds.X.cols,
    classes: ds.classes.length,
    fingerprint: fnv64(`${fnv64(xb)}:${fnv64(yb)}:${ds.X.rows}x${ds.X.cols}`),
    classNames: ds.classes.slice(),
  };
}

/** The key of cell (data set, method, split) under a configuration: only what affects that cell. */
export function cellKey(info: DatasetInfo, method: string, split: number, cfg: ExperimentConfig): CellKey {
  return {
    version: RUNNER_VERSION,
    dataset: info.name,
    fingerprint: info.fingerprint,
    method,
    split,
    seed: cfg.seed,
    testSize: cfg.testSize,
    preprocess: cfg.preprocess,
    transductive: cfg.transductive,
    k: cfg.k,
    params: cfg.params[method] ?? {},
    // a method with nothing left to tune (euclidean, nca, or every tuned dimension fixed by the user) is fitted
    // with its fixed parameters whatever --tune says, so its cells do not depend on it
    tune: isTuned(method, cfg) ? cfg.tune : { folds: 0, candidates: 0 },
    noise: cfg.noise,
    noiseRepeats: cfg.noiseRepeats,
    radii: cfg.radii,
  };
}

/** Whether cells of `method` are tuned under `cfg`: tuning on and some tuned dimension not fixed by the user. */
export function isTuned(method: string, cfg: ExperimentConfig): boolean {
  if (cfg.tune.candidates <= 0) return false;
  const fixed = cfg.params[method] ?? {};
  return Object.keys(TUNING_SPACES[method] ?? {}).some((name) => !(name in fixed));
}

/** The file-name-safe id `<data set>.<method>.<split>.<hash>` of a key. */
export function cellId(key: CellKey): { id: string; hash: string } {
  const hash = fnv64(canonicalJson(key));
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_+-]/g, "_");
  return { id: `${safe(key.dataset)}.${safe(key.method)}.${key.split}.${hash}`, hash };
}

/** Checks a configuration, naming the offending option. */
export function validateConfig(cfg: ExperimentConfig): void {
  if (cfg.methods.length === 0) throw new RobustMetricError("BAD_INPUT", "no methods given");
  for (const m of cfg.methods) getLearner(m);
  for (const [m, p] of Object.entries(cfg.params)) {
    if (!cfg.methods.includes(m))
      throw new RobustMetricError("BAD_INPUT", `parameters given for method '${m}', which is not run`);
    resolveParams(getLearner(m), p);
  }
  if (!Number.isInteger(cfg.nSplits) || cfg.nSplits < 1)
    throw new RobustMetricError("BAD_INPUT", `splits must be a positive integer, got ${cfg.nSplits}`);
  if (!Number.isInteger(cfg.k) || cfg.k < 1)
    throw new RobustMetricError("BAD_INPUT", `k must be a positive integer, got ${cfg.k}`);
  for (const s of cfg.noise)
    if (!(s >= 0) || !Number.isFinite(s))
      throw new RobustMetricError("BAD_INPUT", `noise level ${s} must be a finite number ≥ 0`);
  for (const r of cfg.radii)
    if (!(r >= 0) || !Number.isFinite(r))
      throw new RobustMetricError("BAD_INPUT", `radius ${r} must be a finite number ≥ 0`);
}

/** Shared per-split state: the preprocessed data and the training triplets. */
interface SplitState {
  prepared: PreparedSplit;
  triplets: Triplets;
}

function splitState(ds: Dataset, cfg: ExperimentConfig, split: number): SplitState {
  const sp = randomSplits(ds.X.rows, split, cfg.testSize, cfg.seed)[split - 1]!;
  const prepared = prepareSplit(ds, sp, cfg.preprocess, cfg.transductive);
  const triplets = fixedTriplets(
    prepared.Xtr,
    prepared.ytr,
    targetNeighbours(prepared.Xtr, prepared.ytr, 3),
    10,
  );
  return { prepared, triplets };
}

function marginStats(M: Mat, X: Mat, t: Triplets): CellResult["margin"] {
  const p = X.cols;
  const row = (i: number) => X.data.subarray(i * p, (i + 1) * p);
  const finite: number[] = [];
  let satisfied = 0;
  let infinite = 0;
  for (let s = 0; s < t.anchor.length; s++) {
    const m = adversarialMargin(M, row(t.anchor[s]!), row(t.target[s]!), row(t.impostor[s]!));
    if (m > 0) satisfied++;
    if (Number.isFinite(m)) finite.push(m);
    else infinite++;
  }
  finite.sort((a, b) => a - b);
  const h = finite.length >> 1;
  return {
    mean: finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : 0,
    median: finite.length === 0 ? 0 : finite.length % 2 ? finite[h]! : (finite[h - 1]! + finite[h]!) / 2,
    triplets: t.anchor.length,
    satisfied,
    infinite,
  };
}

/** First two principal components of the rows of Z (at most `cap` rows, the first ones). */
function pca2(Z: Mat, y: Int32Array, cap = 400): { x: number[]; y: number[]; label: number[] } {
  const n = Math.min(Z.rows, cap);
  const q = Z.cols;
  const mu = new Float64Array(q);
  for (let i = 0; i < n; i++) for (let c = 0; c < q; c++) mu[c] = mu[c]! + Z.data[i * q + c]! / n;
  const C = new Float64Array(q * q);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < q; a++) {
      const za = Z.data[i * q + a]! - mu[a]!;
      for (let b = 0; b < q; b++) C[a * q + b] = C[a * q + b]! + za * (Z.data[i * q + b]! - mu[b]!);
    }
  const { vectors } = eigh({ rows: q, cols: q, data: C });
  const proj = (i: number, col: number) => {
    if (col < 0) return 0;
    let s = 0;
    for (let c = 0; c < q; c++) s += (Z.data[i * q + c]! - mu[c]!) * vectors.data[c * q + col]!;
    return s;
  };
  const round = (v: number) => Math.round(v * 1e6) / 1e6;
  return {
    x: Array.from({ length: n }, (_, i) => round(proj(i, q - 1))),
    y: Array.from({ length: n }, (_, i) => round(proj(i, q - 2))),
    label: Array.from(y.subarray(0, n)),
  };
}

/**
 * Computes one cell: tuning by CV on the training part (when configured), the fit (timed), k-NN test accuracy,
 * accuracy under Gaussian noise, certified accuracy (the k-NN lower bound of knnCertifiedRadius; exact dual QP for
 * k = 1) and the adversarial margins of the training triplets under the learned metric.
 */
function computeCell(
  ds: Dataset,
  state: SplitState,
  method: string,
  split: number,
  cfg: ExperimentConfig,
  key: CellKey,
  ids: { id: string; hash: string },
): CellResult {
  const t0 = performance.now();
  const learner = getLearner(method);
  const { Xtr, Xte, ytr, yte } = state.prepared;
  const nClasses = ds.classes.length;
  const seed = splitSeed(cfg.seed, split - 1);
  const fixed = cfg.params[method] ?? {};
  let params: ParamValues;
  let tuning: CellResult["tuning"];
  if (key.tune.candidates > 0) {
    const t = tuneParams(method, Xtr, ytr, {
      candidates: key.tune.candidates,
      folds: key.tune.folds,
      seed,
      k: cfg.k,
      nClasses,
      fixed,
    });
    params = t.params;
    tuning = {
      candidates: key.tune.candidates,
      folds: key.tune.folds,
      best: t.best,
      cvAccuracy: t.cvAccuracy,
      marginScale: t.marginScale,
    };
  } else params = resolveParams(learner, fixed);
  const tf = performance.now();
  const fit = learner.fit(Xtr, ytr, params, { rng: new Rng(seed) });
  const fitSeconds = (performance.now() - tf) / 1000;
  const knn = new KNeighborsClassifier({ k: cfg.k, metric: fit.metric }).fit(Xtr, ytr, nClasses);
  const accuracy = knn.score(Xte, yte);
  const noise = noiseRobustness(knn, Xte, yte, cfg.noise, { seed, repeats: cfg.noiseRepeats });
  const cert = certifiedAccuracy(knn, Xte, yte, cfg.radii, { exact: cfg.k === 1, seed });
  const margin = marginStats(fit.metric.matrix(), Xtr, state.triplets);
  return {
    ...ids,
    key,
    dataset: key.dataset,
    method,
    split,
    nTrain: Xtr.rows,
    nTest: Xte.rows,
    accuracy,
    fitSeconds,
    iterations: fit.iterations,
    converged: fit.converged,
    // fit.params may resolve automatic values (lmnn-pl's τ = 0 → the median margin)
    params: { ...params, ...fit.params },
    ...(tuning ? { tuning } : {}),
    noise: { levels: noise.levels, accuracy: noise.accuracy, std: noise.std },
    certified: { radii: cert.radii, accuracy: cert.accuracy, exact: cfg.k === 1 },
    margin,
    ...(split === 1 ? { embedding: pca2(fit.metric.transform(Xte), yte) } : {}),
    warnings: fit.warnings,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Progress callback of {@link runExperiment}. */
export type CellProgress = (info: {
  done: number;
  total: number;
  computed: number;
  skipped: number;
  cell: CellResult;
}) => void;

/** What {@link runExperiment} returns. */
export interface ExperimentResult {
  config: ExperimentConfig;
  datasets: DatasetInfo[];
  /** Every cell, ordered by data set, split, method. */
  cells: CellResult[];
  computed: number;
  skipped: number;
}

/** The cells of an experiment in run order, with their keys and ids. */
export function planCells(
  datasets: Dataset[],
  cfg: ExperimentConfig,
): {
  ds: Dataset;
  info: DatasetInfo;
  split: number;
  method: string;
  key: CellKey;
  id: string;
  hash: string;
}[] {
  const out = [];
  for (const ds of datasets) {
    const info = datasetInfo(ds);
    for (let split = 1; split <= cfg.nSplits; split++) {
      for (const method of cfg.methods) {
        const key = cellKey(info, method, split, cfg);
        out.push({ ds, info, split, method, key, ...cellId(key) });
      }
    }
  }
  return out;
}

/**
 * Runs the protocol on every (data set, split, method) cell: random splits seeded by `seed`, preprocessing fitted on
 * the training part (all rows with `transductive`), hyper-parameters by stratified K-fold CV on the training part
 * over a fixed candidate set (or the fixed / default ones), k-NN accuracy, noise and certified curves and triplet
 * margins. A cell already in `store` under the same key is reused; each new cell goes to the store as soon as it
 * is finished. A cell depends only on (data, method, split, seed, test size, preprocessing, k, that method's
 * parameters, tuning, noise, radii), never on the other methods or the number of splits, so the results are the
 * same in any order, and adding a method or splits computes only the new cells.
 *
 * @throws RobustMetricError BAD_INPUT for an invalid configuration (see {@link validateConfig}) or data set.
 * @example
 * const res = runExperiment([iris()], { ...DEFAULT_CONFIG, methods: ["euclidean", "lmnn"], nSplits: 2 },
 *   new MemoryCellStore());
 */
export function runExperiment(
  datasets: Dataset[],
  cfg: ExperimentConfig,
  store: CellStore,
  onCell?: CellProgress,
): ExperimentResult {
  const steps = experimentSteps(datasets, cfg, store, onCell);
  for (let r = steps.next(); ; r = steps.next()) if (r.done) return r.value;
}

/**
 * {@link runExperiment} that returns to the event loop after every computed cell, so that a signal handler can run
 * between cells (a command-line run interrupted there leaves only whole cell files).
 */
export async function runExperimentAsync(
  datasets: Dataset[],
  cfg: ExperimentConfig,
  store: CellStore,
  onCell?: CellProgress,
): Promise<ExperimentResult> {
  const steps = experimentSteps(datasets, cfg, store, onCell);
  for (let r = steps.next(); ; r = steps.next()) {
    if (r.done) return r.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** The cells in plan order, yielding after each one it computes. */
function* experimentSteps(
  datasets: Dataset[],
  cfg: ExperimentConfig,
  store: CellStore,
  onCell?: CellProgress,
): Generator<void, ExperimentResult, void> {
  checkExperiment(datasets, cfg);
  const plan = planCells(datasets, cfg);
  const computer = new CellComputer(datasets, cfg);
  const cells: CellResult[] = [];
  let computed = 0;
  let skipped = 0;
  for (const c of plan) {
    let cell = store.get(c.id, c.hash);
    const fresh = !cell;
    if (cell) skipped++;
    else {
      cell = computer.compute(datasets.indexOf(c.ds), c.split, c.method);
      store.put(cell);
      computed++;
    }
    cells.push(cell);
    onCell?.({ done: cells.length, total: plan.length, computed, skipped, cell });
    if (fresh) yield;
  }
  return { config: cfg, datasets: datasets.map(datasetInfo), cells, computed, skipped };
}

/** {@link validateConfig} plus unique data set names. */
export function checkExperiment(datasets: Dataset[], cfg: ExperimentConfig): void {
  validateConfig(cfg);
  const names = new Set<string>();
  for (const ds of datasets) {
    const name = ds.name ?? "data";
    if (names.has(name)) throw new RobustMetricError("BAD_INPUT", `two data sets are named '${name}'`);
    names.add(name);
  }
}

/**
 * Computes cells one at a time, keeping the last split's preprocessed data and triplets, so the methods of one
 * (data set, split) share them. A cell's result depends only on its own key, which is what lets a worker pool
 * compute cells in any order and thread with the same numbers.
 */
export class CellComputer {
  private last: { ds: number; split: number; state: SplitState } | undefined;
  private readonly infos: DatasetInfo[];

  constructor(
    readonly datasets: Dataset[],
    readonly cfg: ExperimentConfig,
  ) {
    this.infos = datasets.map(datasetInfo);
  }

  /** The cell (datasets[ds], method, split). */
  compute(ds: number, split: number, method: string): CellResult {
    const data = this.datasets[ds];
    if (!data) throw new RobustMetricError("BAD_INPUT", `no data set number ${ds}`);
    if (!this.last || this.last.ds !== ds || this.last.split !== split)
      this.last = { ds, split, state: splitState(data, this.cfg, split) };
    const key = cellKey(this.infos[ds]!, method, split, this.cfg);
    return computeCell(data, this.last.state, method, split, this.cfg, key, cellId(key));
  }
}
