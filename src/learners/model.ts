import { Preprocessor } from "../data/preprocess.js";
import { RobustMetricError } from "../errors.js";
import { MahalanobisMetric } from "../metric/mahalanobis.js";
import type { FitResult, ParamValues } from "./types.js";

/** Format tag and version of the model file; bump the version on any incompatible change. */
export const MODEL_FORMAT = "robust-metric/model";
export const MODEL_VERSION = 1;

/**
 * The model file, a JSON document:
 * `{format, version, learner, params, preprocessing, metric: {p, q, L}, training: {n, classes, featureNames},
 * fit: {iterations, converged, seconds}}`. The metric is stored as L (q×p, M = LᵀL) in the space after
 * preprocessing.
 */
export interface ModelFile {
  format: typeof MODEL_FORMAT;
  version: typeof MODEL_VERSION;
  learner: string;
  params: ParamValues;
  preprocessing: unknown;
  metric: { p: number; q: number; L: number[][] };
  training: { n: number; classes: string[]; featureNames: string[] };
  fit: { iterations: number; converged: boolean; seconds: number };
}

/** A model file read back: the live objects plus the recorded facts. */
export interface Model {
  learner: string;
  params: ParamValues;
  preprocessor: Preprocessor;
  metric: MahalanobisMetric;
  training: { n: number; classes: string[]; featureNames: string[] };
  fit: { iterations: number; converged: boolean; seconds: number };
}

/**
 * Assembles the model file of a fit.
 *
 * @example
 * const file = buildModel({ learner: "lmnn", fit, preprocessor, training: { n, classes, featureNames } });
 * writeFileAtomic("model.json", serializeModel(file));
 */
export function buildModel(args: {
  learner: string;
  fit: FitResult;
  preprocessor: Preprocessor;
  training: { n: number; classes: string[]; featureNames: string[] };
}): ModelFile {
  const { fit } = args;
  return {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    learner: args.learner,
    params: fit.params,
    preprocessing: args.preprocessor.toJSON(),
    metric: fit.metric.toJSON(),
    training: {
      n: args.training.n,
      classes: [...args.training.classes],
      featureNames: [...args.training.featureNames],
    },
    fit: { iterations: fit.iterations, converged: fit.converged, seconds: fit.seconds },
  };
}

/** The model file as pretty JSON text, with a trailing newline. */
export function serializeModel(file: ModelFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}

function bad(field: string, what: string): never {
  throw new RobustMetricError("BAD_INPUT", `model file: field '${field}' ${what}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function stringArray(v: unknown, field: string): string[] {
  if (!Array.isArray(v)) bad(field, "must be an array of strings");
  const seen = new Set<string>();
  v.forEach((s, i) => {
    if (typeof s !== "string") bad(`${field}[${i}]`, `must be a string, got ${JSON.stringify(s)}`);
    // names map labels and columns back: a repeated one would make that mapping ambiguous
    if (seen.has(s)) bad(`${field}[${i}]`, `repeats the name '${s}'`);
    seen.add(s);
  });
  return v as string[];
}

/**
 * Parses and validates a model file. Every field is checked (type, range, shape, consistency between the
 * metric, the preprocessing and the feature names); a corrupt, truncated or mismatched file is rejected with a
 * message naming the field.
 *
 * @throws RobustMetricError BAD_INPUT naming the field.
 * @example
 * const model = loadModel(readFileSync("model.json", "utf8"));
 * model.metric.transform(model.preprocessor.apply(X));
 */
export function loadModel(text: string): Model {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new RobustMetricError(
      "BAD_INPUT",
      `model file is not valid JSON (truncated or corrupt): ${(e as Error).message}`,
    );
  }
  if (!isObject(doc)) bad("(root)", "must be a JSON object");
  if (doc.format !== MODEL_FORMAT)
    bad("format", `must be "${MODEL_FORMAT}", got ${JSON.stringify(doc.format)}`);
  if (doc.version !== MODEL_VERSION) {
    bad(
      "version",
      `must be ${MODEL_VERSION} (this robust-metric reads version ${MODEL_VERSION}), got ${JSON.stringify(doc.version)}`,
    );
  }
  if (typeof doc.learner !== "string" || doc.learner === "") bad("learner", "must be a non-empty string");
  if (!isObject(doc.params)) bad("params", "must be an object");
  const params: ParamValues = {};
  for (const [k, v] of Object.entries(doc.params)) {
    if (typeof v === "number" ? !Number.isFinite(v) : typeof v !== "string" && typeof v !== "boolean") {
      bad(`params.${k}`, `must be a finite number, a string or a boolean, got ${JSON.stringify(v)}`);
    }
    params[k] = v as number | string | boolean;
  }
  if (!isObject(doc.training)) bad("training", "must be an object");
  const tr = doc.training;
  if (typeof tr.n !== "number" || !Number.isInteger(tr.n) || tr.n < 1)
    bad("training.n", "must be a positive integer");
  const classes = stringArray(tr.classes, "training.classes");
  if (classes.length < 2) bad("training.classes", `must list at least 2 classes, got ${classes.length}`);
  const featureNames = stringArray(tr.featureNames, "training.featureNames");
  if (!isObject(doc.fit)) bad("fit", "must be an object");
  const f = doc.fit;
  if (typeof f.iterations !== "number" || !Number.isInteger(f.iterations) || f.iterations < 0) {
    bad("fit.iterations", "must be a non-negative integer");
  }
  if (typeof f.converged !== "boolean") bad("fit.converged", "must be a boolean");
  if (typeof f.seconds !== "number" || !Number.isFinite(f.seconds) || f.seconds < 0) {
    bad("fit.seconds", "must be a non-negative number");
  }
  if (doc.metric === undefined) bad("metric", "is missing");
  if (doc.preprocessing === undefined) bad("preprocessing", "is missing");
  const metric = rethrowWithField("metric", () => MahalanobisMetric.fromJSON(doc.metric));
  const preprocessor = rethrowWithField("preprocessing", () => Preprocessor.fromJSON(doc.preprocessing));
  if (metric.p !== featureNames.length) {
    bad("metric.p", `is ${metric.p} but training.featureNames lists ${featureNames.length} features`);
  }
  if (preprocessor.p !== undefined && preprocessor.p !== featureNames.length) {
    bad(
      "preprocessing",
      `is for ${preprocessor.p} features but training.featureNames lists ${featureNames.length}`,
    );
  }
  return {
    learner: doc.learner,
    params,
    preprocessor,
    metric,
    training: { n: tr.n, classes, featureNames },
    fit: { iterations: f.iterations, converged: f.converged, seconds: f.seconds },
  };
}

function rethrowWithField<T>(field: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof RobustMetricError) {
      const msg = e.message.startsWith(field) ? e.message : `${field}: ${e.message}`;
      throw new RobustMetricError("BAD_INPUT", `model file: ${msg}`, { cause: e });
    }
    throw e;
  }
}
