// Messages between the page (main.ts) and the fitting worker (worker.ts). Only plain data crosses: the library
// objects stay in the worker, the page draws what the worker computed.

/** Where the data come from. */
export type DataSpec =
  | { kind: "iris" }
  | { kind: "blobs"; n: number; classes: number; overlap: number; noiseFeatures: number; seed: number }
  | { kind: "moons"; n: number; noise: number; seed: number }
  | { kind: "csv"; name: string; text: string; label?: string };

export type ParamValue = number | string | boolean;

/** A learner's hyper-parameter as the controls need it (a copy of the library's ParamSpec). */
export interface ParamInfo {
  name: string;
  type: "number" | "int" | "boolean" | "string";
  default: ParamValue;
  min?: number;
  max?: number;
  choices?: string[];
  doc: string;
}

export interface LearnerInfo {
  name: string;
  description: string;
  params: ParamInfo[];
}

/** One fit: data, split, preprocessing, method and the k of the k-NN classifier. */
export interface FitSpec {
  data: DataSpec;
  method: string;
  /** Only the values the user changed; the library fills the defaults (resolveParams). */
  params: Record<string, ParamValue>;
  k: number;
  testSize: number;
  splitSeed: number;
  seed: number;
  preprocess: "none" | "standardize" | "unitnorm" | "standardize+unitnorm";
}

export type Request =
  | { type: "fit"; id: number; spec: FitSpec }
  | { type: "attack"; id: number; index: number }
  | { type: "inspect"; id: number; data: DataSpec }
  | { type: "attackAll"; id: number };

/** Summary of a data set (answer to "inspect", e.g. after a CSV drop). */
export interface DataSummary {
  name: string;
  n: number;
  p: number;
  classes: string[];
  featureNames: string[];
  counts: number[];
}

/** Everything the page draws after a fit. Coordinates are per data row, in the data set's row order. */
export interface FitView {
  data: DataSummary;
  method: string;
  params: Record<string, ParamValue>;
  k: number;
  nTrain: number;
  nTest: number;
  /** Test accuracy of the k-NN classifier under the learned metric (KNeighborsClassifier.score). */
  accuracy: number;
  iterations: number;
  converged: boolean;
  seconds: number;
  warnings: string[];
  /** Dimension of the learned map x ↦ Lx. */
  q: number;
  /** How the 2-D embedding was made (learned components or PCA of the transformed data). */
  embeddingNote: string;
  labels: number[];
  isTest: boolean[];
  /** Prediction of every test row (−1 on training rows). */
  predictions: number[];
  embedding: { x: number[]; y: number[] };
  /** Only for 2-D data: the rows after preprocessing (the space where radii are measured) and k-NN regions. */
  input?: {
    x: number[];
    y: number[];
    grid: { x0: number; x1: number; y0: number; y1: number; nx: number; ny: number; classes: number[] };
  };
  /** Certified radius of every test row (k-NN bound, Euclidean after preprocessing; NaN on training rows). */
  radii: number[];
  certified: { radii: number[]; accuracy: number[] };
  noise: { levels: number[]; accuracy: number[]; std: number[] };
  /** The model file, the same JSON `robust-metric fit --out` writes. */
  model: string;
}

/** The closest adversarial example found for one test row. */
export interface AttackView {
  index: number;
  label: number;
  prediction: number;
  /** "exact" for 1-NN (dual QP), "greedy" (QP-greedy) for k > 1. */
  attack: "exact" | "greedy";
  found: boolean;
  adversarialPrediction: number;
  /** ‖δ‖₂ after preprocessing: an upper bound on the minimal adversarial perturbation. */
  norm: number;
  /** The certified lower bound of the same row. */
  certifiedRadius: number;
  /** The adversarial point after preprocessing, its embedding and (2-D data) its input-space position. */
  adversarial: number[] | null;
  embedding: [number, number] | null;
  seconds: number;
}

/** Every test row attacked: the empirical robust accuracy, an upper bound to set against the certified curve. */
export interface AttackCurveView {
  method: string;
  attack: "exact" | "greedy";
  radii: number[];
  accuracy: number[];
  /** Per test row (in split order): the norm of the adversarial example found (0 if misclassified, ∞ if none). */
  norms: number[];
  seconds: number;
}

export type Response =
  | { type: "ready"; learners: LearnerInfo[] }
  | { type: "progress"; id: number; stage: string; done: number; total: number; objective?: number }
  | { type: "fitted"; id: number; view: FitView }
  | { type: "attacked"; id: number; view: AttackView }
  | { type: "inspected"; id: number; summary: DataSummary }
  | { type: "attackedAll"; id: number; view: AttackCurveView }
  | { type: "error"; id: number; code: string; message: string };
