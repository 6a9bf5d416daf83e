// NCA's per-point work as WebAssembly kernels with their JavaScript twins. For point i, from its row of squared
// distances: the stabilised softmax (p_i and the kept terms, exp by the table method of linalg/exp.ts, copied op
// for op), then the gradient weights w_ik, the degrees and a_i += w·x_k (row i of W·X). Every sum runs in the same
// order in both backends and exp is the same sequence of IEEE operations, so the backends give the same bits.
import { EXP2_TABLE, expNonPositive, INV_LN2_64, LN2_64_HI, LN2_64_LO, POW2_NEG } from "../linalg/exp.js";
import {
  at4,
  at8,
  type Code,
  call,
  cat,
  decl,
  F64,
  Fn,
  f64add,
  f64c,
  f64div,
  f64eq,
  f64floor,
  f64le,
  f64load,
  f64lt,
  f64mul,
  f64ne,
  f64store,
  f64sub,
  f64x2add,
  f64x2mul,
  f64x2splat,
  i32add,
  i32and,
  i32c,
  i32eq,
  i32load,
  i32lt,
  i32shl,
  i32shrs,
  i32store,
  i32sub,
  i32truncf64s,
  ifThen,
  select,
} from "../linalg/wasm-encoder.js";
import { align16, WasmRuntime } from "../linalg/wasm-linalg.js";

/**
 * Softmax terms exp(d_min − d_ik) below e^−46 ≈ 1e−20 are dropped: even n = 10⁴ of them change Σ_k and every
 * weight by less than one rounding error of a double (1.1e−16), so the loss and gradient equal the dense ones to
 * rounding, while the gradient costs O(kept pairs · p) instead of O(n² · p). Once L has grown, each point keeps a
 * few dozen neighbours.
 */
export const NCA_SOFTMAX_CUTOFF = 46;

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

/** The exp tables at byte 0 of the module's memory: 2^(j/64) (64 values), then 2^−i (1076 values). */
const TABLE_BYTES = align16((EXP2_TABLE.length + POW2_NEG.length) * 8);

/** e^x for −745 < x ≤ 0, the operations of expNonPositive's table path in its order (x in local "ex"). */
function expCode(f: Fn): Code {
  const r = () => f.get("er");
  const poly = f64mul(
    r(),
    f64add(
      f64c(1),
      f64mul(
        r(),
        f64add(
          f64c(0.5),
          f64mul(r(), f64add(f64c(1 / 6), f64mul(r(), f64add(f64c(1 / 24), f64mul(r(), f64c(1 / 120)))))),
        ),
      ),
    ),
  );
  return cat(
    f.set("enf", f64floor(f64add(f64mul(f.get("ex"), f64c(INV_LN2_64)), f64c(0.5)))),
    f.set(
      "er",
      f64sub(
        f64sub(f.get("ex"), f64mul(f.get("enf"), f64c(LN2_64_HI))),
        f64mul(f.get("enf"), f64c(LN2_64_LO)),
      ),
    ),
    f.set("eni", i32truncf64s(f.get("enf"))),
    f.set("et", f64load(i32shl(i32and(f.get("eni"), i32c(63)), i32c(3)))),
    f.set("ep", poly),
    f.set(
      "ex",
      f64mul(
        f64add(f.get("et"), f64mul(f.get("et"), f.get("ep"))),
        f64load(
          i32add(
            i32c(EXP2_TABLE.length * 8),
            i32shl(i32sub(i32c(0), i32shrs(f.get("eni"), i32c(6))), i32c(3)),
          ),
        ),
      ),
    ),
  );
}
const EXP_LOCALS = "ex:f64 enf:f64 er:f64 et:f64 ep:f64 eni";

/** exp(x) for tests: the kernel's copy of expNonPositive. */
function kernelExp(): Fn {
  const f = new Fn("exp", decl("x:f64"), decl(EXP_LOCALS), F64, null);
  f.body = cat(f.set("ex", f.get("x")), expCode(f), f.get("ex"));
  return f;
}

/**
 * softmaxRow(row y kept idx wt deg x a i n p grad) → p_i. Row i of squared distances (overwritten with the
 * kept exp terms): d_ii = ∞, d_min, the terms e_k = exp(d_min − d_k) for d_k ≤ d_min + 46, Z_i = Σ e_k, p_i = Σ_{same
 * class} e_k / Z_i. With grad ≠ 0: w_ik = p_i·p_ik − [y_k = y_i]·p_ik for the kept k with w ≠ 0 into (idx, wt),
 * deg_k += w_ik, deg_i += Σ_k w_ik, then rowAxpy. Returns 0 (and leaves everything) when no distance is finite.
 */
