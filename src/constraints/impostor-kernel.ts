// LMNN's impostor candidates without the n×n distance matrix: a WebAssembly SIMD kernel walks the pairs i < q of
// different classes, rejects most of them on a cheap lower bound of their distance — the length of the difference
// projected on the 16 leading principal axes of the points, an orthonormal projection, so never longer than the
// difference itself — and computes the exact squared distance only for the rest, in the order of the distance
// kernels (so the same bits as sqDistances). The candidate set is exactly the one of the full matrix: the bound,
// with its rounding accounted for, only skips pairs whose distance reaches both radii. On digits (n = 1258,
// p = 64) about 3 % of the pairs survive the bound under LMNN's metrics, 1.5 % to 4 % along a fit.
import { eigh } from "../linalg/eigh.js";
import { gemm } from "../linalg/gemm.js";
import type { Mat } from "../linalg/mat.js";
import { rowParallel } from "../linalg/parallel.js";
import {
  at4,
  at8,
  cat,
  decl,
  Fn,
  f64add,
  f64gt,
  f64load,
  f64lt,
  f64max,
  f64mul,
  f64store,
  f64sub,
  f64x2add,
  f64x2mul,
  f64x2sub,
  I32,
  i32add,
  i32and,
  i32c,
  i32eq,
  i32le,
  i32load,
  i32lt,
  i32shl,
  i32store,
  i32sub,
  ifThen,
  laneSum,
  v128zero,
  whileLoop,
} from "../linalg/wasm-encoder.js";
import { align16, WasmRuntime } from "../linalg/wasm-linalg.js";

/**
 * Relative slack of the rejection test: the sums of squares (bound and exact distance) are each within (terms)·2^−53
 * relative of their exact values and the projection's rows are orthonormal to ~1e−15·p; 1e−10 covers both for any
 * p below 10^5. The projected coordinates' absolute rounding is accounted for per row (`err`).
 */
const BOUND_SLACK = 1 + 1e-10;

/** Principal axes in the bound: enough to reject most far pairs, few enough to cost little next to the exact sum. */
const LEAD_AXES = 16;

/**
 * candidates(z lead y rad tt outA outB outD cnt cap i0 i1 n p first bound) → next row. For rows i in [i0, i1), q > i
 * with y_q ≠ y_i: unless `bound` and Σ_k (l_ik − l_qk)² > max(tt_i, tt_q) (l: the projected points, 16 columns;
 * tt: squared rejection radii), d = Σ_{k ≥ first} (z_ik − z_qk)² (even and odd coordinates in the two lanes, then
 * the odd last one: the distance kernels' order); when d < rad_i it emits (i, q, d), when d < rad_q it emits
 * (q, i, d). Stops before a row that could overflow `cap` entries (a row emits at most 2(n − i − 1)); the count is
 * stored at `cnt` and the number of exact distances computed after it; returns the first row not done.
 */
