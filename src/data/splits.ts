import { RobustMetricError } from "../errors.js";
import type { Rng } from "./rng.js";

/** A train/test split: 0-based row indices. */
export interface Split {
  train: Int32Array;
  test: Int32Array;
}

function checkFraction(testSize: number): void {
  if (!(testSize > 0 && testSize < 1))
    throw new RobustMetricError("BAD_INPUT", `test size must be in (0, 1), got ${testSize}`);
}

/** The number of training rows: floor((1 − testSize)·n) in double arithmetic (0.7·690 → 482, as the authors). */
export function trainCount(n: number, testSize: number): number {
  return Math.floor((1 - testSize) * n);
}

const ascending = (a: Int32Array) => a.sort();

/**
 * A random, unstratified split (the perturbation-loss authors' protocol): the first floor((1 − testSize)·n)
 * entries of a random permutation train, the rest test; both sorted ascending.
 *
 * @throws RobustMetricError BAD_INPUT for testSize outside (0, 1) or a part that would be empty.
 */
export function randomSplit(n: number, testSize: number, rng: Rng): Split {
  checkFraction(testSize);
  const m = trainCount(n, testSize);
  if (m < 1 || m >= n)
    throw new RobustMetricError("BAD_INPUT", `a ${testSize} test split of ${n} rows leaves an empty part`);
  const perm = rng.permutation(n);
  return { train: ascending(perm.slice(0, m)), test: ascending(perm.slice(m)) };
}

/**
 * A stratified split: each class is split in the same proportion (per class, floor((1 − testSize)·n_c) rows to
 * train, at least one when the class has two or more), both parts sorted ascending.
 */
export function stratifiedSplit(y: Int32Array, testSize: number, rng: Rng): Split {
  checkFraction(testSize);
  const train: number[] = [];
  const test: number[] = [];
  for (const members of byClass(y)) {
    rng.shuffle(members);
    let m = trainCount(members.length, testSize);
    if (m === 0 && members.length >= 2) m = 1;
    if (m === members.length && members.length >= 2) m = members.length - 1;
    train.push(...members.slice(0, m));
    test.push(...members.slice(m));
  }
  if (train.length === 0 || test.length === 0)
    throw new RobustMetricError("BAD_INPUT", "stratified split leaves an empty part");
  return { train: ascending(Int32Array.from(train)), test: ascending(Int32Array.from(test)) };
}

function byClass(y: Int32Array): number[][] {
  const groups = new Map<number, number[]>();
  y.forEach((c, i) => {
    const g = groups.get(c);
    if (g) g.push(i);
    else groups.set(c, [i]);
  });
  return [...groups.keys()].sort((a, b) => a - b).map((c) => groups.get(c)!);
}

/**
 * k-fold cross-validation: a random permutation cut into k folds of sizes differing by at most one (stratified
 * by `opts.stratify` labels: each class dealt round-robin over the folds). Returns k splits, fold f as test.
 *
 * @throws RobustMetricError BAD_INPUT unless 2 ≤ k ≤ n.
 */
export function kFold(n: number, k: number, rng: Rng, opts: { stratify?: Int32Array } = {}): Split[] {
  if (!Number.isInteger(k) || k < 2 || k > n)
    throw new RobustMetricError("BAD_INPUT", `k-fold needs 2 ≤ k ≤ ${n}, got ${k}`);
  const fold = new Int32Array(n);
  if (opts.stratify) {
    if (opts.stratify.length !== n)
      throw new RobustMetricError(
        "SHAPE_MISMATCH",
        `stratify has ${opts.stratify.length} labels for ${n} rows`,
      );
    let next = 0;
    for (const members of byClass(opts.stratify)) {
      rng.shuffle(members);
      for (const i of members) fold[i] = next++ % k;
    }
  } else {
    const perm = rng.permutation(n);
    perm.forEach((row, pos) => {
      fold[row] = Math.floor((pos * k) / n);
    });
  }
  return Array.from({ length: k }, (_, f) => {
    const train: number[] = [];
    const test: number[] = [];
    for (let i = 0; i < n; i++) (fold[i] === f ? test : train).push(i);
    return { train: Int32Array.from(train), test: Int32Array.from(test) };
  });
}

/**
 * Reads a splits file `{splits: [{train: [...], test: [...]}, ...]}` (0-based rows; extra fields ignored). The
 * order of the indices is kept (it matters for distance ties in some references).
 *
 * @param n number of rows of the data set, to check the indices against.
 * @throws RobustMetricError BAD_INPUT naming the split (1-based) and the offending index.
 */
export function parseSplitsFile(text: string, n?: number): Split[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new RobustMetricError("BAD_INPUT", `splits file is not valid JSON: ${(e as Error).message}`);
  }
  const splits = (doc as { splits?: unknown } | null)?.splits;
  if (!Array.isArray(splits) || splits.length === 0) {
    throw new RobustMetricError(
      "BAD_INPUT",
      "splits file must be {splits: [{train: [...], test: [...]}, ...]} with at least one split",
    );
  }
  return splits.map((s, k) => {
    const where = `splits file, split ${k + 1}`;
    const part = (v: unknown, name: string): Int32Array => {
      if (!Array.isArray(v) || v.length === 0)
        throw new RobustMetricError("BAD_INPUT", `${where}: '${name}' must be a non-empty array`);
      return Int32Array.from(v, (i) => {
        if (typeof i !== "number" || !Number.isInteger(i) || i < 0 || (n !== undefined && i >= n)) {
          throw new RobustMetricError(
            "BAD_INPUT",
            `${where}: ${name} index ${JSON.stringify(i)} is not a row of 0..${n === undefined ? "n" : n - 1}`,
          );
        }
        return i;
      });
    };
    const train = part((s as Record<string, unknown>)?.train, "train");
    const test = part((s as Record<string, unknown>)?.test, "test");
    const seen = new Set<number>();
    for (const i of train) {
      if (seen.has(i)) throw new RobustMetricError("BAD_INPUT", `${where}: row ${i} appears twice in train`);
      seen.add(i);
    }
    const testSeen = new Set<number>();
    for (const i of test) {
      if (seen.has(i))
        throw new RobustMetricError("BAD_INPUT", `${where}: row ${i} is in both train and test`);
      if (testSeen.has(i))
        throw new RobustMetricError("BAD_INPUT", `${where}: row ${i} appears twice in test`);
      testSeen.add(i);
    }
    return { train, test };
  });
}
