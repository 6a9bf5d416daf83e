import { RobustMetricError } from "../errors.js";

/** Arithmetic mean; NaN-free: throws BAD_INPUT on an empty list. */
export function mean(xs: ArrayLike<number>): number {
  if (xs.length === 0) throw new RobustMetricError("BAD_INPUT", "mean of an empty list");
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s / xs.length;
}

/**
 * Sample standard deviation with N − 1 in the denominator (as MATLAB's `std` and the papers' tables);
 * 0 for a single value.
 */
export function std(xs: ArrayLike<number>): number {
  const n = xs.length;
  if (n < 2) return 0;
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < n; i++) s += (xs[i]! - m) ** 2;
  return Math.sqrt(s / (n - 1));
}

/** Median (mean of the two middle values for an even count). */
export function median(xs: ArrayLike<number>): number {
  if (xs.length === 0) throw new RobustMetricError("BAD_INPUT", "median of an empty list");
  const s = Array.from(xs).sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}
