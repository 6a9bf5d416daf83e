// The playground's computations, on the library's public core API only. Kept free of worker and DOM APIs so that
// the worker is a thin message loop around it.
import {
  attack,
  blobs,
  buildModel,
  CertificationContext,
  certifiedAccuracy,
  type Dataset,
  eigh,
  getLearner,
  iris,
  KNeighborsClassifier,
  learnerNames,
  type MahalanobisMetric,
  type Mat,
  moons,
  noiseRobustness,
  Preprocessor,
  parseCsv,
  Rng,
  RobustMetricError,
  resolveParams,
  robustErrorAt,
  serializeModel,
  stratifiedSplit,
  subset,
} from "robust-metric/core";
import type {
  AttackCurveView,
  AttackView,
  DataSpec,
  DataSummary,
  FitSpec,
  FitView,
  LearnerInfo,
} from "./protocol";

/** Methods shown first (the list); any other registered learner follows. */
export const MAIN_METHODS = ["euclidean", "lmnn", "lmnn-pl", "nca", "aml", "arml"];

export function learnerInfos(): LearnerInfo[] {
  const names = learnerNames();
  const ordered = [
    ...MAIN_METHODS.filter((m) => names.includes(m)),
    ...names.filter((m) => !MAIN_METHODS.includes(m)),
  ];
  return ordered.map((name) => {
    const l = getLearner(name);
    return {
      name,
      description: l.description,
      params: Object.entries(l.params).map(([p, s]) => ({
        name: p,
        type: s.type,
        default: s.default,
        ...(s.min !== undefined ? { min: s.min } : {}),
        ...(s.max !== undefined ? { max: s.max } : {}),
        ...(s.choices ? { choices: [...s.choices] } : {}),
        doc: s.doc,
      })),
    };
  });
}

export function loadData(spec: DataSpec): Dataset {
  switch (spec.kind) {
    case "iris":
      return iris();
    case "blobs":
      return blobs(spec);
    case "moons":
      return moons(spec);
    case "csv":
      // the CLI's reader: same validation, same messages (line, column, value)
      return parseCsv(spec.text, { name: spec.name, ...(spec.label ? { label: spec.label } : {}) });
  }
}

export function summarize(ds: Dataset): DataSummary {
  const counts = new Array<number>(ds.classes.length).fill(0);
  for (const c of ds.y) counts[c]!++;
  return {
    name: ds.name ?? "data",
    n: ds.X.rows,
    p: ds.X.cols,
    classes: ds.classes,
    featureNames: ds.featureNames,
    counts,
  };
}

/** The state kept between a fit and the attacks on its test rows. */
interface Fitted {
  pre: Preprocessor;
  metric: MahalanobisMetric;
  knn: KNeighborsClassifier;
  ctx: CertificationContext;
  k: number;
  /** All rows after preprocessing. */
  Xall: Mat;
  y: Int32Array;
  testRows: Set<number>;
  /** Test rows in split order, their labels, and the radius grid of the certified curve. */
  testOrder: Int32Array;
  Xte: Mat;
  yte: Int32Array;
  radiiGrid: number[];
  method: string;
  radii: number[];
  project: (Z: Mat) => { x: number[]; y: number[] };
}

export type Progress = (stage: string, done: number, total: number, objective?: number) => void;

/**
 * The 2-D view of the learned space: Z = X·Lᵀ projected on the top two principal axes of Z (over all rows), so
 * that for q = 2 it is a rotation of the learned components and for q > 2 the plane of largest spread under the
 * metric. A q = 1 map gets a zero second axis.
 */
function embedder(Z: Mat): { project: (Z: Mat) => { x: number[]; y: number[] }; note: string } {
  const q = Z.cols;
  const mean = new Float64Array(q);
  for (let i = 0; i < Z.rows; i++) for (let c = 0; c < q; c++) mean[c]! += Z.data[i * q + c]! / Z.rows;
  const C = new Float64Array(q * q);
  for (let i = 0; i < Z.rows; i++)
    for (let a = 0; a < q; a++)
      for (let b = 0; b < q; b++)
        C[a * q + b]! += ((Z.data[i * q + a]! - mean[a]!) * (Z.data[i * q + b]! - mean[b]!)) / Z.rows;
  const { values, vectors } = eigh({ rows: q, cols: q, data: C });
  const axes: Float64Array[] = [];
  for (let t = 0; t < Math.min(2, q); t++) {
    const col = q - 1 - t;
    const v = new Float64Array(q);
    for (let r = 0; r < q; r++) v[r] = vectors.data[r * q + col]!;
    // a sign convention so that refits of similar metrics do not flip the picture
    let big = 0;
    for (let r = 0; r < q; r++) if (Math.abs(v[r]!) > Math.abs(v[big]!)) big = r;
    if (v[big]! < 0) for (let r = 0; r < q; r++) v[r] = -v[r]!;
    axes.push(v);
  }
  const total = values.reduce((s, v) => s + Math.max(0, v), 0);
  const shown = axes.length === 0 ? 0 : values.slice(-axes.length).reduce((s, v) => s + Math.max(0, v), 0);
  const project = (W: Mat) => {
    const x: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < W.rows; i++) {
      let a = 0;
      let b = 0;
      for (let c = 0; c < q; c++) {
        const z = W.data[i * q + c]! - mean[c]!;
        a += z * axes[0]![c]!;
        if (axes[1]) b += z * axes[1][c]!;
      }
      x.push(a);
      y.push(b);
    }
    return { x, y };
  };
  const note =
    q <= 2
      ? `learned components (q = ${q}), rotated to their principal axes`
      : `PCA of the transformed data L·x (q = ${q}): ${(total > 0 ? (100 * shown) / total : 100).toFixed(0)}% of its variance`;
  return { project, note };
}