function kernelSoftmaxRow(): Fn {
  const f = new Fn(
    "softmaxRow",
    decl("row y kept idx wt deg x a i n p grad"),
    decl(
      `k s m nz yi addr d:f64 dmin:f64 cut:f64 zi:f64 same:f64 pi:f64 pik:f64 w:f64 wsum:f64 ${EXP_LOCALS}`,
    ),
    F64,
    null,
  );
  const rowAt = (k: Code) => at8(f.get("row"), k);
  const yAt = (k: Code) => i32load(at4(f.get("y"), k));
  f.body = cat(
    f64store(rowAt(f.get("i")), f64c(Number.POSITIVE_INFINITY)),
    f.set("dmin", f64c(Number.POSITIVE_INFINITY)),
    f.for(
      "k",
      i32c(0),
      f.get("n"),
      cat(
        f.set("d", f64load(rowAt(f.get("k")))),
        ifThen(f64lt(f.get("d"), f.get("dmin")), f.set("dmin", f.get("d"))),
      ),
    ),
    ifThen(f64eq(f.get("dmin"), f64c(Number.POSITIVE_INFINITY)), cat(f64c(0), [0x0f])),
    f.set("cut", f64add(f.get("dmin"), f64c(NCA_SOFTMAX_CUTOFF))),
    f.set("zi", f64c(0)),
    f.set("same", f64c(0)),
    f.set("m", i32c(0)),
    f.set("yi", yAt(f.get("i"))),
    f.for(
      "k",
      i32c(0),
      f.get("n"),
      cat(
        f.set("addr", rowAt(f.get("k"))),
        f.set("d", f64load(f.get("addr"))),
        ifThen(
          f64le(f.get("d"), f.get("cut")),
          cat(
            f.set("ex", f64sub(f.get("dmin"), f.get("d"))),
            expCode(f),
            f64store(f.get("addr"), f.get("ex")),
            i32store(at4(f.get("kept"), f.get("m")), f.get("k")),
            f.inc("m"),
            f.set("zi", f64add(f.get("zi"), f.get("ex"))),
            ifThen(i32eq(yAt(f.get("k")), f.get("yi")), f.set("same", f64add(f.get("same"), f.get("ex")))),
          ),
        ),
      ),
    ),
    f.set("pi", f64div(f.get("same"), f.get("zi"))),
    ifThen(
      f.get("grad"),
      cat(
        f.set("wsum", f64c(0)),
        f.set("nz", i32c(0)),
        f.for(
          "s",
          i32c(0),
          f.get("m"),
          cat(
            f.set("k", i32load(at4(f.get("kept"), f.get("s")))),
            f.set("pik", f64div(f64load(rowAt(f.get("k"))), f.get("zi"))),
            f.set(
              "w",
              f64sub(
                f64mul(f.get("pi"), f.get("pik")),
                select(f.get("pik"), f64c(0), i32eq(yAt(f.get("k")), f.get("yi"))),
              ),
            ),
            ifThen(
              f64ne(f.get("w"), f64c(0)),
              cat(
                f.set("wsum", f64add(f.get("wsum"), f.get("w"))),
                f.addTo("deg", f.get("k"), f.get("w")),
                i32store(at4(f.get("idx"), f.get("nz")), f.get("k")),
                f64store(at8(f.get("wt"), f.get("nz")), f.get("w")),
                f.inc("nz"),
              ),
            ),
          ),
        ),
        f.addTo("deg", f.get("i"), f.get("wsum")),
        call(0, f.get("x"), f.get("a"), f.get("idx"), f.get("wt"), f.get("i"), f.get("nz"), f.get("p")),
      ),
    ),
    f.get("pi"),
  );
  return f;
}

interface NcaExports {
  rowAxpy(x: number, a: number, idx: number, wt: number, i: number, m: number, p: number): void;
  softmaxRow(
    row: number,
    y: number,
    kept: number,
    idx: number,
    wt: number,
    deg: number,
    x: number,
    a: number,
    i: number,
    n: number,
    p: number,
    grad: number,
  ): number;
  exp(x: number): number;
}

// rowAxpy must stay function 0: softmaxRow calls it by index
const runtime = new WasmRuntime<NcaExports>(() => [kernelRowAxpy(), kernelSoftmaxRow(), kernelExp()]);

/** The kernel's exp (for tests), or null without WebAssembly. */
export function expKernel(): ((x: number) => number) | null {
  const k = runtime.exports();
  if (!k) return null;
  writeTables();
  return (x) => k.exp(x);
}

