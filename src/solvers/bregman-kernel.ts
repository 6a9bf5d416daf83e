// One sweep of ITML's cyclic Bregman projections (see bregman.ts) as a WebAssembly SIMD kernel and its JavaScript
// twin. Both compute w = M v with the same summation order (even and odd coordinates in two partial sums, then the
// odd last one) and update M elementwise, so they give the same bits.
import {
  at4,
  type Code,
  cat,
  decl,
  Fn,
  f64add,
  f64c,
  f64div,
  f64gt,
  f64min,
  f64mul,
  f64ne,
  f64sub,
  f64x2add,
  f64x2mul,
  f64x2splat,
  i32add,
  i32c,
  i32load,
  i32lt,
  i32shl,
  ifElse,
  ifThen,
  laneSum,
  v128zero,
  whileLoop,
} from "../linalg/wasm-encoder.js";
import { align16, WasmRuntime } from "../linalg/wasm-linalg.js";

/** The state of the projections: M (p×p), the constraints' differences (C×p), kinds, duals, bounds, scratch w. */
export interface SweepState {
  M: Float64Array;
  diffs: Float64Array;
  similar: Int32Array;
  lambda: Float64Array;
  bhat: Float64Array;
  w: Float64Array;
  C: number;
  p: number;
}

/**
 * sweep(m diffs sim lambda bhat w C p gamma gproj): for each constraint c in order, w = M v_c, s = v_cᵀw; when
 * s > 1e−300 the ITML step (α, β, bound and dual updates) and M += β w wᵀ.
 */