function kernelCandidates(): Fn {
  const quads = Array.from({ length: LEAD_AXES / 2 }, (_, k) => k);
  const f = new Fn(
    "candidates",
    decl("z lead y rad tt outA outB outD cnt cap i0 i1 n p first bound"),
    decl(
      `i q k p2 zi zq li lq yi m ex acc:v128 acc0:v128 acc1:v128 t:v128 ${quads.map((k) => `l${k}:v128`).join(" ")} ` +
        "ri:f64 rq:f64 ti:f64 d:f64 u:f64",
    ),
    I32,
    null,
  );
  const emit = (a: string, b: string) =>
    cat(
      i32store(at4(f.get("outA"), f.get("m")), f.get(a)),
      i32store(at4(f.get("outB"), f.get("m")), f.get(b)),
      f64store(at8(f.get("outD"), f.get("m")), f.get("d")),
      f.inc("m"),
    );
  const leadRow = (r: string) => i32add(f.get("lead"), i32shl(f.get(r), i32c(Math.log2(8 * LEAD_AXES))));
  // q++ and back to the q loop's test, from an if at the loop body's top level (br 1 = the loop) or from one
  // nested in another (br 2)
  const nextQ = (depth = 1) => cat(f.inc("q"), [0x0c, depth]);
  // the bound: row i's projection is in the locals l0…l7, two accumulators (its summation order is free)
  const bound = cat(
    f.set("lq", leadRow("q")),
    ...quads.map((k) =>
      cat(
        f.set("t", f64x2sub(f.get(`l${k}`), f.ldv("lq", 2 * k))),
        k < 2
          ? f.set(`acc${k}`, f64x2mul(f.get("t"), f.get("t")))
          : f.set(`acc${k & 1}`, f64x2add(f.get(`acc${k & 1}`), f64x2mul(f.get("t"), f.get("t")))),
      ),
    ),
    f.set("acc", f64x2add(f.get("acc0"), f.get("acc1"))),
    // nested in ifThen(bound): br 2
    ifThen(f64gt(laneSum(f, "acc"), f64max(f.get("ti"), f64load(at8(f.get("tt"), f.get("q"))))), nextQ(2)),
  );
  const pair = cat(
    ifThen(i32eq(i32load(at4(f.get("y"), f.get("q"))), f.get("yi")), nextQ()),
    ifThen(f.get("bound"), bound),
    f.inc("ex"),
    f.set("zq", f.row("z", "q")),
    f.set("acc", v128zero()),
    f.for(
      "k",
      f.get("first"),
      f.get("p2"),
      cat(
        f.set("t", f64x2sub(f.ldv("zi", f.get("k")), f.ldv("zq", f.get("k")))),
        f.set("acc", f64x2add(f.get("acc"), f64x2mul(f.get("t"), f.get("t")))),
      ),
      2,
    ),
    f.set("d", laneSum(f, "acc")),
    ifThen(
      i32lt(f.get("p2"), f.get("p")),
      cat(
        f.set("u", f64sub(f.ldf("zi", f.get("p2")), f.ldf("zq", f.get("p2")))),
        f.set("d", f64add(f.get("d"), f64mul(f.get("u"), f.get("u")))),
      ),
    ),
    f.set("rq", f64load(at8(f.get("rad"), f.get("q")))),
    ifThen(f64lt(f.get("d"), f.get("ri")), emit("i", "q")),
    ifThen(f64lt(f.get("d"), f.get("rq")), emit("q", "i")),
  );
  f.body = cat(
    f.prologue(),
    f.set("m", i32c(0)),
    f.set("i", f.get("i0")),
    whileLoop(
      i32and(
        i32lt(f.get("i"), f.get("i1")),
        i32le(i32add(f.get("m"), i32shl(i32sub(f.get("n"), f.get("i")), i32c(1))), f.get("cap")),
      ),
      cat(
        f.set("zi", f.row("z", "i")),
        f.set("yi", i32load(at4(f.get("y"), f.get("i")))),
        f.set("ri", f64load(at8(f.get("rad"), f.get("i")))),
        ifThen(
          f.get("bound"),
          cat(
            f.set("li", leadRow("i")),
            ...quads.map((k) => f.set(`l${k}`, f.ldv("li", 2 * k))),
            f.set("ti", f64load(at8(f.get("tt"), f.get("i")))),
          ),
        ),
        f.for("q", i32add(f.get("i"), i32c(1)), f.get("n"), pair),
        f.inc("i"),
      ),
    ),
    i32store(f.get("cnt"), f.get("m")),
    i32store(i32add(f.get("cnt"), i32c(4)), f.get("ex")),
    f.get("i"),
  );
  return f;
}

interface CandidateExports {
  candidates(
    z: number,
    lead: number,
    y: number,
    rad: number,
    tt: number,
    outA: number,
    outB: number,
    outD: number,
    cnt: number,
    cap: number,
    i0: number,
    i1: number,
    n: number,
    p: number,
    first: number,
    bound: number,
  ): number;
}

const runtime = new WasmRuntime<CandidateExports>(() => [kernelCandidates()]);
/** The same kernel on a shared memory, used when a thread pool is registered (its threads run it on their rows). */
const sharedRuntime = new WasmRuntime<CandidateExports>(() => [kernelCandidates()], true);

/** Entries of a thread's output slot at most (64 MB): beyond, the calling thread completes the thread's rows. */
const MAX_SLOT = 1 << 22;

/** Rows the principal axes are estimated from (any orthonormal axes give a valid bound; good ones a tight one). */
const AXES_SAMPLE = 256;

/** The candidate pairs (anchor, other) with their squared distances, anchors ascending, others ascending within. */
export interface Candidates {
  anchor: Int32Array;
  other: Int32Array;
  dist: Float64Array;
}

/**
 * Every ordered pair (i, q) of different classes with d²(z_i, z_q) < rad_i, by the kernel (null when WebAssembly
 * SIMD is unavailable or the JavaScript kernels are forced). The distances have the bits of sqDistances(Z, Z).
 * `first` (even) leading columns of Z that are zero in every row are skipped: adding their zero terms first leaves
 * the two lane sums, so the bits, unchanged.
 */
