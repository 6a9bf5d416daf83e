// The numeric kernels of TripletEngine (src/objectives/perturbation.ts), in two interchangeable backends:
//  - WebAssembly with 128-bit SIMD (f64x2), assembled here at load time from the definitions below by a small
//    encoder (no toolchain, no binary blob in the repository); about four times faster than JavaScript on the
//    gather-heavy loops (one indexed row per pair), which dominate LMNN-PL;
//  - plain JavaScript on typed arrays, used when WebAssembly or its SIMD extension is unavailable (old browsers,
//    CSPs without 'wasm-unsafe-eval') or when asked for; the tests run both and compare them.
// All buffers live in one `KernelBuffers` record. With the wasm backend every array is a view into the module's
// linear memory, which is allocated once at the exact size and never grows (so the views stay valid).
//
// Layouts: x, y, h are n×p row-major; m, g are p×p row-major; pairs and (j, l) pairs are in CSR form by their
// first point (B = second points, start = offsets); counts is [violated or active, active].

import { type RowTask, rowParallel, type WasmGemmTask, type WasmRangeTask } from "../linalg/parallel.js";
import {
  assembleModule,
  at4,
  at8,
  type Code,
  cat,
  compileModule,
  decl,
  F64,
  Fn,
  f64add,
  f64c,
  f64div,
  f64gt,
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
  i32c,
  i32load,
  i32lt,
  i32mul,
  i32shl,
  i32store,
  ifElse,
  ifThen,
  type Lane,
  laneSum,
  MAX_PAGES,
  V128,
  v128load,
  v128store,
  v128zero,
  wasmApi,
  whileLoop,
} from "../linalg/wasm-encoder.js";
import { kernelGemm } from "../linalg/wasm-linalg.js";

/** The arrays the kernels read and write. Sizes: n points, p features, T triplets, P pairs, J (j, l) pairs. */
export interface KernelBuffers {
  readonly n: number;
  readonly p: number;
  readonly x: Float64Array; // centred data, n×p
  readonly xt: Float64Array; // its transpose, p×n (wasm backend, large p)
  readonly m: Float64Array; // symmetric metric, p×p
  readonly y: Float64Array; // x·M, n×p
  readonly sx: Float64Array; // xᵀMx per point, n
  readonly ry: Float64Array; // ‖Mx‖² per point, n
  readonly h: Float64Array; // Laplacian rows, n×p
  readonly deg: Float64Array; // weighted degrees, n
  readonly g: Float64Array; // p×p product Σ_a x_a h_aᵀ
  readonly pairB: Int32Array; // P
  readonly pairStart: Int32Array; // n + 1
  readonly jlB: Int32Array; // J
  readonly jlStart: Int32Array; // n + 1
  readonly tIJ: Int32Array; // T
  readonly tIL: Int32Array; // T
  readonly tJL: Int32Array; // T
  readonly dist: Float64Array; // P
  readonly pairW: Float64Array; // P
  readonly q: Float64Array; // J
  readonly jlW: Float64Array; // J
  readonly dm: Float64Array; // T
  readonly counts: Int32Array; // 2
}

/** Which pair graph a kernel works on. */
export type PairGraph = "pairs" | "jl";

/** The kernel set; both backends implement it with identical semantics (rounding may differ in the last bits). */
export interface Kernels {
  readonly backend: "wasm" | "js";
  readonly buffers: KernelBuffers;
  /** y = x·M, sx_a = x_a·y_a, ry_a = ‖y_a‖². */
  forms(): void;
  /** dist (graph "pairs", = d²_M) or q (graph "jl", = ‖M(x_a − x_b)‖²) of every pair, in Gram form. */
  pairForms(graph: PairGraph): void;
  /** dm[t] = dist[tIL[t]] − dist[tIJ[t]]. */
  differences(): void;
  /** h, deg ← the Laplacian rows of the graph's weights (see laplacianRows), then g = Σ_a x_a h_aᵀ. */
  laplacianProduct(graph: PairGraph): void;
  /**
   * Σ_t ℓ_P over the triplets with the given τ², eps; with `grad`, adds half·A to pairW[tIJ], −half·A to
   * pairW[tIL] and quarter·A² to jlW[tJL] for active triplets (A = DM/(q + eps)). counts ← [violated, active].
   */
  perturbation(tau2: number, eps: number, half: number, quarter: number, grad: boolean): number;
  /**
   * Σ_t [margin − DM]_+; with `grad`, adds weight to pairW[tIJ] and −weight to pairW[tIL] for DM < margin.
   * counts[0] ← the number of such triplets.
   */
  hinge(margin: number, weight: number, grad: boolean): number;
  /** The wasm instance and its memory, for {@link createKernels}' `recycle` (absent for the JS backend). */
  readonly instance?: WasmInstance;
}

/** A wasm kernel instance: its module, exports and memory. */
interface WasmInstance {
  readonly mod: object;
  readonly k: WasmExports;
  readonly memory: { buffer: ArrayBuffer; grow(pages: number): number };
}

/** Sizes needed to allocate the buffers. */
export interface KernelSizes {
  n: number;
  p: number;
  T: number;
  P: number;
  J: number;
}

