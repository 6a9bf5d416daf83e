import { describe, expect, it } from "vitest";
import { iris } from "../../src/data/embedded.js";
import { Preprocessor } from "../../src/data/preprocess.js";
import { Rng } from "../../src/data/rng.js";
import { stratifiedSplit } from "../../src/data/splits.js";
import { pickLabels } from "../../src/eval/evaluate.js";
import { fromRows, type Mat, selectRows, zeros } from "../../src/linalg/index.js";
import { MahalanobisMetric } from "../../src/metric/mahalanobis.js";
import { accuracy, KNeighborsClassifier } from "../../src/neighbors/knn.js";

const line = (xs: number[]) => fromRows(xs.map((x) => [x]));

describe("KNeighborsClassifier tie rule", () => {
  it("1-1-1 vote split goes to the nearest neighbour's class (k = 3)", () => {
    const knn = new KNeighborsClassifier({ k: 3 }).fit(line([1, 2, 3]), Int32Array.from([2, 0, 1]));
    expect(Array.from(knn.predict(line([0.9, 3.1])))).toEqual([2, 1]);
  });
  it("majority beats the nearest neighbour's bonus", () => {
    const knn = new KNeighborsClassifier({ k: 3 }).fit(line([1, 2, 2.5]), Int32Array.from([0, 1, 1]));
    expect(Array.from(knn.predict(line([0.5])))).toEqual([1]);
  });
  it("equal distances: the lower training index is the nearer neighbour", () => {
    // query 0 is at distance 1 from both points; index 0 (class 1) wins for k = 1
    const knn = new KNeighborsClassifier({ k: 1 }).fit(line([-1, 1]), Int32Array.from([1, 0]));
    expect(Array.from(knn.predict(line([0])))).toEqual([1]);
    const r = knn.kneighbors(line([0]), 2);
    expect(Array.from(r.indices)).toEqual([0, 1]);
    const knn2 = new KNeighborsClassifier({ k: 1 }).fit(line([1, -1]), Int32Array.from([1, 0]));
    expect(Array.from(knn2.predict(line([0])))).toEqual([1]);
  });
  it("even k: a 1-1 split goes to the nearest neighbour's class; exact score ties to the smallest code", () => {
    const knn = new KNeighborsClassifier({ k: 2 }).fit(line([1, 2]), Int32Array.from([1, 0]));
    expect(Array.from(knn.predict(line([0, 3])))).toEqual([1, 0]);
    // k = 4, votes 2-2, nearest is class 1 → 1
    const k4 = new KNeighborsClassifier({ k: 4 }).fit(line([1, 2, 3, 4]), Int32Array.from([1, 0, 0, 1]));
    expect(Array.from(k4.predict(line([0])))).toEqual([1]);
  });
});

describe("KNeighborsClassifier", () => {
  it("kneighbors agrees with a full sort on random data (blocked over > 256 queries)", () => {
    const rng = new Rng(3);
    const X = zeros(80, 3);
    const Q = zeros(300, 3);
    // integer grid values create many exact distance ties
    for (let i = 0; i < X.data.length; i++) X.data[i] = rng.int(0, 3);
    for (let i = 0; i < Q.data.length; i++) Q.data[i] = rng.int(0, 3);
    const knn = new KNeighborsClassifier({ k: 5 }).fit(
      X,
      Int32Array.from({ length: 80 }, (_, i) => i % 3),
    );
    const { indices, sqDistances } = knn.kneighbors(Q);
    for (let q = 0; q < 300; q++) {
      const all = Array.from({ length: 80 }, (_, j) => {
        let s = 0;
        for (let c = 0; c < 3; c++) s += (Q.data[q * 3 + c]! - X.data[j * 3 + c]!) ** 2;
        return [s, j] as const;
      }).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      expect(Array.from(indices.subarray(q * 5, q * 5 + 5))).toEqual(all.slice(0, 5).map((a) => a[1]));
      expect(Array.from(sqDistances.subarray(q * 5, q * 5 + 5))).toEqual(all.slice(0, 5).map((a) => a[0]));
    }
  });

  it("under a metric equals Euclidean k-NN on the transformed data", () => {
    const rng = new Rng(8);
    const L = fromRows([
      [2, 0.5, 0],
      [0, 1, -1],
    ]);
    const metric = MahalanobisMetric.fromL(L);
    const X: Mat = zeros(60, 3);
    for (let i = 0; i < X.data.length; i++) X.data[i] = rng.normal();
    const y = Int32Array.from({ length: 60 }, (_, i) => (X.data[i * 3]! > 0 ? 1 : 0));
    const Q: Mat = zeros(40, 3);
    for (let i = 0; i < Q.data.length; i++) Q.data[i] = rng.normal();
    const a = new KNeighborsClassifier({ k: 3, metric }).fit(X, y).predict(Q);
    const b = new KNeighborsClassifier({ k: 3 }).fit(metric.transform(X), y).predict(metric.transform(Q));
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it("iris, standardized, stratified 70/30: 3-NN accuracy is high", () => {
    const ds = iris();
    const s = stratifiedSplit(ds.y, 0.3, new Rng(0));
    const pre = Preprocessor.fit(selectRows(ds.X, s.train), "standardize");
    const knn = new KNeighborsClassifier({ k: 3 }).fit(
      pre.apply(selectRows(ds.X, s.train)),
      pickLabels(ds.y, s.train),
    );
    const acc = knn.score(pre.apply(selectRows(ds.X, s.test)), pickLabels(ds.y, s.test));
    expect(acc).toBeGreaterThan(0.88);
    expect(acc * 45).toBeCloseTo(Math.round(acc * 45), 9);
  });

  it("errors: k > n, column mismatch, unfitted, accuracy lengths", () => {
    expect(() => new KNeighborsClassifier({ k: 5 }).fit(line([1, 2]), Int32Array.from([0, 1]))).toThrow(
      /k = 5 is larger than the 2 training points/,
    );
    const knn = new KNeighborsClassifier({ k: 1 }).fit(line([1, 2]), Int32Array.from([0, 1]));
    expect(() => knn.predict(zeros(1, 2))).toThrow(/query has 2 columns but the training data has 1/);
    expect(() => new KNeighborsClassifier().predict(line([1]))).toThrow(/before fit/);
    expect(() => new KNeighborsClassifier({ k: 0 })).toThrow(/positive integer/);
    expect(() => accuracy([1, 2], [1])).toThrow(/2 labels vs 1 predictions/);
    expect(accuracy([1, 2, 3, 4], [1, 0, 3, 0])).toBe(0.5);
  });
});