export function impostorCandidates(
  Z: Mat,
  y: Int32Array,
  rad: Float64Array,
  cache: AxesCache = {},
): Candidates | null {
  const threads = rowParallel()?.threads ?? 1;
  const rt =
    threads > 1 && typeof SharedArrayBuffer !== "undefined" && sharedRuntime.exports()
      ? sharedRuntime
      : runtime;
  const k = rt.exports();
  if (!k) return null;
  const { rows: n, cols: p } = Z;
  const zd = Z.data;
  // leading all-zero columns (clipped eigen-directions come first in an eigen-ordered L), skipped in pairs
  let zeroCols = 0;
  while (zeroCols < p && isZeroColumn(zd, n, p, zeroCols)) zeroCols++;
  const first = zeroCols & ~1;
  const { lead, C, err, fresh } = projection(Z, cache);
  // squared rejection radius per row: (√rad + twice the largest rounding bound)², with the relative slack
  let emax = 0;
  for (const e of err) emax = Math.max(emax, e);
  const tt = rad.map((r) => (Math.sqrt(Math.max(r, 0)) + 2 * emax) ** 2 * BOUND_SLACK);
  // one output slot per thread (the calling thread's is slot 0, drained as it fills); a thread's slot holds twice
  // the entries of the last call (the pool's threads cannot drain theirs: the calling thread completes their rows
  // when a slot fills)
  const slots = rt === sharedRuntime ? threads : 1;
  const cap = Math.max(2 * n, 1 << 16, Math.min(2 * (cache.entries ?? 0), MAX_SLOT));
  const at = { z: 0, lead: 0, y: 0, rad: 0, tt: 0, cnt: 0, stop: 0, outA: 0, outB: 0, outD: 0 };
  let bytes = 0;
  const place = (key: keyof typeof at, size: number) => {
    at[key] = bytes;
    bytes += align16(size);
  };
  place("z", n * p * 8);
  place("lead", n * C * 8);
  place("y", n * 4);
  place("rad", n * 8);
  place("tt", n * 8);
  place("cnt", 8 * slots);
  place("stop", 4 * slots);
  place("outA", cap * 4 * slots);
  place("outB", cap * 4 * slots);
  place("outD", cap * 8 * slots);
  const buf = rt.reserve(bytes);
  new Float64Array(buf, at.z, n * p).set(zd.subarray(0, n * p));
  new Float64Array(buf, at.lead, n * C).set(lead);
  new Float64Array(buf, at.tt, n).set(tt);
  new Int32Array(buf, at.y, n).set(y.subarray(0, n));
  new Float64Array(buf, at.rad, n).set(rad.subarray(0, n));
  const outA = new Int32Array(buf, at.outA, cap * slots);
  const outB = new Int32Array(buf, at.outB, cap * slots);
  const outD = new Float64Array(buf, at.outD, cap * slots);
  const count = new Int32Array(buf, at.cnt, 2 * slots);
  const a: number[] = [];
  const b: number[] = [];
  const d: number[] = [];
  let exact = 0;
  const bound = C > 0 ? 1 : 0;
  // rows [i0, i1) into slot 0, drained after every call, appended to a, b, d
  const rows = (i0: number, i1: number) => {
    for (let i = i0; i < i1; ) {
      i = k.candidates(
        at.z,
        at.lead,
        at.y,
        at.rad,
        at.tt,
        at.outA,
        at.outB,
        at.outD,
        at.cnt,
        cap,
        i,
        i1,
        n,
        p,
        first,
        bound,
      );
      const m = count[0]!;
      exact += count[1]!;
      for (let s = 0; s < m; s++) {
        a.push(outA[s]!);
        b.push(outB[s]!);
        d.push(outD[s]!);
      }
    }
  };
  // the rows split among the pool's threads (weighted n − i): the calling thread does the first range, then the
  // threads' entries are appended range by range, each range completed here where its thread's slot filled up —
  // the entries of one call over all rows, in the same order
  let split: { bounds: number[]; owners: number[] } | undefined;
  const pooled =
    rt === sharedRuntime &&
    rowParallel()!.run({
      name: "wasmCandidates",
      memory: sharedRuntime.instance.memory,
      module: sharedRuntime.instance.mod,
      n,
      args: { z: at.z, lead: at.lead, y: at.y, rad: at.rad, tt: at.tt, p, first, bound },
      outA: at.outA,
      outB: at.outB,
      outD: at.outD,
      cnt: at.cnt,
      stop: at.stop,
      cap,
      own: (r0, r1, bounds, owners) => {
        split = { bounds, owners };
        rows(r0, r1);
      },
    });
  if (pooled && split) {
    const { bounds, owners } = split;
    const stop = new Int32Array(buf, at.stop, slots);
    for (let r = 1; r + 1 < bounds.length; r++) {
      const t = owners[r]!;
      const m = count[2 * t]!;
      exact += count[2 * t + 1]!;
      for (let s = t * cap; s < t * cap + m; s++) {
        a.push(outA[s]!);
        b.push(outB[s]!);
        d.push(outD[s]!);
      }
      rows(stop[t]!, bounds[r + 1]!);
    }
  } else rows(0, n);
  cache.entries = a.length;
  const share = exact / Math.max(1, (n * (n - 1)) / 2);
  if (fresh) cache.fresh = share;
  cache.last = share;
  // by anchor, stably: each anchor's entries were emitted with the other point ascending (rows q < i first, while
  // their rows ran, then row i itself)
  const start = new Int32Array(n + 1);
  for (const i of a) start[i + 1]!++;
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  const fill = start.slice(0, n);
  const anchor = new Int32Array(a.length);
  const other = new Int32Array(a.length);
  const dist = new Float64Array(a.length);
  for (let s = 0; s < a.length; s++) {
    const at2 = fill[a[s]!]!++;
    anchor[at2] = a[s]!;
    other[at2] = b[s]!;
    dist[at2] = d[s]!;
  }
  return { anchor, other, dist };
}