/**
 * Builds the kernels: wasm when `backend` is "wasm" or "auto" and the runtime supports WebAssembly SIMD, else
 * JavaScript. "wasm" throws when it is unavailable (so tests can insist on it). `specialise` (default true)
 * selects the module compiled for this p (coordinate loops unrolled, p ≤ 48) over the generic one; both give the
 * same bits. `recycle`: kernels that will not be used again, whose wasm instance and memory (grown if need be,
 * zeroed) the new ones take over — a fresh WebAssembly.Memory per engine costs its reservation and page faults,
 * and LMNN builds an engine at every impostor re-selection.
 *
 * @example
 * const k = createKernels({ n, p, T, P, J }); // then fill k.buffers (x, pairB, pairStart, …) and call k.forms()
 */
export function createKernels(
  sizes: KernelSizes,
  backend: "auto" | "wasm" | "js" = "auto",
  specialise = true,
  recycle?: Kernels,
): Kernels {
  if (backend !== "js") {
    const shared = sharedProducts(sizes.p, specialise);
    const mod = wasmModule(sizes.p, specialise, shared);
    if (mod)
      return wasmKernels(mod, sizes, shared, recycle?.instance?.mod === mod ? recycle.instance : undefined);
    if (backend === "wasm") throw new Error("WebAssembly SIMD is not available in this runtime");
  }
  return jsKernels(allocate(sizes, (bytes) => new ArrayBuffer(bytes)).buffers);
}

// ---------------------------------------------------------------------------------------------------------------
// Buffer layout (shared by both backends so that the byte offsets of the wasm backend are the allocation itself)

interface Allocation {
  buffers: KernelBuffers;
  /** Byte offset of each array in the backing buffer. */
  offsets: Record<keyof Omit<KernelBuffers, "n" | "p">, number>;
  bytes: number;
}