function kernelSweep(): Fn {
  const f = new Fn(
    "sweep",
    decl("m diffs sim lambda bhat w C p gamma:f64 gproj:f64"),
    decl(
      "c r k p2 vc mr mr0 mr1 mr2 mr3 acc:v128 acc0:v128 acc1:v128 acc2:v128 acc3:v128 vk:v128 bw:v128 s:f64 wtw:f64 lam:f64 bh:f64 alpha:f64 beta:f64",
    ),
    null,
    null,
  );
  const one = f64c(1);
  const recip = (x: ReturnType<Fn["get"]>) => f64div(one, x);
  // w = M v, four rows at a time: the four rows' accumulators are independent chains (one accumulator would make
  // the loop wait on the adder's latency), each row summed in the order of the one-row loop, so the same bits
  const rowSum = (acc: string, mr: string, r: Code): Code =>
    cat(
      f.set("s", laneSum(f, acc)),
      ifThen(
        i32lt(f.get("p2"), f.get("p")),
        f.set("s", f64add(f.get("s"), f64mul(f.ldf(mr, f.get("p2")), f.ldf("vc", f.get("p2"))))),
      ),
      f.stf("w", r, f.get("s")),
      f.set("wtw", f64add(f.get("wtw"), f64mul(f.get("s"), f.ldf("vc", r)))),
    );
  const quad = ["0", "1", "2", "3"];
  const plus = (k: number) => i32add(f.get("r"), i32c(k));
  const matvec4 = cat(
    f.set("r", i32c(0)),
    whileLoop(
      i32lt(plus(3), f.get("p")),
      cat(
        f.set("mr0", f.row("m", "r")),
        ...quad.slice(1).map((q, k) => f.set(`mr${q}`, i32add(f.get(`mr${k}`), i32shl(f.get("p"), i32c(3))))),
        ...quad.map((q) => f.set(`acc${q}`, v128zero())),
        f.for(
          "k",
          i32c(0),
          f.get("p2"),
          cat(
            f.set("vk", f.ldv("vc", f.get("k"))),
            ...quad.map((q) =>
              f.set(
                `acc${q}`,
                f64x2add(f.get(`acc${q}`), f64x2mul(f.ldv(`mr${q}`, f.get("k")), f.get("vk"))),
              ),
            ),
          ),
          2,
        ),
        ...quad.map((q, k) => rowSum(`acc${q}`, `mr${q}`, plus(k))),
        f.inc("r", i32c(4)),
      ),
    ),
  );
  const matvec = cat(
    matvec4,
    whileLoop(
      i32lt(f.get("r"), f.get("p")),
      cat(
        f.set("mr", f.row("m", "r")),
        f.set("acc", v128zero()),
        f.for(
          "k",
          i32c(0),
          f.get("p2"),
          f.set("acc", f64x2add(f.get("acc"), f64x2mul(f.ldv("mr", f.get("k")), f.ldv("vc", f.get("k"))))),
          2,
        ),
        rowSum("acc", "mr", f.get("r")),
        f.inc("r", i32c(1)),
      ),
    ),
  );
  const step = cat(
    f.set("lam", f.ldf("lambda", f.get("c"))),
    f.set("bh", f.ldf("bhat", f.get("c"))),
    ifElse(
      i32load(at4(f.get("sim"), f.get("c"))),
      cat(
        f.set(
          "alpha",
          f64min(f.get("lam"), f64mul(f.get("gproj"), f64sub(recip(f.get("wtw")), recip(f.get("bh"))))),
        ),
        f.set("beta", f64div(f.get("alpha"), f64sub(one, f64mul(f.get("alpha"), f.get("wtw"))))),
        f.set("bh", recip(f64add(recip(f.get("bh")), f64div(f.get("alpha"), f.get("gamma"))))),
      ),
      cat(
        f.set(
          "alpha",
          f64min(f.get("lam"), f64mul(f.get("gproj"), f64sub(recip(f.get("bh")), recip(f.get("wtw"))))),
        ),
        f.set(
          "beta",
          f64div(f64sub(f64c(0), f.get("alpha")), f64add(one, f64mul(f.get("alpha"), f.get("wtw")))),
        ),
        f.set("bh", recip(f64sub(recip(f.get("bh")), f64div(f.get("alpha"), f.get("gamma"))))),
      ),
    ),
    f.stf("bhat", f.get("c"), f.get("bh")),
    f.stf("lambda", f.get("c"), f64sub(f.get("lam"), f.get("alpha"))),
  );
  const rank1 = f.for(
    "r",
    i32c(0),
    f.get("p"),
    cat(
      f.set("mr", f.row("m", "r")),
      f.set("s", f64mul(f.get("beta"), f.ldf("w", f.get("r")))),
      f.set("bw", f64x2splat(f.get("s"))),
      f.for(
        "k",
        i32c(0),
        f.get("p2"),
        f.stv(
          "mr",
          f.get("k"),
          f64x2add(f.ldv("mr", f.get("k")), f64x2mul(f.get("bw"), f.ldv("w", f.get("k")))),
        ),
        2,
      ),
      ifThen(
        i32lt(f.get("p2"), f.get("p")),
        f.stf(
          "mr",
          f.get("p2"),
          f64add(f.ldf("mr", f.get("p2")), f64mul(f.get("s"), f.ldf("w", f.get("p2")))),
        ),
      ),
    ),
  );
  f.body = cat(
    f.prologue(),
    f.for(
      "c",
      i32c(0),
      f.get("C"),
      cat(
        f.set("vc", f.row("diffs", "c")),
        f.set("wtw", f64c(0)),
        matvec,
        ifThen(f64gt(f.get("wtw"), f64c(1e-300)), cat(step, ifThen(f64ne(f.get("beta"), f64c(0)), rank1))),
      ),
    ),
  );
  return f;
}

interface SweepExports {
  sweep(
    m: number,
    diffs: number,
    sim: number,
    lambda: number,
    bhat: number,
    w: number,
    C: number,
    p: number,
    gamma: number,
    gproj: number,
  ): void;
}

const runtime = new WasmRuntime<SweepExports>(() => [kernelSweep()]);