function isZeroColumn(zd: Float64Array, n: number, p: number, c: number): boolean {
  for (let i = 0; i < n; i++) if (zd[i * p + c] !== 0) return false;
  return true;
}

/**
 * Principal axes kept between calls of one fit (the metric moves little from one re-selection to the next): reused
 * until the share of pairs that pass the bound has doubled since they were computed (and is above 5 %).
 */
export interface AxesCache {
  V?: Mat;
  /** Share of pairs computed exactly in the call that computed V, and in the last call. */
  fresh?: number;
  last?: number;
  /** Candidates found by the last call (sizes the pool's threads' output slots). */
  entries?: number;
}

/**
 * The points centred and projected on the leading principal axes of a row sample (n×C, C even; C = 0 when p is
 * small enough that the exact sum costs no more than a bound), and per row the bound on the rounding error of its
 * projected coordinates: each is a p-term dot product of a unit vector with the centred row, within (p + 2)·2^−53
 * of ‖row‖ (taken 4× over), so the projected difference is off by at most √C times that for each of the two rows.
 */
function projection(
  Z: Mat,
  cache: AxesCache,
): { lead: Float64Array; C: number; err: Float64Array; fresh: boolean } {
  const { rows: n, cols: p } = Z;
  const zd = Z.data;
  const err = new Float64Array(n);
  if (p <= LEAD_AXES) return { lead: new Float64Array(0), C: 0, err, fresh: false };
  const mean = new Float64Array(p);
  for (let i = 0; i < n; i++) for (let c = 0; c < p; c++) mean[c]! += zd[i * p + c]!;
  for (let c = 0; c < p; c++) mean[c] = mean[c]! / n;
  const A: Mat = { rows: n, cols: p, data: new Float64Array(n * p) };
  for (let i = 0; i < n; i++) for (let c = 0; c < p; c++) A.data[i * p + c] = zd[i * p + c]! - mean[c]!;
  const C = LEAD_AXES;
  const stale =
    cache.last === undefined ||
    cache.fresh === undefined ||
    (cache.last > 0.05 && cache.last > 2 * cache.fresh);
  const fresh = !cache.V || cache.V.rows !== p || stale;
  if (fresh) cache.V = principalAxes(A, C);
  const V = cache.V!;
  const lead = gemm(A, V).data;
  const unit = 4 * Math.sqrt(C) * (p + 2) * 2 ** -52;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0; c < p; c++) s += A.data[i * p + c]! ** 2;
    err[i] = unit * Math.sqrt(s);
  }
  return { lead, C, err, fresh };
}

/** The C leading principal axes (p×C, orthonormal columns) of the centred rows of A, from an evenly spaced sample. */
function principalAxes(A: Mat, C: number): Mat {
  const { rows: n, cols: p } = A;
  // covariance of the sample (upper triangle, then mirrored: eigh wants exact symmetry)
  const step = Math.max(1, Math.floor(n / AXES_SAMPLE));
  const S = new Float64Array(p * p);
  for (let i = 0; i < n; i += step) {
    const o = i * p;
    for (let a = 0; a < p; a++) {
      const va = A.data[o + a]!;
      for (let b = a; b < p; b++) S[a * p + b]! += va * A.data[o + b]!;
    }
  }
  for (let a = 0; a < p; a++) for (let b = 0; b < a; b++) S[a * p + b] = S[b * p + a]!;
  const { vectors } = eigh({ rows: p, cols: p, data: S });
  // the last C eigenvectors (values ascending)
  const V: Mat = { rows: p, cols: C, data: new Float64Array(p * C) };
  for (let c = 0; c < p; c++)
    for (let k = 0; k < C; k++) V.data[c * C + k] = vectors.data[c * p + (p - 1 - k)]!;
  return V;
}