function allocate(sizes: KernelSizes, makeBuffer: (bytes: number) => ArrayBuffer): Allocation {
  const { n, p, T, P, J } = sizes;
  const f64: Array<[string, number]> = [
    ["x", n * p],
    ["xt", n * p],
    ["m", p * p],
    ["y", n * p],
    ["sx", n],
    ["ry", n],
    ["h", n * p],
    ["deg", n],
    ["g", p * p],
    ["dist", P],
    ["pairW", P],
    ["q", J],
    ["jlW", J],
    ["dm", T],
  ];
  const i32: Array<[string, number]> = [
    ["pairB", P],
    ["pairStart", n + 1],
    ["jlB", J],
    ["jlStart", n + 1],
    ["tIJ", T],
    ["tIL", T],
    ["tJL", T],
    ["counts", 2],
  ];
  const offsets: Record<string, number> = {};
  let at = 0;
  // every array starts on a 16-byte boundary (rows of odd p are not aligned, which v128 loads allow)
  const place = (list: Array<[string, number]>, size: number) => {
    for (const [name, len] of list) {
      offsets[name] = at;
      at += Math.ceil((len * size) / 16) * 16;
    }
  };
  place(f64, 8);
  place(i32, 4);
  const bytes = Math.max(at, 16);
  const buf = makeBuffer(bytes);
  const out: Record<string, unknown> = { n, p };
  for (const [name, len] of f64) out[name] = new Float64Array(buf, offsets[name]!, len);
  for (const [name, len] of i32) out[name] = new Int32Array(buf, offsets[name]!, len);
  return {
    buffers: out as unknown as KernelBuffers,
    offsets: offsets as Allocation["offsets"],
    bytes,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// JavaScript backend. The arrays are passed as arguments to module-level functions (not read from objects inside
// the loops) so that the JIT keeps them in registers.

function jsKernels(b: KernelBuffers): Kernels {
  const { n, p } = b;
  return {
    backend: "js",
    buffers: b,
    forms: () => jsForms(b.x, b.m, b.y, b.sx, b.ry, n, p),
    pairForms: (graph) =>
      graph === "pairs"
        ? jsPairDots(b.x, b.y, b.sx, b.pairB, b.pairStart, b.dist, n, p)
        : jsPairDots(b.y, b.y, b.ry, b.jlB, b.jlStart, b.q, n, p),
    differences: () => jsDifferences(b.dist, b.tIL, b.tIJ, b.dm),
    laplacianProduct: (graph) => {
      if (graph === "pairs") jsLaplacianRows(b.x, b.pairW, b.pairB, b.pairStart, b.h, b.deg, n, p);
      else jsLaplacianRows(b.x, b.jlW, b.jlB, b.jlStart, b.h, b.deg, n, p);
      jsRank1Sum(b.x, b.h, b.g, n, p);
    },
    perturbation: (tau2, eps, half, quarter, grad) =>
      jsPerturbation(
        b.dm,
        b.q,
        b.tIJ,
        b.tIL,
        b.tJL,
        b.pairW,
        b.jlW,
        b.counts,
        tau2,
        eps,
        half,
        quarter,
        grad,
      ),
    hinge: (margin, weight, grad) => jsHinge(b.dm, b.tIJ, b.tIL, b.pairW, b.counts, margin, weight, grad),
  };
}

function jsForms(
  x: Float64Array,
  m: Float64Array,
  y: Float64Array,
  sx: Float64Array,
  ry: Float64Array,
  n: number,
  p: number,
): void {
  for (let a = 0; a < n; a++) {
    const o = a * p;
    for (let c = 0; c < p; c++) {
      let s = 0;
      for (let d = 0; d < p; d++) s += x[o + d]! * m[d * p + c]!;
      y[o + c] = s;
    }
    let s0 = 0;
    let r0 = 0;
    for (let c = 0; c < p; c++) {
      const yc = y[o + c]!;
      s0 += x[o + c]! * yc;
      r0 += yc * yc;
    }
    sx[a] = s0;
    ry[a] = r0;
  }
}

function jsPairDots(
  u: Float64Array,
  v: Float64Array,
  na: Float64Array,
  B: Int32Array,
  start: Int32Array,
  out: Float64Array,
  n: number,
  p: number,
): void {
  // even and odd coordinates summed separately, then the odd tail: the order of the wasm backend's two lanes, so
  // that both backends give the same bits
  const p2 = p & ~1;
  for (let a = 0; a < n; a++) {
    const oa = a * p;
    const end = start[a + 1]!;
    for (let s = start[a]!; s < end; s++) {
      const b = B[s]!;
      const ob = b * p;
      let d0 = 0;
      let d1 = 0;
      for (let c = 0; c < p2; c += 2) {
        d0 += u[oa + c]! * v[ob + c]!;
        d1 += u[oa + c + 1]! * v[ob + c + 1]!;
      }
      const tail = p2 < p ? u[oa + p2]! * v[ob + p2]! : 0;
      const d = d0 + d1 + tail;
      out[s] = na[a]! + na[b]! - (d + d);
    }
  }
}

function jsDifferences(dist: Float64Array, il: Int32Array, ij: Int32Array, dm: Float64Array): void {
  for (let t = 0; t < dm.length; t++) dm[t] = dist[il[t]!]! - dist[ij[t]!]!;
}

/**
 * h_a = (deg_a/2)·x_a − Σ_{b listed under a} w_ab·x_b, with deg the weighted degrees of the pair graph, so that
 * XᵀH + HᵀX = Σ_(a,b) w_ab (x_a − x_b)(x_a − x_b)ᵀ (each pair listed once).
 */
function jsLaplacianRows(
  x: Float64Array,
  w: Float64Array,
  B: Int32Array,
  start: Int32Array,
  h: Float64Array,
  deg: Float64Array,
  n: number,
  p: number,
): void {
  deg.fill(0);
  h.fill(0);
  for (let a = 0; a < n; a++) {
    const oa = a * p;
    const end = start[a + 1]!;
    let da = 0;
    for (let s = start[a]!; s < end; s++) {
      const ws = w[s]!;
      if (ws === 0) continue;
      const b = B[s]!;
      const ob = b * p;
      for (let c = 0; c < p; c++) h[oa + c]! -= ws * x[ob + c]!;
      deg[b]! += ws;
      da += ws;
    }
    deg[a]! += da;
  }
  for (let a = 0; a < n; a++) {
    const half = 0.5 * deg[a]!;
    if (half === 0) continue;
    const oa = a * p;
    for (let c = 0; c < p; c++) h[oa + c]! += half * x[oa + c]!;
  }
}

/** g = Σ_a x_a h_aᵀ (p×p). */
function jsRank1Sum(x: Float64Array, h: Float64Array, g: Float64Array, n: number, p: number): void {
  g.fill(0);
  for (let a = 0; a < n; a++) {
    const o = a * p;
    for (let r = 0; r < p; r++) {
      const xr = x[o + r]!;
      const gr = r * p;
      for (let c = 0; c < p; c++) g[gr + c]! += xr * h[o + c]!;
    }
  }
}

function jsPerturbation(
  dm: Float64Array,
  q: Float64Array,
  tIJ: Int32Array,
  tIL: Int32Array,
  tJL: Int32Array,
  pairW: Float64Array,
  jlW: Float64Array,
  counts: Int32Array,
  tau2: number,
  eps: number,
  half: number,
  quarter: number,
  grad: boolean,
): number {
  let sum = 0;
  let violated = 0;
  let active = 0;
  for (let t = 0; t < dm.length; t++) {
    const d = dm[t]!;
    if (d < 0) {
      sum += tau2;
      violated++;
      continue;
    }
    const jl = tJL[t]!;
    const qe = q[jl]! + eps;
    const m2 = (d * d) / (4 * qe);
    if (m2 > tau2) continue;
    sum += tau2 - m2;
    active++;
    if (grad) {
      const a = d / qe;
      pairW[tIJ[t]!]! += half * a;
      pairW[tIL[t]!]! -= half * a;
      jlW[jl]! += quarter * a * a;
    }
  }
  counts[0] = violated;
  counts[1] = active;
  return sum;
}

function jsHinge(
  dm: Float64Array,
  tIJ: Int32Array,
  tIL: Int32Array,
  pairW: Float64Array,
  counts: Int32Array,
  margin: number,
  weight: number,
  grad: boolean,
): number {
  let sum = 0;
  let active = 0;
  for (let t = 0; t < dm.length; t++) {
    const d = dm[t]!;
    if (d < margin) {
      sum += margin - d;
      active++;
      if (grad) {
        pairW[tIJ[t]!]! += weight;
        pairW[tIL[t]!]! -= weight;
      }
    }
  }
  counts[0] = active;
  return sum;
}

// ---------------------------------------------------------------------------------------------------------------
// WebAssembly backend: the kernels, written against the encoder of src/linalg/wasm-encoder.ts, and the glue.

/**
 * y = x·M, sx_a = x_a·y_a, ry_a = ‖y_a‖². Output columns in blocks of four (two v128 accumulators share each
 * splat of x_ad), then two, then one; every y_ac is Σ_d x_ad·M_dc in ascending d, as the JavaScript kernel.
 */
function kernelForms(P: number | null): Fn {
  const f = new Fn(
    "forms",
    decl("x m y sx ry n p"),
    decl("a c d p2 xa ya md s:f64 r:f64 yc:f64 acc:v128 acc2:v128 xs:v128"),
    null,
    P,
  );
  // m row d, column c: the local "md" walks the rows of M (md = m + 8·d·p), the column is the lane
  const overD = (body: Code) =>
    cat(
      f.set("md", f.get("m")),
      f.for("d", i32c(0), f.dim(), cat(body, f.inc("md", i32shl(f.dim(), i32c(3))))),
    );
  const xd = () => f64load(at8(f.get("xa"), f.get("d")));
  const block = (c: Lane, width: 1 | 2 | 4): Code => {
    const c2 = typeof c === "number" ? c + 2 : i32add(c, i32c(2));
    if (width === 1) {
      return cat(
        f.set("s", f64c(0)),
        overD(f.set("s", f64add(f.get("s"), f64mul(xd(), f.ldf("md", c))))),
        f.stf("ya", c, f.get("s")),
      );
    }
    return cat(
      f.set("acc", v128zero()),
      f.set("acc2", v128zero()),
      overD(
        cat(
          f.set("xs", f64x2splat(xd())),
          f.set("acc", f64x2add(f.get("acc"), f64x2mul(f.get("xs"), f.ldv("md", c)))),
          width === 4 ? f.set("acc2", f64x2add(f.get("acc2"), f64x2mul(f.get("xs"), f.ldv("md", c2)))) : [],
        ),
      ),
      f.stv("ya", c, f.get("acc")),
      width === 4 ? f.stv("ya", c2, f.get("acc2")) : [],
    );
  };
  let columns: Code;
  if (P !== null) {
    // all columns at once: one accumulator per column pair (independent chains: one chain per block of columns
    // waited on the adder's latency), each splat of x_ad used by every pair; the odd last column in "s"
    const K = P >> 1;
    for (let k = 0; k < K; k++) f.local(`y${k}`, V128);
    columns = cat(
      ...Array.from({ length: K }, (_, k) => f.set(`y${k}`, v128zero())),
      f.set("s", f64c(0)),
      overD(
        cat(
          f.set("xs", f64x2splat(xd())),
          ...Array.from({ length: K }, (_, k) =>
            f.set(`y${k}`, f64x2add(f.get(`y${k}`), f64x2mul(f.get("xs"), f.ldv("md", 2 * k)))),
          ),
          P & 1 ? f.set("s", f64add(f.get("s"), f64mul(xd(), f.ldf("md", P - 1)))) : [],
        ),
      ),
      ...Array.from({ length: K }, (_, k) => f.stv("ya", 2 * k, f.get(`y${k}`))),
      P & 1 ? f.stf("ya", P - 1, f.get("s")) : [],
    );
  } else {
    const c = f.get("c");
    columns = cat(
      f.set("c", i32c(0)),
      whileLoop(i32lt(i32add(c, i32c(3)), f.get("p")), cat(block(c, 4), f.inc("c", i32c(4)))),
      ifThen(i32lt(i32add(c, i32c(1)), f.get("p")), cat(block(c, 2), f.inc("c", i32c(2)))),
      ifThen(i32lt(c, f.get("p")), block(c, 1)),
    );
  }
  f.body = cat(
    f.for(
      "a",
      i32c(0),
      f.get("n"),
      cat(f.set("xa", f.row("x", "a")), f.set("ya", f.row("y", "a")), columns, rowDotsOf(f)),
    ),
  );
  return f;
}

/**
 * out[s] = na[a] + na[b] − 2·u_a·v_b over the pairs in CSR form of the anchors a in [a0, a1); the dot product
 * sums the even and the odd coordinates in the two lanes, then adds the odd tail (the JavaScript kernel's order).
 */
function kernelPairDots(P: number | null): Fn {
  const f = new Fn(
    "pairDots",
    decl("u v na B start out a0 a1 p"),
    decl("a s end ua vb c b p2 acc:f64 vacc:v128"),
    null,
    P,
  );
  f.body = cat(
    f.prologue(),
    f.csr(
      f.set("ua", f.row("u", "a")),
      cat(
        f.set("b", i32load(at4(f.get("B"), f.get("s")))),
        f.set("vb", f.row("v", "b")),
        f.set("vacc", v128zero()),
        f.set("acc", f64c(0)),
        f.lanes(
          (c) => f.set("vacc", f64x2add(f.get("vacc"), f64x2mul(f.ldv("ua", c), f.ldv("vb", c)))),
          (c) => f.set("acc", f64mul(f.ldf("ua", c), f.ldf("vb", c))),
        ),
        f.set("acc", f64add(laneSum(f, "vacc"), f.get("acc"))),
        f64store(
          at8(f.get("out"), f.get("s")),
          f64sub(
            f64add(f64load(at8(f.get("na"), f.get("a"))), f64load(at8(f.get("na"), f.get("b")))),
            f64add(f.get("acc"), f.get("acc")),
          ),
        ),
      ),
      [],
      f.get("a0"),
      f.get("a1"),
    ),
  );
  return f;
}

function kernelDifferences(): Fn {
  const f = new Fn("differences", decl("dist il ij dm T"), decl("t"), null, null);
  const pick = (idx: string) => f64load(at8(f.get("dist"), i32load(at4(f.get(idx), f.get("t")))));
  f.body = f.for(
    "t",
    i32c(0),
    f.get("T"),
    f64store(at8(f.get("dm"), f.get("t")), f64sub(pick("il"), pick("ij"))),
  );
  return f;
}

/**
 * h_a = (deg_a/2)·x_a − Σ_{b listed under a} w_ab·x_b and the weighted degrees (see jsLaplacianRows). With P
 * known, the row h_a is accumulated in registers over the anchor's pairs and stored once.
 */
function kernelLaplacian(P: number | null): Fn {
  const f = new Fn(
    "laplacian",
    decl("x w B start h deg n p"),
    decl("a s end b c p2 ha xb k ws:f64 da:f64 half:f64 ut:f64 wv:v128"),
    null,
    P,
  );
  const K = P !== null ? P >> 1 : 0;
  for (let k = 0; k < K; k++) f.local(`u${k}`, V128);
  const reg = (c: Lane) => `u${(c as number) >> 1}`;
  const degAt = (i: string) => at8(f.get("deg"), f.get(i));
  // row[c] += scale·x_row[c] in memory, scale an f64 local (splatted into wv)
  const axpyRow = (row: string, xrow: string, scale: string) =>
    cat(
      f.set("wv", f64x2splat(f.get(scale))),
      f.lanes(
        (c) => f.stv(row, c, f64x2add(f.ldv(row, c), f64x2mul(f.get("wv"), f.ldv(xrow, c)))),
        (c) => f.stf(row, c, f64add(f.ldf(row, c), f64mul(f.get(scale), f.ldf(xrow, c)))),
      ),
    );
  const gather =
    P !== null
      ? cat(
          f.set("wv", f64x2splat(f.get("ws"))),
          f.lanes(
            (c) => f.set(reg(c), f64x2add(f.get(reg(c)), f64x2mul(f.get("wv"), f.ldv("xb", c)))),
            (c) => f.set("ut", f64add(f.get("ut"), f64mul(f.get("ws"), f.ldf("xb", c)))),
          ),
        )
      : axpyRow("ha", "xb", "ws");
  const zeroRow =
    P !== null
      ? cat(...Array.from({ length: K }, (_, k) => f.set(`u${k}`, v128zero())), f.set("ut", f64c(0)))
      : [];
  const storeRow =
    P !== null
      ? f.lanes(
          (c) => f.stv("ha", c, f.get(reg(c))),
          (c) => f.stf("ha", c, f.get("ut")),
        )
      : [];
  f.body = cat(
    f.prologue(),
    f.for("k", i32c(0), f.get("n"), f64store(at8(f.get("deg"), f.get("k")), f64c(0))),
    P !== null
      ? []
      : f.for("k", i32c(0), i32mul(f.get("n"), f.dim()), f64store(at8(f.get("h"), f.get("k")), f64c(0))),
    f.csr(
      cat(f.set("ha", f.row("h", "a")), f.set("da", f64c(0)), zeroRow),
      cat(
        f.set("ws", f64load(at8(f.get("w"), f.get("s")))),
        ifThen(
          f64ne(f.get("ws"), f64c(0)),
          cat(
            f.set("b", i32load(at4(f.get("B"), f.get("s")))),
            f.set("xb", f.row("x", "b")),
            f64store(degAt("b"), f64add(f64load(degAt("b")), f.get("ws"))),
            f.set("da", f64add(f.get("da"), f.get("ws"))),
            f.set("ws", f64sub(f64c(0), f.get("ws"))),
            gather,
          ),
        ),
      ),
      cat(f64store(degAt("a"), f64add(f64load(degAt("a")), f.get("da"))), storeRow),
    ),
    f.for(
      "a",
      i32c(0),
      f.get("n"),
      cat(
        f.set("half", f64mul(f64c(0.5), f64load(degAt("a")))),
        ifThen(
          f64ne(f.get("half"), f64c(0)),
          cat(f.set("ha", f.row("h", "a")), f.set("xb", f.row("x", "a")), axpyRow("ha", "xb", "half")),
        ),
      ),
    ),
  );
  return f;
}

/**
 * g = Σ_a x_a h_aᵀ (= XᵀH), each entry summed over a in ascending order. With P known: one row of g per pass
 * over the points, its P entries in registers; else two rows and two columns per pass.
 */
function kernelRank1Sum(P: number | null): Fn {
  const f = new Fn(
    "rank1Sum",
    decl("x h g n p"),
    decl("a r r1 c p2 o xp hp gr s0:f64 s1:f64 hc:f64 xr:f64 acc0:v128 acc1:v128 hv:v128 xv:v128"),
    null,
    P,
  );
  if (P !== null) {
    const K = P >> 1;
    for (let k = 0; k < K; k++) f.local(`g${k}`, V128);
    const reg = (c: Lane) => `g${(c as number) >> 1}`;
    f.body = f.for(
      "r",
      i32c(0),
      i32c(P),
      cat(
        ...Array.from({ length: K }, (_, k) => f.set(`g${k}`, v128zero())),
        f.set("s0", f64c(0)),
        f.set("xp", at8(f.get("x"), f.get("r"))),
        f.set("hp", f.get("h")),
        f.for(
          "a",
          i32c(0),
          f.get("n"),
          cat(
            f.set("xr", f64load(f.get("xp"))),
            f.set("xv", f64x2splat(f.get("xr"))),
            f.lanes(
              (c) => f.set(reg(c), f64x2add(f.get(reg(c)), f64x2mul(f.get("xv"), f.ldv("hp", c)))),
              (c) => f.set("s0", f64add(f.get("s0"), f64mul(f.get("xr"), f.ldf("hp", c)))),
            ),
            f.inc("xp", i32c(8 * P)),
            f.inc("hp", i32c(8 * P)),
          ),
        ),
        f.set("gr", f.row("g", "r")),
        f.lanes(
          (c) => f.stv("gr", c, f.get(reg(c))),
          (c) => f.stf("gr", c, f.get("s0")),
        ),
      ),
    );
    return f;
  }
  const xAt = (r: string) => f64load(at8(f.get("x"), i32add(f.get("o"), f.get(r))));
  const gAt = (r: string) => at8(f.get("g"), i32add(i32mul(f.get(r), f.get("p")), f.get("c")));
  const overPoints = (body: Code) =>
    f.for("a", i32c(0), f.get("n"), cat(f.set("o", i32mul(f.get("a"), f.get("p"))), body));
  f.body = cat(
    f.prologue(),
    f.for(
      "r",
      i32c(0),
      f.get("p"),
      cat(
        f.set("r1", i32add(f.get("r"), i32c(1))),
        ifThen([...i32lt(f.get("r1"), f.get("p")), 0x45], f.set("r1", f.get("r"))),
        f.lanes(
          () =>
            cat(
              f.set("acc0", v128zero()),
              f.set("acc1", v128zero()),
              overPoints(
                cat(
                  f.set("hv", v128load(at8(f.get("h"), i32add(f.get("o"), f.get("c"))))),
                  f.set("acc0", f64x2add(f.get("acc0"), f64x2mul(f64x2splat(xAt("r")), f.get("hv")))),
                  f.set("acc1", f64x2add(f.get("acc1"), f64x2mul(f64x2splat(xAt("r1")), f.get("hv")))),
                ),
              ),
              v128store(gAt("r"), f.get("acc0")),
              v128store(gAt("r1"), f.get("acc1")),
            ),
          () =>
            cat(
              f.set("s0", f64c(0)),
              f.set("s1", f64c(0)),
              overPoints(
                cat(
                  f.set("hc", f64load(at8(f.get("h"), i32add(f.get("o"), f.get("c"))))),
                  f.set("s0", f64add(f.get("s0"), f64mul(xAt("r"), f.get("hc")))),
                  f.set("s1", f64add(f.get("s1"), f64mul(xAt("r1"), f.get("hc")))),
                ),
              ),
              f64store(gAt("r"), f.get("s0")),
              f64store(gAt("r1"), f.get("s1")),
            ),
        ),
      ),
      2,
    ),
  );
  return f;
}

function kernelPerturbation(): Fn {
  const f = new Fn(
    "perturbation",
    decl("dm q tIJ tIL tJL pairW jlW counts T tau2:f64 eps:f64 half:f64 quarter:f64 grad"),
    decl("t jl viol act addr d:f64 qe:f64 m2:f64 sum:f64 A:f64"),
    F64,
    null,
  );
  const tri = (arr: string) => i32load(at4(f.get(arr), f.get("t")));
  f.body = cat(
    f.set("sum", f64c(0)),
    f.for(
      "t",
      i32c(0),
      f.get("T"),
      cat(
        f.set("d", f64load(at8(f.get("dm"), f.get("t")))),
        ifElse(
          f64lt(f.get("d"), f64c(0)),
          cat(f.set("sum", f64add(f.get("sum"), f.get("tau2"))), f.inc("viol")),
          cat(
            f.set("jl", tri("tJL")),
            f.set("qe", f64add(f64load(at8(f.get("q"), f.get("jl"))), f.get("eps"))),
            f.set("m2", f64div(f64mul(f.get("d"), f.get("d")), f64mul(f64c(4), f.get("qe")))),
            ifThen(
              [...f64gt(f.get("m2"), f.get("tau2")), 0x45],
              cat(
                f.set("sum", f64add(f.get("sum"), f64sub(f.get("tau2"), f.get("m2")))),
                f.inc("act"),
                ifThen(
                  f.get("grad"),
                  cat(
                    f.set("A", f64div(f.get("d"), f.get("qe"))),
                    f.addTo("pairW", tri("tIJ"), f64mul(f.get("half"), f.get("A"))),
                    f.addTo("pairW", tri("tIL"), f64sub(f64c(0), f64mul(f.get("half"), f.get("A")))),
                    f.addTo("jlW", f.get("jl"), f64mul(f64mul(f.get("quarter"), f.get("A")), f.get("A"))),
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
    ),
    i32store(f.get("counts"), f.get("viol")),
    i32store(i32add(f.get("counts"), i32c(4)), f.get("act")),
    f.get("sum"),
  );
  return f;
}

function kernelHinge(): Fn {
  const f = new Fn(
    "hinge",
    decl("dm tIJ tIL pairW counts T margin:f64 weight:f64 grad"),
    decl("t act addr d:f64 sum:f64"),
    F64,
    null,
  );
  const tri = (arr: string) => i32load(at4(f.get(arr), f.get("t")));
  f.body = cat(
    f.set("sum", f64c(0)),
    f.for(
      "t",
      i32c(0),
      f.get("T"),
      cat(
        f.set("d", f64load(at8(f.get("dm"), f.get("t")))),
        ifThen(
          f64lt(f.get("d"), f.get("margin")),
          cat(
            f.set("sum", f64add(f.get("sum"), f64sub(f.get("margin"), f.get("d")))),
            f.inc("act"),
            ifThen(
              f.get("grad"),
              cat(
                f.addTo("pairW", tri("tIJ"), f.get("weight")),
                f.addTo("pairW", tri("tIL"), f64sub(f64c(0), f.get("weight"))),
              ),
            ),
          ),
        ),
      ),
    ),
    i32store(f.get("counts"), f.get("act")),
    f.get("sum"),
  );
  return f;
}

/**
 * sx_a = x_a·y_a and ry_a = ‖y_a‖², summed in ascending coordinate order as `forms` and the JavaScript twin do;
 * with the blocked `gemm` for y = x·M it replaces `forms` for large p (no unrolled module there).
 */
function kernelRowDots(): Fn {
  const f = new Fn("rowDots", decl("x y sx ry n p"), decl("a c xa ya s:f64 r:f64 yc:f64"), null, null);
  f.body = f.for(
    "a",
    i32c(0),
    f.get("n"),
    cat(f.set("xa", f.row("x", "a")), f.set("ya", f.row("y", "a")), rowDotsOf(f)),
  );
  return f;
}

/** sx[a] = Σ_c x_ac·y_ac and ry[a] = Σ_c y_ac², in ascending c, for the rows at locals xa, ya (shared by forms). */
function rowDotsOf(f: Fn): Code {
  return cat(
    f.set("s", f64c(0)),
    f.set("r", f64c(0)),
    f.each((c) =>
      cat(
        f.set("yc", f.ldf("ya", c)),
        f.set("s", f64add(f.get("s"), f64mul(f.ldf("xa", c), f.get("yc")))),
        f.set("r", f64add(f.get("r"), f64mul(f.get("yc"), f.get("yc")))),
      ),
    ),
    f64store(at8(f.get("sx"), f.get("a")), f.get("s")),
    f64store(at8(f.get("ry"), f.get("a")), f.get("r")),
  );
}

/** The module for dimension P (null: any p): memory imported as env.mem (`shared`: shared), one export per kernel. */
function assemble(P: number | null, shared = false): Uint8Array {
  return assembleModule(
    [
      kernelGemm(),
      kernelRowDots(),
      kernelForms(P),
      kernelPairDots(P),
      kernelDifferences(),
      kernelLaplacian(P),
      kernelRank1Sum(P),
      kernelPerturbation(),
      kernelHinge(),
    ],
    { shared },
  );
}

/** Omit over each member of a union (the plain Omit merges the members). */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Dimensions up to this get a module of their own, with the coordinate loops unrolled. */
const MAX_SPECIALISED_P = 48;
const modules = new Map<number | "any" | "shared", object | null>();

/**
 * Whether an engine's two n×p×p products (X·M and XᵀH, gemm calls beyond the unrolled modules) and its pair forms
 * go to the registered thread pool: then its memory is a shared WebAssembly memory the pool's threads run the same
 * kernels on (rows split among them, the same bits as one call). Only with a pool of two or more threads (in Node,
 * `enableKernelPool`), so browsers and single-thread runs keep an ordinary memory.
 */
function sharedProducts(p: number, specialise: boolean): boolean {
  if (specialise && p <= MAX_SPECIALISED_P) return false;
  return (rowParallel()?.threads ?? 1) > 1 && typeof SharedArrayBuffer !== "undefined";
}

/**
 * The compiled module for dimension p (unrolled when p ≤ 48 and `specialise`, else the generic one), or null
 * when WebAssembly with SIMD is unavailable. Each module is assembled and compiled once per process.
 */
function wasmModule(p: number, specialise: boolean, shared = false): object | null {
  const key = specialise && p >= 1 && p <= MAX_SPECIALISED_P ? p : shared ? "shared" : "any";
  const cached = modules.get(key);
  if (cached !== undefined) return cached;
  const mod = compileModule(() => assemble(typeof key === "number" ? key : null, key === "shared"));
  modules.set(key, mod);
  return mod;
}

interface WasmExports {
  gemm(a: number, b: number, c: number, m: number, k: number, n: number): void;
  rowDots(x: number, y: number, sx: number, ry: number, n: number, p: number): void;
  forms(x: number, m: number, y: number, sx: number, ry: number, n: number, p: number): void;
  pairDots(
    u: number,
    v: number,
    na: number,
    B: number,
    start: number,
    out: number,
    a0: number,
    a1: number,
    p: number,
  ): void;
  differences(dist: number, il: number, ij: number, dm: number, T: number): void;
  laplacian(
    x: number,
    w: number,
    B: number,
    start: number,
    h: number,
    deg: number,
    n: number,
    p: number,
  ): void;
  rank1Sum(x: number, h: number, g: number, n: number, p: number): void;
  perturbation(
    dm: number,
    q: number,
    tIJ: number,
    tIL: number,
    tJL: number,
    pairW: number,
    jlW: number,
    counts: number,
    T: number,
    tau2: number,
    eps: number,
    half: number,
    quarter: number,
    grad: number,
  ): number;
  hinge(
    dm: number,
    tIJ: number,
    tIL: number,
    pairW: number,
    counts: number,
    T: number,
    margin: number,
    weight: number,
    grad: number,
  ): number;
}

function wasmKernels(mod: object, sizes: KernelSizes, shared: boolean, recycle?: WasmInstance): Kernels {
  const api = wasmApi!;
  let memory: WasmInstance["memory"] | undefined = recycle?.memory;
  const alloc = allocate(sizes, (bytes) => {
    if (!memory) {
      const initial = Math.max(1, Math.ceil(bytes / 65536));
      memory = new api.Memory(shared ? { initial, maximum: MAX_PAGES, shared } : { initial });
      return memory.buffer;
    }
    const have = memory.buffer.byteLength;
    if (bytes > have) memory.grow(Math.ceil((bytes - have) / 65536));
    new Uint8Array(memory.buffer, 0, bytes).fill(0);
    return memory.buffer;
  });
  const k =
    recycle?.k ?? (new api.Instance(mod, { env: { mem: memory! } }).exports as unknown as WasmExports);
  const instance: WasmInstance = { mod, k, memory: memory! };
  const o = alloc.offsets;
  const b = alloc.buffers;
  const { n, p } = b;
  const T = b.dm.length;
  // Beyond the unrolled modules the blocked gemm (2 points × 4 columns per step) beats the per-point kernels;
  // both sum every entry in the same order, so the choice does not change a bit.
  const blocked = p > MAX_SPECIALISED_P;
  let transposed = false;
  // a task for the pool's threads (only with a shared memory), or false: then the caller computes it all itself
  const pooled = (task: DistributiveOmit<WasmGemmTask | WasmRangeTask, "memory" | "module">): boolean =>
    shared && (rowParallel()?.run({ ...task, memory: memory!, module: mod } as RowTask) ?? false);
  // C = A·B (m×kk · kk×nn at byte offsets a, b, c), rows split among the threads
  const product = (a: number, bb: number, c: number, m: number, kk: number, nn: number) => {
    const own = (r0: number, r1: number) => k.gemm(a + 8 * r0 * kk, bb, c + 8 * r0 * nn, r1 - r0, kk, nn);
    if (!pooled({ name: "wasmGemm", a, b: bb, c, m, k: kk, n: nn, own })) own(0, m);
  };
  // the pairs' forms by anchor rows, split among the threads
  const pairDots = (
    u: number,
    v: number,
    na: number,
    B: number,
    st: number,
    out: number,
    start: Int32Array,
  ) => {
    const own = (r0: number, r1: number) => k.pairDots(u, v, na, B, st, out, r0, r1, p);
    const args = [u, v, na, B, st, out, 0, n, p];
    const range: [number, number] = [6, 7];
    if (!pooled({ name: "wasmRange", fn: "pairDots", args, range, rows: n, work: start[n]! * p, own }))
      own(0, n);
  };
  const rank1Sum = () => {
    if (!blocked) return k.rank1Sum(o.x, o.h, o.g, n, p);
    if (!transposed) {
      // x is set once, after the kernels are made: transpose it on first use
      for (let a = 0; a < n; a++) for (let c = 0; c < p; c++) b.xt[c * n + a] = b.x[a * p + c]!;
      transposed = true;
    }
    product(o.xt, o.h, o.g, p, n, p);
  };
  return {
    backend: "wasm",
    buffers: b,
    instance,
    forms: () => {
      if (!blocked) return k.forms(o.x, o.m, o.y, o.sx, o.ry, n, p);
      product(o.x, o.m, o.y, n, p, p);
      k.rowDots(o.x, o.y, o.sx, o.ry, n, p);
    },
    pairForms: (graph) =>
      graph === "pairs"
        ? pairDots(o.x, o.y, o.sx, o.pairB, o.pairStart, o.dist, b.pairStart)
        : pairDots(o.y, o.y, o.ry, o.jlB, o.jlStart, o.q, b.jlStart),
    differences: () => k.differences(o.dist, o.tIL, o.tIJ, o.dm, T),
    laplacianProduct: (graph) => {
      if (graph === "pairs") k.laplacian(o.x, o.pairW, o.pairB, o.pairStart, o.h, o.deg, n, p);
      else k.laplacian(o.x, o.jlW, o.jlB, o.jlStart, o.h, o.deg, n, p);
      rank1Sum();
    },
    perturbation: (tau2, eps, half, quarter, grad) =>
      k.perturbation(
        o.dm,
        o.q,
        o.tIJ,
        o.tIL,
        o.tJL,
        o.pairW,
        o.jlW,
        o.counts,
        T,
        tau2,
        eps,
        half,
        quarter,
        grad ? 1 : 0,
      ),
    hinge: (margin, weight, grad) =>
      k.hinge(o.dm, o.tIJ, o.tIL, o.pairW, o.counts, T, margin, weight, grad ? 1 : 0),
  };
}
