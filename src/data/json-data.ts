import { RobustMetricError } from "../errors.js";
import { type Dataset, encodeLabels } from "./dataset.js";

/**
 * Reads a JSON data file `{X: number[][], y: (number|string)[], featureNames?: string[]}` (other fields, such as
 * the splits and parameters of lmnnpl-australian.json, are ignored).
 *
 * @throws RobustMetricError BAD_INPUT naming the field, row and column: invalid JSON, missing X or y, ragged or
 *   non-numeric rows, non-finite values, a length mismatch, fewer than 2 classes.
 * @example parseJsonData('{"X": [[0, 1], [2, 3]], "y": [0, 1]}')
 */
export function parseJsonData(text: string, opts: { name?: string } = {}): Dataset {
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    throw new RobustMetricError("BAD_INPUT", `JSON data file is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new RobustMetricError("BAD_INPUT", "JSON data file must be an object {X, y}");
  }
  const { X, y, featureNames } = doc as Record<string, unknown>;
  if (!Array.isArray(X) || X.length === 0)
    throw new RobustMetricError("BAD_INPUT", "JSON data: field 'X' must be a non-empty array of rows");
  if (!Array.isArray(y))
    throw new RobustMetricError("BAD_INPUT", "JSON data: field 'y' must be an array of labels");
  if (y.length !== X.length)
    throw new RobustMetricError(
      "BAD_INPUT",
      `JSON data: X has ${X.length} rows but y has ${y.length} labels`,
    );
  const first = X[0];
  if (!Array.isArray(first) || first.length === 0)
    throw new RobustMetricError("BAD_INPUT", "JSON data: X[0] must be a non-empty array");
  const p = first.length;
  const n = X.length;
  const data = new Float64Array(n * p);
  X.forEach((row, i) => {
    if (!Array.isArray(row)) throw new RobustMetricError("BAD_INPUT", `JSON data: X[${i}] is not an array`);
    if (row.length !== p)
      throw new RobustMetricError("BAD_INPUT", `JSON data: X[${i}] has ${row.length} values, X[0] has ${p}`);
    row.forEach((v, j) => {
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new RobustMetricError(
          "BAD_INPUT",
          `JSON data: X[${i}][${j}] is not a finite number: ${JSON.stringify(v)}`,
        );
      }
      data[i * p + j] = v;
    });
  });
  const labels = y.map((v, i) => {
    if ((typeof v !== "number" || !Number.isFinite(v)) && (typeof v !== "string" || v === "")) {
      throw new RobustMetricError(
        "BAD_INPUT",
        `JSON data: y[${i}] must be a number or a non-empty string, got ${JSON.stringify(v)}`,
      );
    }
    return String(v);
  });
  let names: string[];
  if (featureNames === undefined) names = Array.from({ length: p }, (_, j) => `x${j + 1}`);
  else if (
    Array.isArray(featureNames) &&
    featureNames.length === p &&
    featureNames.every((s) => typeof s === "string")
  ) {
    names = featureNames as string[];
  } else throw new RobustMetricError("BAD_INPUT", `JSON data: field 'featureNames' must be ${p} strings`);
  const { y: codes, classes } = encodeLabels(labels, "JSON data field 'y'");
  return {
    X: { rows: n, cols: p, data },
    y: codes,
    classes,
    featureNames: names,
    ...(opts.name ? { name: opts.name } : {}),
  };
}