function linspace(a: number, b: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));
}

/**
 * Fits one method on a stratified split, exactly as a user of the library would: split → preprocessor fitted on the
 * training rows → learner.fit → k-NN on the training rows under the metric → accuracy on the test rows. The e2e test
 * repeats these steps with the library and expects the same accuracy to the last bit.
 */
export class Session {
  private fitted: Fitted | undefined;

  fit(spec: FitSpec, progress: Progress): FitView {
    const ds = loadData(spec.data);
    const learner = getLearner(spec.method);
    const params = resolveParams(learner, spec.params);
    if (!Number.isInteger(spec.k) || spec.k < 1)
      throw new RobustMetricError("BAD_INPUT", `k must be a positive integer, got ${spec.k}`);
    const split = stratifiedSplit(ds.y, spec.testSize, new Rng(spec.splitSeed));
    const train = subset(ds, split.train);
    const test = subset(ds, split.test);
    if (spec.k > train.X.rows)
      throw new RobustMetricError(
        "BAD_INPUT",
        `k = ${spec.k} is larger than the ${train.X.rows} training rows`,
      );
    const pre = Preprocessor.fit(train.X, spec.preprocess);
    const Xtr = pre.apply(train.X);
    const Xte = pre.apply(test.X);
    const cap = Number(params.maxIter ?? params.epochs ?? 0);
    progress("fitting", 0, cap);
    let last = 0;
    const t0 = performance.now();
    const fit = learner.fit(Xtr, train.y, params, {
      rng: new Rng(spec.seed),
      onIteration: (it, value) => {
        const now = performance.now();
        if (now - last > 50) {
          last = now;
          progress("fitting", it, cap, value);
        }
      },
    });
    fit.seconds = (performance.now() - t0) / 1000;
    const metric = fit.metric;
    const knn = new KNeighborsClassifier({ k: spec.k, metric }).fit(Xtr, train.y, ds.classes.length);
    const accuracy = knn.score(Xte, test.y);

    progress("certifying", 0, Xte.rows);
    const ctx = CertificationContext.fromClassifier(knn);
    const cert = certifiedAccuracy(knn, Xte, test.y, [0], {
      context: ctx,
      onPoint: (d, t) => {
        if (d % 10 === 0) progress("certifying", d, t);
      },
    });
    const finite = Array.from(cert.lowerBounds).filter((v) => Number.isFinite(v));
    const rMax = Math.max(1e-3, ...finite) * 1.05;
    const radiiGrid = linspace(0, rMax, 41);
    const certifiedCurve = robustErrorAt(cert.lowerBounds, radiiGrid).map((e) => 1 - e);

    progress("noise", 0, 1);
    const noise = noiseRobustness(knn, Xte, test.y, linspace(0, 1.5, 16), { seed: spec.seed, repeats: 5 });

    const Xall = pre.apply(ds.X);
    const Zall = metric.transform(Xall);
    const emb = embedder(Zall);
    const n = ds.X.rows;
    const isTest = new Array<boolean>(n).fill(false);
    const predictions = new Array<number>(n).fill(-1);
    const radii = new Array<number>(n).fill(Number.NaN);
    split.test.forEach((row, t) => {
      isTest[row] = true;
      predictions[row] = cert.predictions[t]!;
      radii[row] = cert.lowerBounds[t]!;
    });

    let input: FitView["input"];
    if (ds.X.cols === 2) {
      const xs: number[] = [];
      const ys: number[] = [];
      for (let i = 0; i < n; i++) {
        xs.push(Xall.data[2 * i]!);
        ys.push(Xall.data[2 * i + 1]!);
      }
      const pad = (lo: number, hi: number) =>
        [lo - 0.08 * (hi - lo || 1), hi + 0.08 * (hi - lo || 1)] as const;
      const [x0, x1] = pad(Math.min(...xs), Math.max(...xs));
      const [y0, y1] = pad(Math.min(...ys), Math.max(...ys));
      const nx = 90;
      const ny = 90;
      const G = new Float64Array(nx * ny * 2);
      for (let r = 0; r < ny; r++)
        for (let c = 0; c < nx; c++) {
          G[2 * (r * nx + c)] = x0 + ((c + 0.5) * (x1 - x0)) / nx;
          G[2 * (r * nx + c) + 1] = y0 + ((r + 0.5) * (y1 - y0)) / ny;
        }
      const classes = Array.from(knn.predict({ rows: nx * ny, cols: 2, data: G }));
      input = { x: xs, y: ys, grid: { x0, x1, y0, y1, nx, ny, classes } };
    }

    const model = serializeModel(
      buildModel({
        learner: learner.name,
        fit,
        preprocessor: pre,
        training: { n: train.X.rows, classes: ds.classes, featureNames: ds.featureNames },
      }),
    );
    this.fitted = {
      pre,
      metric,
      knn,
      ctx,
      k: spec.k,
      Xall,
      y: ds.y,
      testRows: new Set(split.test),
      testOrder: split.test,
      Xte,
      yte: test.y,
      radiiGrid,
      method: learner.name,
      radii,
      project: emb.project,
    };
    const e = emb.project(Zall);
    return {
      data: summarize(ds),
      method: learner.name,
      params: fit.params,
      k: spec.k,
      nTrain: train.X.rows,
      nTest: test.X.rows,
      accuracy,
      iterations: fit.iterations,
      converged: fit.converged,
      seconds: fit.seconds,
      warnings: fit.warnings,
      q: metric.q,
      embeddingNote: emb.note,
      labels: Array.from(ds.y),
      isTest,
      predictions,
      embedding: e,
      ...(input ? { input } : {}),
      radii,
      certified: { radii: radiiGrid, accuracy: certifiedCurve },
      noise,
      model,
    };
  }