function writeTables(): void {
  const buf = runtime.reserve(TABLE_BYTES);
  new Float64Array(buf, 0, EXP2_TABLE.length).set(EXP2_TABLE);
  new Float64Array(buf, EXP2_TABLE.length * 8, POW2_NEG.length).set(POW2_NEG);
}

/** NCA's rows over the points of X (n×p) with labels y: p_i per row and, with the gradient, W·X and the degrees. */
export interface NcaRows {
  readonly backend: "wasm" | "js";
  /**
   * Point i from its squared distances to all points (`d`, length n; used as scratch): returns p_i, the softmax
   * mass of i's class (0 when no other point is at a finite distance); with the gradient, adds row i of W to the
   * degrees and row i of W·X.
   */
  row(i: number, d: Float64Array): number;
  /** deg_k = row sums + column sums of W (valid until the next NcaRows is made). */
  readonly deg: Float64Array;
  /** W·X (n×p; valid until the next NcaRows is made). */
  result(): Float64Array;
}

/** NCA's per-point kernels over X, in WebAssembly memory when the SIMD kernels are available. */
export function ncaRows(
  X: Float64Array,
  y: Int32Array,
  n: number,
  p: number,
  withGradient: boolean,
): NcaRows {
  const k = runtime.exports();
  if (!k) return ncaRowsJs(X, y, n, p, withGradient);
  const f64 = align16(n * 8);
  const i32 = align16(n * 4);
  const mat = align16(n * p * 8);
  const at = { x: TABLE_BYTES, a: TABLE_BYTES + mat, wt: 0, idx: 0, row: 0, deg: 0, y: 0, kept: 0 };
  at.wt = at.a + mat;
  at.row = at.wt + f64;
  at.deg = at.row + f64;
  at.idx = at.deg + f64;
  at.y = at.idx + i32;
  at.kept = at.y + i32;
  const buf = runtime.reserve(at.kept + i32);
  writeTables();
  new Float64Array(buf, at.x, n * p).set(X.subarray(0, n * p));
  new Int32Array(buf, at.y, n).set(y.subarray(0, n));
  const a = new Float64Array(buf, at.a, n * p);
  a.fill(0);
  const deg = new Float64Array(buf, at.deg, n);
  deg.fill(0);
  const row = new Float64Array(buf, at.row, n);
  const grad = withGradient ? 1 : 0;
  return {
    backend: "wasm",
    row: (i, d) => {
      row.set(d.subarray(0, n));
      return k.softmaxRow(at.row, at.y, at.kept, at.idx, at.wt, at.deg, at.x, at.a, i, n, p, grad);
    },
    deg,
    result: () => a,
  };
}

/** The JavaScript twins: the same operations in the same order. */
function ncaRowsJs(X: Float64Array, y: Int32Array, n: number, p: number, withGradient: boolean): NcaRows {
  const a = new Float64Array(withGradient ? n * p : 0);
  const deg = new Float64Array(n);
  const kept = new Int32Array(n);
  const idx = new Int32Array(n);
  const wt = new Float64Array(n);
  return {
    backend: "js",
    row: (i, row) => {
      // p_ii = 0: i is taken out of both scans by an infinite distance to itself
      row[i] = Number.POSITIVE_INFINITY;
      let dmin = Number.POSITIVE_INFINITY;
      for (let k = 0; k < n; k++) if (row[k]! < dmin) dmin = row[k]!;
      if (dmin === Number.POSITIVE_INFINITY) return 0;
      const cut = dmin + NCA_SOFTMAX_CUTOFF;
      let Zi = 0;
      let same = 0;
      let m = 0;
      for (let k = 0; k < n; k++) {
        if (!(row[k]! <= cut)) continue;
        const e = expNonPositive(dmin - row[k]!);
        row[k] = e;
        kept[m++] = k;
        Zi += e;
        if (y[k] === y[i]) same += e;
      }
      const pi = same / Zi;
      if (!withGradient) return pi;
      let wsum = 0;
      let nz = 0;
      for (let s = 0; s < m; s++) {
        const k = kept[s]!;
        const pik = row[k]! / Zi;
        const w = pi * pik - (y[k] === y[i] ? pik : 0);
        if (w === 0) continue;
        wsum += w;
        deg[k]! += w;
        idx[nz] = k;
        wt[nz++] = w;
      }
      deg[i]! += wsum;
      rowAxpyJs(X, a, idx, wt, i, nz, p);
      return pi;
    },
    deg,
    result: () => a,
  };
}

/** a_i += Σ_s wt_s · x_{idx_s} (the JavaScript twin of rowAxpy). */
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
