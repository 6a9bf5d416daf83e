import { describe, expect, it } from "vitest";
import { Preprocessor } from "../../src/data/preprocess.js";
import { RobustMetricError } from "../../src/errors.js";
import { buildModel, loadModel, type ModelFile, serializeModel } from "../../src/learners/model.js";
import { fromRows } from "../../src/linalg/mat.js";
import { MahalanobisMetric } from "../../src/metric/mahalanobis.js";

const X = fromRows([
  [1, 2, 3],
  [2, 0, 1],
  [4, 1, 0],
  [0, 3, 2],
]);
const L = fromRows([
  [1, 0.5, 0],
  [0, 2, -1],
]);

function file(): ModelFile {
  return buildModel({
    learner: "lmnn",
    fit: {
      metric: MahalanobisMetric.fromL(L),
      iterations: 12,
      converged: true,
      objective: [3, 2, 1],
      seconds: 0.25,
      params: { k: 3, mu: 0.5, solver: "pg", fixedTriplets: false },
      warnings: [],
    },
    preprocessor: Preprocessor.fit(X, "standardize"),
    training: { n: 4, classes: ["a", "b"], featureNames: ["f1", "f2", "f3"] },
  });
}

describe("model file", () => {
  it("round-trips: the loaded metric and preprocessing act exactly as the originals", () => {
    const text = serializeModel(file());
    const m = loadModel(text);
    expect(m.learner).toBe("lmnn");
    expect(m.params).toEqual({ k: 3, mu: 0.5, solver: "pg", fixedTriplets: false });
    expect(m.training).toEqual({ n: 4, classes: ["a", "b"], featureNames: ["f1", "f2", "f3"] });
    expect(m.fit).toEqual({ iterations: 12, converged: true, seconds: 0.25 });
    expect(Array.from(m.metric.components().data)).toEqual(Array.from(L.data));
    const pre = Preprocessor.fit(X, "standardize");
    expect(Array.from(m.preprocessor.apply(X).data)).toEqual(Array.from(pre.apply(X).data));
    const doc = JSON.parse(text);
    expect(doc.format).toBe("robust-metric/model");
    expect(doc.version).toBe(1);
    expect(doc.metric).toEqual({
      p: 3,
      q: 2,
      L: [
        [1, 0.5, 0],
        [0, 2, -1],
      ],
    });
  });

  // Each mutation must be rejected with BAD_INPUT and a message naming the field.
  // biome-ignore lint/suspicious/noExplicitAny: the tests mutate arbitrary JSON on purpose
  const mutations: [string, (d: any) => void, RegExp][] = [
    ["format", (d) => (d.format = "other"), /format/],
    ["version", (d) => (d.version = 2), /version/],
    ["missing version", (d) => delete d.version, /version/],
    ["learner", (d) => (d.learner = 3), /learner/],
    ["params", (d) => (d.params = [1]), /params/],
    ["params value", (d) => (d.params.mu = null), /params\.mu/],
    ["training", (d) => delete d.training, /training/],
    ["training.n", (d) => (d.training.n = -1), /training\.n/],
    ["training.classes", (d) => (d.training.classes = ["a"]), /training\.classes/],
    ["training.classes type", (d) => (d.training.classes = ["a", 2]), /training\.classes\[1\]/],
    ["featureNames count", (d) => (d.training.featureNames = ["f1", "f2"]), /metric\.p|featureNames/],
    ["fit.iterations", (d) => (d.fit.iterations = 1.5), /fit\.iterations/],
    ["fit.converged", (d) => (d.fit.converged = "yes"), /fit\.converged/],
    ["fit.seconds", (d) => (d.fit.seconds = -2), /fit\.seconds/],
    ["metric missing", (d) => delete d.metric, /metric/],
    ["metric.L shape", (d) => d.metric.L[1].pop(), /metric/],
    ["metric.L value", (d) => (d.metric.L[0][1] = "x"), /metric/],
    ["metric.q", (d) => (d.metric.q = 5), /metric/],
    ["preprocessing missing", (d) => delete d.preprocessing, /preprocessing/],
    ["preprocessing kind", (d) => (d.preprocessing.kind = "whiten"), /preprocessing/],
  ];
  it.each(mutations)("rejects a corrupted %s", (_name, mutate, message) => {
    const doc = JSON.parse(serializeModel(file()));
    mutate(doc);
    let err: unknown;
    try {
      loadModel(JSON.stringify(doc));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RobustMetricError);
    expect((err as RobustMetricError).code).toBe("BAD_INPUT");
    expect((err as Error).message).toMatch(/^model file/);
    expect((err as Error).message).toMatch(message);
  });

  it("rejects truncated and non-JSON text", () => {
    const text = serializeModel(file());
    for (const cut of [0, 1, 50, text.length - 3]) {
      expect(() => loadModel(text.slice(0, cut))).toThrow(/model file/);
    }
    expect(() => loadModel("[]")).toThrow(/must be a JSON object/);
  });
});