  /**
   * Attacks every test row (as {@link attack}) and turns the norms into the empirical robust accuracy on the
   * certified curve's radii: #{norm > r} / n, an upper bound on the robust accuracy that the certified curve bounds
   * from below.
   */
  attackAll(progress: Progress): AttackCurveView {
    const f = this.fitted;
    if (!f) throw new RobustMetricError("NOT_FITTED", "fit a method before attacking");
    const method = f.k === 1 ? "exact" : "greedy";
    const p = f.Xte.cols;
    const n = f.Xte.rows;
    const norms: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const z = f.Xte.data.subarray(i * p, (i + 1) * p);
      norms.push(attack(f.ctx, z, f.yte[i]!, f.k, method, { seed: 0 }).norm);
      progress("attacking", i + 1, n);
    }
    const accuracy = robustErrorAt(norms, f.radiiGrid).map((e) => 1 - e);
    return {
      method: f.method,
      attack: method,
      radii: f.radiiGrid,
      accuracy,
      norms,
      seconds: (performance.now() - t0) / 1000,
    };
  }

  /**
   * The closest adversarial example the library finds for a test row: the exact minimal perturbation for 1-NN, the
   * QP-greedy attack for k > 1 (an upper bound, verified by re-classification).
   */
  attack(index: number): AttackView {
    const f = this.fitted;
    if (!f) throw new RobustMetricError("NOT_FITTED", "fit a method before attacking a point");
    if (!f.testRows.has(index))
      throw new RobustMetricError("BAD_INPUT", `row ${index + 1} is not a test point; pick a test point`);
    const p = f.Xall.cols;
    const z = f.Xall.data.slice(index * p, (index + 1) * p);
    const method = f.k === 1 ? "exact" : "greedy";
    const t0 = performance.now();
    const r = attack(f.ctx, z, f.y[index]!, f.k, method, { seed: 0 });
    const seconds = (performance.now() - t0) / 1000;
    let embedding: [number, number] | null = null;
    if (r.adversarial) {
      const e = f.project(f.metric.transform({ rows: 1, cols: p, data: Float64Array.from(r.adversarial) }));
      embedding = [e.x[0]!, e.y[0]!];
    }
    return {
      index,
      label: r.label,
      prediction: r.prediction,
      attack: method,
      found: r.adversarial !== null,
      adversarialPrediction: r.adversarialPrediction,
      norm: r.norm,
      certifiedRadius: f.radii[index]!,
      adversarial: r.adversarial ? Array.from(r.adversarial) : null,
      embedding,
      seconds,
    };
  }
}
