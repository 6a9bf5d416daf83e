import { RobustMetricError } from "../errors.js";
import { type Mat, selectRows } from "../linalg/mat.js";

/**
 * A labelled data set: X (n×p), y (class codes 0..C−1, code c means `classes[c]`), feature names.
 */
export interface Dataset {
  X: Mat;
  y: Int32Array;
  classes: string[];
  featureNames: string[];
  name?: string;
}

/** The rows `idx` of a data set (same classes and names). */
export function subset(ds: Dataset, idx: ArrayLike<number>): Dataset {
  const y = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) y[i] = ds.y[idx[i]!]!;
  return { ...ds, X: selectRows(ds.X, idx), y };
}

/**
 * Encodes string labels as class codes: distinct labels sorted numerically when all parse as numbers, else
 * lexicographically; code c is the c-th label. Throws BAD_INPUT if fewer than 2 classes.
 */
export function encodeLabels(labels: string[], where: string): { y: Int32Array; classes: string[] } {
  const distinct = [...new Set(labels)];
  const numeric = distinct.every((s) => s.trim() !== "" && Number.isFinite(Number(s)));
  distinct.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (distinct.length < 2) {
    throw new RobustMetricError(
      "BAD_INPUT",
      `${where}: the label column has ${distinct.length} class${distinct.length === 1 ? ` ('${distinct[0]}')` : "es"}; at least 2 are needed`,
    );
  }
  const code = new Map(distinct.map((c, i) => [c, i]));
  return { y: Int32Array.from(labels, (l) => code.get(l)!), classes: distinct };
}
