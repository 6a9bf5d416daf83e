// The inner loop of NCA's gradient as a WebAssembly SIMD kernel with its JavaScript twin: for one point i and its
// weighted neighbours (k, w), a_i += w·x_k (row i of W·X). Elementwise, so the backends give the same bits.
import {
  at4,
  cat,
  decl,
  Fn,
  f64add,
  f64load,
  f64mul,
  f64x2add,
  f64x2mul,
  f64x2splat,
  i32add,
  i32c,
  i32load,
  i32lt,
  i32shl,
  ifThen,
} from "../linalg/wasm-encoder.js";
import { align16, WasmRuntime } from "../linalg/wasm-linalg.js";

/** rowAxpy(x a idx wt i m p): for s < m, with k = idx[s] and w = wt[s]: a_i += w·x_k. */
function kernelRowAxpy(): Fn {
  const f = new Fn("rowAxpy", decl("x a idx wt i m p"), decl("s k c p2 ai xk w:f64 wv:v128"), null, null);
  f.body = cat(
    f.prologue(),
    f.set("ai", f.row("a", "i")),
    f.for(
      "s",
      i32c(0),
      f.get("m"),
      cat(
        f.set("k", i32load(at4(f.get("idx"), f.get("s")))),
        f.set("w", f64load(i32add(f.get("wt"), i32shl(f.get("s"), i32c(3))))),
        f.set("wv", f64x2splat(f.get("w"))),
        f.set("xk", f.row("x", "k")),
        f.for(
          "c",
          i32c(0),
          f.get("p2"),
          f.stv(
            "ai",
            f.get("c"),
            f64x2add(f.ldv("ai", f.get("c")), f64x2mul(f.get("wv"), f.ldv("xk", f.get("c")))),
          ),
          2,
        ),
        ifThen(
          i32lt(f.get("p2"), f.get("p")),
          f.stf(
            "ai",
            f.get("p2"),
            f64add(f.ldf("ai", f.get("p2")), f64mul(f.get("w"), f.ldf("xk", f.get("p2")))),
          ),
        ),
      ),
    ),
  );
  return f;
}

interface RowAxpyExports {
  rowAxpy(x: number, a: number, idx: number, wt: number, i: number, m: number, p: number): void;
}

const runtime = new WasmRuntime<RowAxpyExports>(() => [kernelRowAxpy()]);

/** Accumulates a = W·X (row i: Σ_k w_ik x_k) over the rows' weighted neighbours. */
export interface PairAccumulator {
  readonly backend: "wasm" | "js";
  /** Scratch for one row's neighbour indices and weights (length n): fill the first m, then call `row`. */
  readonly idx: Int32Array;
  readonly wt: Float64Array;
  row(i: number, m: number): void;
  /** The accumulated a (n×p); valid until the next accumulator is made. */
  result(): Float64Array;
}

/** An accumulator over the rows of X (n×p), in WebAssembly memory when the SIMD kernel is available. */
export function pairAccumulator(X: Float64Array, n: number, p: number): PairAccumulator {
  const k = runtime.exports();
  if (!k) {
    const a = new Float64Array(n * p);
    const idx = new Int32Array(n);
    const wt = new Float64Array(n);
    return {
      backend: "js",
      idx,
      wt,
      row: (i, m) => rowAxpyJs(X, a, idx, wt, i, m, p),
      result: () => a,
    };
  }
  const matBytes = align16(n * p * 8);
  const at = { x: 0, a: matBytes, wt: 2 * matBytes, idx: 2 * matBytes + align16(n * 8) };
  const buf = runtime.reserve(at.idx + align16(n * 4));
  new Float64Array(buf, at.x, n * p).set(X.subarray(0, n * p));
  const a = new Float64Array(buf, at.a, n * p);
  a.fill(0);
  return {
    backend: "wasm",
    idx: new Int32Array(buf, at.idx, n),
    wt: new Float64Array(buf, at.wt, n),
    row: (i, m) => k.rowAxpy(at.x, at.a, at.idx, at.wt, i, m, p),
    result: () => a,
  };
}

/** The JavaScript twin of the kernel. */
function rowAxpyJs(
  X: Float64Array,
  a: Float64Array,
  idx: Int32Array,
  wt: Float64Array,
  i: number,
  m: number,
  p: number,
): void {
  const io = i * p;
  for (let s = 0; s < m; s++) {
    const ko = idx[s]! * p;
    const w = wt[s]!;
    for (let j = 0; j < p; j++) a[io + j]! += w * X[ko + j]!;
  }
}
