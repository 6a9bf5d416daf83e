import { RobustMetricError } from "../errors.js";
import { forEachDistanceRow, rowDist } from "../linalg/distance.js";
import type { Mat } from "../linalg/mat.js";
import { type AxesCache, type Candidates, impostorCandidates } from "./impostor-kernel.js";

/** Target neighbours: for anchor i, `index[start[i] .. start[i+1])` are its same-class neighbours, nearest first. */
export interface TargetNeighbours {
  start: Int32Array;
  index: Int32Array;
  /** Warnings (a class with fewer than k + 1 members). */
  warnings: string[];
}

// Kept here too (it started here) so that existing imports of it from constraints keep working.
export { forEachDistanceRow };

/** The `count` smallest (distance, index) entries of d among indices where keep(j), ascending, ties to lower index. */
export function nearest(d: Float64Array, count: number, keep: (j: number) => boolean): number[] {
  const idx: number[] = [];
  const dist: number[] = [];
  for (let j = 0; j < d.length; j++) {
    if (!keep(j)) continue;
    const v = d[j]!;
    if (idx.length === count && !(v < dist[count - 1]!)) continue;
    let pos = idx.length < count ? idx.length : count - 1;
    if (idx.length < count) {
      idx.push(0);
      dist.push(0);
    }
    while (pos > 0 && dist[pos - 1]! > v) {
      idx[pos] = idx[pos - 1]!;
      dist[pos] = dist[pos - 1]!;
      pos--;
    }
    idx[pos] = j;
    dist[pos] = v;
  }
  return idx;
}

/**
 * The k nearest same-class points of every point under the Euclidean metric (LMNN's target neighbours, fixed
 * before training). The point itself is excluded by index (so an exact duplicate is a legitimate neighbour), equal
 * distances go to the lower index. A class with fewer than k + 1 members gives its points all the members there
 * are (fewer than k targets) and one warning.
 *
 * @throws RobustMetricError BAD_INPUT for k < 1 or a length mismatch.
 */
export function targetNeighbours(X: Mat, y: Int32Array, k: number): TargetNeighbours {
  if (!Number.isInteger(k) || k < 1)
    throw new RobustMetricError("BAD_INPUT", `k must be a positive integer, got ${k}`);
  if (X.rows !== y.length)
    throw new RobustMetricError("SHAPE_MISMATCH", `X has ${X.rows} rows but y has ${y.length} labels`);
  const n = X.rows;
  const start = new Int32Array(n + 1);
  const lists: number[][] = new Array(n);
  const counts = new Map<number, number>();
  for (const c of y) counts.set(c, (counts.get(c) ?? 0) + 1);
  const warnings: string[] = [];
  const small = [...counts].filter(([, m]) => m < k + 1).sort((a, b) => a[0] - b[0]);
  if (small.length > 0) {
    warnings.push(
      `class code${small.length > 1 ? "s" : ""} ${small.map(([c, m]) => `${c} (${m} member${m === 1 ? "" : "s"})`).join(", ")} ` +
        `ha${small.length > 1 ? "ve" : "s"} fewer than k + 1 = ${k + 1} points; their points use the neighbours there are`,
    );
  }
  forEachDistanceRow(X, (i, d) => {
    const c = y[i]!;
    lists[i] = nearest(d, k, (j) => j !== i && y[j] === c);
  });
  for (let i = 0; i < n; i++) start[i + 1] = start[i]! + lists[i]!.length;
  const index = new Int32Array(start[n]!);
  for (let i = 0; i < n; i++) index.set(lists[i]!, start[i]!);
  return { start, index, warnings };
}

/** Triplets as parallel index arrays (anchor i, target j, impostor l). */
export interface Triplets {
  anchor: Int32Array;
  target: Int32Array;
  impostor: Int32Array;
}

/**
 * The LMNN-PL authors' fixed triplet set (reference/perturbation-loss.md §4): for every anchor i, its targets ×
 * its v nearest other-class points under the Euclidean metric, all combinations, ordered by anchor, target rank,
 * impostor rank; never refreshed.
 */
export function fixedTriplets(X: Mat, y: Int32Array, targets: TargetNeighbours, v: number): Triplets {
  if (!Number.isInteger(v) || v < 1)
    throw new RobustMetricError("BAD_INPUT", `v must be a positive integer, got ${v}`);
  const a: number[] = [];
  const t: number[] = [];
  const l: number[] = [];
  forEachDistanceRow(X, (i, d) => {
    const imp = nearest(d, v, (j) => y[j] !== y[i]);
    for (let s = targets.start[i]!; s < targets.start[i + 1]!; s++) {
      for (const q of imp) {
        a.push(i);
        t.push(targets.index[s]!);
        l.push(q);
      }
    }
  });
  return { anchor: Int32Array.from(a), target: Int32Array.from(t), impostor: Int32Array.from(l) };
}