/** "wasm" when the next sweep runs the SIMD kernel, else "js". */
export function sweepBackend(): "wasm" | "js" {
  return runtime.exports() ? "wasm" : "js";
}

/**
 * The state's arrays for C constraints in dimension p, placed in WebAssembly memory when the SIMD kernel is
 * available (then `sweep` runs there), else in ordinary arrays with the JavaScript sweep. The arrays start zeroed.
 */
export function sweepState(
  C: number,
  p: number,
): { state: SweepState; sweep: (gamma: number, gproj: number) => void } {
  const k = runtime.exports();
  if (!k) {
    const state: SweepState = {
      M: new Float64Array(p * p),
      diffs: new Float64Array(C * p),
      similar: new Int32Array(C),
      lambda: new Float64Array(C),
      bhat: new Float64Array(C),
      w: new Float64Array(p),
      C,
      p,
    };
    return { state, sweep: (gamma, gproj) => sweepJs(state, gamma, gproj) };
  }
  const sizes: Array<[string, number, number]> = [
    ["M", p * p, 8],
    ["diffs", C * p, 8],
    ["lambda", C, 8],
    ["bhat", C, 8],
    ["w", p, 8],
    ["similar", C, 4],
  ];
  const at: Record<string, number> = {};
  let bytes = 0;
  for (const [name, len, size] of sizes) {
    at[name] = bytes;
    bytes += align16(len * size);
  }
  const buf = runtime.reserve(bytes);
  const f64 = (name: string, len: number) => {
    const v = new Float64Array(buf, at[name]!, len);
    v.fill(0);
    return v;
  };
  const similar = new Int32Array(buf, at.similar!, C);
  similar.fill(0);
  const state: SweepState = {
    M: f64("M", p * p),
    diffs: f64("diffs", C * p),
    similar,
    lambda: f64("lambda", C),
    bhat: f64("bhat", C),
    w: f64("w", p),
    C,
    p,
  };
  return {
    state,
    sweep: (gamma, gproj) =>
      k.sweep(at.M!, at.diffs!, at.similar!, at.lambda!, at.bhat!, at.w!, C, p, gamma, gproj),
  };
}

/** The JavaScript sweep: the same operations in the same order as the kernel. */
export function sweepJs(st: SweepState, gamma: number, gproj: number): void {
  const { M, diffs, similar, lambda, bhat, w, C, p } = st;
  const p2 = p & ~1;
  for (let c = 0; c < C; c++) {
    const o = c * p;
    let wtw = 0;
    for (let r = 0; r < p; r++) {
      const mr = r * p;
      let e = 0;
      let od = 0;
      for (let k = 0; k < p2; k += 2) {
        e += M[mr + k]! * diffs[o + k]!;
        od += M[mr + k + 1]! * diffs[o + k + 1]!;
      }
      let s = e + od;
      if (p2 < p) s += M[mr + p2]! * diffs[o + p2]!;
      w[r] = s;
      wtw += s * diffs[o + r]!;
    }
    if (!(wtw > 1e-300)) continue;
    let alpha: number;
    let beta: number;
    if (similar[c]) {
      alpha = Math.min(lambda[c]!, gproj * (1 / wtw - 1 / bhat[c]!));
      beta = alpha / (1 - alpha * wtw);
      bhat[c] = 1 / (1 / bhat[c]! + alpha / gamma);
    } else {
      alpha = Math.min(lambda[c]!, gproj * (1 / bhat[c]! - 1 / wtw));
      beta = (0 - alpha) / (1 + alpha * wtw);
      bhat[c] = 1 / (1 / bhat[c]! - alpha / gamma);
    }
    lambda[c] = lambda[c]! - alpha;
    if (beta === 0) continue;
    for (let r = 0; r < p; r++) {
      const a = beta * w[r]!;
      const mr = r * p;
      for (let k = 0; k < p; k++) M[mr + k]! += a * w[k]!;
    }
  }
}
