// Paired Wilcoxon signed-rank test (Wilcoxon 1945), as used to compare two methods over the same splits.
import { RobustMetricError } from "../errors.js";

/** What {@link wilcoxonSignedRank} returns. */
export interface WilcoxonResult {
  /** min(W⁺, W⁻): the smaller of the positive-rank and negative-rank sums (scipy's two-sided statistic). */
  statistic: number;
  /** Sum of the ranks of the positive differences x − y. */
  wPlus: number;
  /** Sum of the ranks of the negative differences. */
  wMinus: number;
  /** Number of non-zero differences (zeros are dropped, Wilcoxon's original treatment). */
  n: number;
  /** Two-sided p-value. */
  p: number;
  /** "exact" (null distribution enumerated) or "normal" (tie-corrected normal approximation). */
  method: "exact" | "normal";
  /** Whether some |differences| were tied (mid-ranks used). */
  ties: boolean;
}

/** Options of {@link wilcoxonSignedRank}. */
export interface WilcoxonOptions {
  /** Largest n (non-zero differences) for which the exact (permutation) distribution is used (25). */
  exactMaxN?: number;
  /** Continuity correction of ±0.5 in the normal approximation (default true, as R's wilcox.test). */
  correction?: boolean;
  /** |difference| ≤ zeroTol counts as zero (default 0: only exact zeros; accuracies on the same test part are
   *  multiples of 1/n_test, so equal accuracies subtract to exactly 0). */
  zeroTol?: number;
}

/**
 * The paired, two-sided Wilcoxon signed-rank test of H₀ "the differences x_i − y_i are symmetric about 0".
 * Zero differences are dropped (Wilcoxon's method; n counts the rest), tied |differences| get mid-ranks. With n ≤
 * `exactMaxN` (25) the p-value is exact: 2·P(W⁺ ≤ min(W⁺, W⁻)) (capped at 1) under the permutation null
 * distribution of the observed ranks (every sign pattern equally likely), counted by dynamic programming over
 * doubled ranks (mid-ranks are multiples of ½); without ties this is the classical exact table. Otherwise the
 * normal approximation with the tie correction of the variance, n(n+1)(2n+1)/24 − Σ(t³ − t)/48, and a continuity
 * correction of 0.5. n = 0 gives p = 1.
 *
 * @throws RobustMetricError SHAPE_MISMATCH for samples of different lengths, BAD_INPUT for a NaN value.
 * @example
 * // Darwin's Zea mays differences (Fisher 1935): exact two-sided p = 0.041259765625
 * wilcoxonSignedRank([6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75], new Array(15).fill(0)).p;
 */
export function wilcoxonSignedRank(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  opts: WilcoxonOptions = {},
): WilcoxonResult {
  if (x.length !== y.length)
    throw new RobustMetricError("SHAPE_MISMATCH", `paired samples of lengths ${x.length} and ${y.length}`);
  const zeroTol = opts.zeroTol ?? 0;
  const d: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const v = x[i]! - y[i]!;
    if (Number.isNaN(v)) throw new RobustMetricError("BAD_INPUT", `pair ${i} has a NaN value`);
    if (Math.abs(v) > zeroTol) d.push(v);
  }
  const n = d.length;
  if (n === 0) return { statistic: 0, wPlus: 0, wMinus: 0, n: 0, p: 1, method: "exact", ties: false };
  const order = d.map((_, i) => i).sort((a, b) => Math.abs(d[a]!) - Math.abs(d[b]!));
  const ranks = new Float64Array(n);
  let tieTerm = 0;
  for (let s = 0; s < n; ) {
    let e = s + 1;
    while (e < n && Math.abs(d[order[e]!]!) === Math.abs(d[order[s]!]!)) e++;
    const mid = (s + 1 + e) / 2; // mean of ranks s+1 .. e
    for (let q = s; q < e; q++) ranks[order[q]!] = mid;
    const t = e - s;
    tieTerm += t * t * t - t;
    s = e;
  }
  let wPlus = 0;
  for (let i = 0; i < n; i++) if (d[i]! > 0) wPlus += ranks[i]!;
  const total = (n * (n + 1)) / 2;
  const wMinus = total - wPlus;
  const statistic = Math.min(wPlus, wMinus);
  const ties = tieTerm > 0;
  if (n <= (opts.exactMaxN ?? 25)) {
    return { statistic, wPlus, wMinus, n, p: exactP(ranks, statistic), method: "exact", ties };
  }
  const mu = total / 2;
  const sigma = Math.sqrt((n * (n + 1) * (2 * n + 1)) / 24 - tieTerm / 48);
  let p = 1;
  if (sigma > 0) {
    const cc = (opts.correction ?? true) ? 0.5 : 0;
    const z = Math.max(0, Math.abs(wPlus - mu) - cc) / sigma;
    p = Math.min(1, 2 * normalUpperTail(z));
  }
  return { statistic, wPlus, wMinus, n, p, method: "normal", ties };
}

/**
 * Two-sided exact p: 2·P(W⁺ ≤ w) under H₀ (each rank's sign + or − with probability ½, independently), capped
 * at 1. Works on doubled ranks, which are integers even with mid-ranks.
 */
function exactP(ranks: Float64Array, w: number): number {
  const n = ranks.length;
  const r2 = Array.from(ranks, (r) => Math.round(2 * r));
  const max = r2.reduce((a, b) => a + b, 0);
  // counts[s] = number of sign patterns whose doubled W⁺ is s; doubles are exact up to 2⁵³ (n ≤ 50 is far below)
  const counts = new Float64Array(max + 1);
  counts[0] = 1;
  for (const r of r2) for (let s = max; s >= r; s--) counts[s] = counts[s]! + counts[s - r]!;
  let below = 0;
  for (let s = 0; s <= Math.round(2 * w); s++) below += counts[s]!;
  return Math.min(1, (2 * below) / 2 ** n);
}

/**
 * The upper tail 1 − Φ(z) of the standard normal = erfc(z/√2)/2, to about 1e−14 relative: the Maclaurin series
 * of erf for z/√2 < 2.5, Lentz's continued fraction of erfc beyond.
 *
 * @example normalUpperTail(1.959963984540054); // 0.025
 */
export function normalUpperTail(z: number): number {
  if (Number.isNaN(z)) throw new RobustMetricError("BAD_INPUT", "normalUpperTail of NaN");
  if (z < 0) return 1 - normalUpperTail(-z);
  return erfc(z / Math.SQRT2) / 2;
}

function erfc(x: number): number {
  if (x < 2.5) {
    // erf(x) = 2/√π Σ (−1)ⁿ x^(2n+1) / (n! (2n+1))
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let k = 1; k < 200; k++) {
      term *= -x2 / k;
      const add = term / (2 * k + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))), modified Lentz
  const tiny = 1e-300;
  let f = x;
  let C = x;
  let D = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    D = x + a * D;
    D = D === 0 ? 1 / tiny : 1 / D;
    C = x + a / C;
    if (C === 0) C = tiny;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
}