/**
 * LMNN's impostor candidates under the current metric (rows of Z = X·Lᵀ): for each anchor i, every other-class
 * l with d²(i, l) < max_j d²(i, j) + margin over its targets j — a superset of the points that violate any of its
 * triplets, so the triplet set (i, j, l) it yields is the active set until the metric moves far. Ordered by anchor,
 * impostor, target rank.
 *
 * With WebAssembly the candidates come from {@link impostorCandidates} (no n×n matrix; most pairs rejected on a
 * lower bound); without it from the full distance matrix ({@link impostorTripletsDense}). Both give the same
 * triplets: the distances have the same bits and the bound rejects only pairs outside both radii. A learner that
 * re-selects often passes the same `scratch` each time (the kernel keeps its projection axes there, the dense
 * search its n×n buffer).
 */
export function impostorTriplets(
  Z: Mat,
  y: Int32Array,
  targets: TargetNeighbours,
  margin = 1,
  scratch: { buffer?: Float64Array; axes?: AxesCache } = {},
): Triplets {
  return impostorSearch(Z, y, targets, margin, scratch, false);
}

/**
 * {@link impostorTriplets} with the candidates from the full distance matrix, row by row (the search without
 * WebAssembly). A learner that re-selects often passes the same `scratch` each time: the n×n distance buffer is
 * then allocated once, not faulted in afresh (21 MB for 1617 points) at every call.
 */
export function impostorTripletsDense(
  Z: Mat,
  y: Int32Array,
  targets: TargetNeighbours,
  margin = 1,
  scratch: { buffer?: Float64Array } = {},
): Triplets {
  return impostorSearch(Z, y, targets, margin, scratch, true);
}

/** The radii, the candidates (by the kernel unless `dense` or unavailable), then the triplets inside the margin. */
function impostorSearch(
  Z: Mat,
  y: Int32Array,
  targets: TargetNeighbours,
  margin: number,
  scratch: { buffer?: Float64Array; axes?: AxesCache },
  dense: boolean,
): Triplets {
  const { rows: n, cols: p } = Z;
  const tdist = new Float64Array(targets.index.length);
  const rad = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < n; i++) {
    const s0 = targets.start[i]!;
    const s1 = targets.start[i + 1]!;
    if (s1 === s0) continue;
    let radius = 0;
    for (let s = s0; s < s1; s++) {
      const j = targets.index[s]!;
      // the orientation of the symmetric matrix's upper triangle ((a − b)² = (b − a)² anyway)
      tdist[s] = i < j ? rowDist(Z.data, i * p, Z.data, j * p, p) : rowDist(Z.data, j * p, Z.data, i * p, p);
      radius = Math.max(radius, tdist[s]!);
    }
    rad[i] = radius + margin;
  }
  scratch.axes ??= {};
  const cand = (!dense && impostorCandidates(Z, y, rad, scratch.axes)) || denseCandidates(Z, y, rad, scratch);
  const a: number[] = [];
  const t: number[] = [];
  const l: number[] = [];
  for (let c = 0; c < cand.anchor.length; c++) {
    const i = cand.anchor[c]!;
    const q = cand.other[c]!;
    const d = cand.dist[c]!;
    for (let s = targets.start[i]!; s < targets.start[i + 1]!; s++) {
      // only triplets inside the hinge (or near it) can be active
      if (d < tdist[s]! + margin) {
        a.push(i);
        t.push(targets.index[s]!);
        l.push(q);
      }
    }
  }
  return { anchor: Int32Array.from(a), target: Int32Array.from(t), impostor: Int32Array.from(l) };
}

/** {@link impostorCandidates} from the full distance matrix (its entries have the bits of the kernel's). */
function denseCandidates(
  Z: Mat,
  y: Int32Array,
  rad: Float64Array,
  scratch: { buffer?: Float64Array },
): Candidates {
  const a: number[] = [];
  const b: number[] = [];
  const dist: number[] = [];
  forEachDistanceRow(
    Z,
    (i, d) => {
      const radius = rad[i]!;
      const c = y[i]!;
      for (let q = 0; q < d.length; q++) {
        // the distance test first: it rejects most points and is predictable, the class test is not
        if (!(d[q]! < radius) || y[q] === c) continue;
        a.push(i);
        b.push(q);
        dist.push(d[q]!);
      }
    },
    scratch,
  );
  return { anchor: Int32Array.from(a), other: Int32Array.from(b), dist: Float64Array.from(dist) };
}
