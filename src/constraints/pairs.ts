import type { Rng } from "../data/rng.js";
import { RobustMetricError } from "../errors.js";

/** Pairs of rows as parallel arrays; `similar[t]` is 1 when rows a[t] and b[t] share a class. */
export interface Pairs {
  a: Int32Array;
  b: Int32Array;
  similar: Uint8Array;
}

/**
 * `count` similar and `count` dissimilar pairs drawn uniformly with replacement from the labels (as
 * metric-learn's `positive_negative_pairs`): similar ones first, then dissimilar ones. A point is never paired
 * with itself. When a kind cannot exist (every class a singleton, or one class only) none of it is drawn.
 *
 * @throws RobustMetricError BAD_INPUT for a negative count or fewer than 2 rows.
 */
export function samplePairs(y: Int32Array, count: number, rng: Rng): Pairs {
  if (!Number.isInteger(count) || count < 0)
    throw new RobustMetricError("BAD_INPUT", `pair count must be an integer ≥ 0, got ${count}`);
  const n = y.length;
  if (n < 2) throw new RobustMetricError("BAD_INPUT", `need at least 2 rows to form pairs, got ${n}`);
  const byClass = new Map<number, number[]>();
  y.forEach((c, i) => {
    const g = byClass.get(c);
    if (g) g.push(i);
    else byClass.set(c, [i]);
  });
  const a: number[] = [];
  const b: number[] = [];
  const similar: number[] = [];
  const pairable = [...byClass.values()].filter((g) => g.length >= 2);
  const pairableRows = pairable.flat();
  if (pairableRows.length > 0) {
    for (let t = 0; t < count; t++) {
      const i = pairableRows[rng.int(0, pairableRows.length - 1)]!;
      const g = byClass.get(y[i]!)!;
      let j = i;
      while (j === i) j = g[rng.int(0, g.length - 1)]!;
      a.push(i);
      b.push(j);
      similar.push(1);
    }
  }
  if (byClass.size >= 2) {
    for (let t = 0; t < count; t++) {
      const i = rng.int(0, n - 1);
      let j = i;
      while (y[j] === y[i]) j = rng.int(0, n - 1);
      a.push(i);
      b.push(j);
      similar.push(0);
    }
  }
  return { a: Int32Array.from(a), b: Int32Array.from(b), similar: Uint8Array.from(similar) };
}
