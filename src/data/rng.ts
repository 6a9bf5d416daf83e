import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { RobustMetricError } from "../errors.js";

type JumpableRandomGenerator = ReturnType<typeof xoroshiro128plus>;

/**
 * Seeded random numbers: pure-rand's xoroshiro128+ behind a small, explicit API. All randomness in
 * robust-metric comes from an `Rng` passed in by the caller, so the same seed gives the same bits.
 *
 * @example
 * const rng = new Rng(0);
 * rng.uniform(); rng.normal(); rng.int(0, 9); rng.shuffle([1, 2, 3]);
 * const child = rng.fork(); // an independent stream, e.g. one per split
 */
export class Rng {
  private gen: JumpableRandomGenerator;
  private spare: number | undefined;

  constructor(seed: number) {
    if (!Number.isInteger(seed))
      throw new RobustMetricError("BAD_INPUT", `seed must be an integer, got ${seed}`);
    this.gen = xoroshiro128plus(seed | 0);
  }

  /** Uniform in [0, 1), 53 random bits. */
  uniform(): number {
    return uniformFloat64(this.gen);
  }

  /** Standard normal (Marsaglia polar method; the second value is cached). */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    for (;;) {
      const u = 2 * this.uniform() - 1;
      const v = 2 * this.uniform() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const f = Math.sqrt((-2 * Math.log(s)) / s);
        this.spare = v * f;
        return u * f;
      }
    }
  }

  /** Uniform integer in [from, to], both included. */
  int(from: number, to: number): number {
    if (!Number.isInteger(from) || !Number.isInteger(to) || to < from) {
      throw new RobustMetricError("BAD_INPUT", `invalid integer range [${from}, ${to}]`);
    }
    return uniformInt(this.gen, from, to);
  }

  /** Shuffles `arr` in place (Fisher–Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(arr: T): T {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
    return arr;
  }

  /** A random permutation of 0..n−1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /**
   * An independent child generator (its seed is drawn from this stream, so forks are reproducible and
   * the parent advances by one draw).
   */
  fork(): Rng {
    return new Rng(this.int(-0x80000000, 0x7fffffff));
  }
}
