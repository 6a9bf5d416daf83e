// WebAssembly SIMD (f64x2) twins of hot kernels, built with the encoder of wasm-encoder.ts, and the small runtime
// they share. Each kernel sums in the same order as its JavaScript twin (two interleaved partial sums, even and
// odd coordinates, then the odd last coordinate), so both backends give the same bits. One module instance per
// process owns a growable memory; callers copy their operands in, run the kernel and read the result out.
import {
  assembleModule,
  at8,
  type Code,
  cat,
  compileModule,
  decl,
  Fn,
  f64add,
  f64c,
  f64load,
  f64mul,
  f64store,
  f64sub,
  f64x2add,
  f64x2mul,
  f64x2splat,
  f64x2sub,
  i32add,
  i32c,
  i32lt,
  i32mul,
  i32shl,
  ifThen,
  laneSum,
  MAX_PAGES,
  simd,
  uleb,
  v128zero,
  wasmApi,
  whileLoop,
} from "./wasm-encoder.js";

/**
 * sqdist(a, b, out, m, n, p, sym): out[i·n + j] = Σ_c (a_ic − b_jc)² for i < m and j < n (j ≥ i when sym ≠ 0),
 * two columns j at a time so each row of A is loaded once per pair of rows of B.
 */
function kernelSqDist(): Fn {
  const f = new Fn(
    "sqdist",
    decl("a b out m n p sym"),
    decl("i j c p2 ai b0 b1 o x:v128 t:v128 acc0:v128 acc1:v128 s0:f64 s1:f64 u:f64"),
    null,
    null,
  );
  const stride = i32shl(f.get("p"), i32c(3));
  const oddTail = (acc: string, bj: string, s: string) =>
    cat(
      f.set(s, laneSum(f, acc)),
      ifThen(
        i32lt(f.get("p2"), f.get("p")),
        cat(
          f.set("u", f64sub(f.ldf("ai", f.get("p2")), f.ldf(bj, f.get("p2")))),
          f.set(s, f64add(f.get(s), f64mul(f.get("u"), f.get("u")))),
        ),
      ),
    );
  const outAt = (j: ReturnType<Fn["get"]>) => i32add(f.get("out"), i32shl(i32add(f.get("o"), j), i32c(3)));
  f.body = cat(
    f.prologue(),
    f.for(
      "i",
      i32c(0),
      f.get("m"),
      cat(
        f.set("ai", f.row("a", "i")),
        f.set("o", i32mul(f.get("i"), f.get("n"))),
        f.set("j", i32c(0)),
        ifThen(f.get("sym"), f.set("j", f.get("i"))),
        whileLoop(
          i32lt(i32add(f.get("j"), i32c(1)), f.get("n")),
          cat(
            f.set("b0", f.row("b", "j")),
            f.set("b1", i32add(f.get("b0"), stride)),
            f.set("acc0", v128zero()),
            f.set("acc1", v128zero()),
            f.for(
              "c",
              i32c(0),
              f.get("p2"),
              cat(
                f.set("x", f.ldv("ai", f.get("c"))),
                f.set("t", f64x2sub(f.get("x"), f.ldv("b0", f.get("c")))),
                f.set("acc0", f64x2add(f.get("acc0"), f64x2mul(f.get("t"), f.get("t")))),
                f.set("t", f64x2sub(f.get("x"), f.ldv("b1", f.get("c")))),
                f.set("acc1", f64x2add(f.get("acc1"), f64x2mul(f.get("t"), f.get("t")))),
              ),
              2,
            ),
            oddTail("acc0", "b0", "s0"),
            oddTail("acc1", "b1", "s1"),
            f64store(outAt(f.get("j")), f.get("s0")),
            f64store(outAt(i32add(f.get("j"), i32c(1))), f.get("s1")),
            f.inc("j", i32c(2)),
          ),
        ),
        ifThen(
          i32lt(f.get("j"), f.get("n")),
          cat(
            f.set("b0", f.row("b", "j")),
            f.set("acc0", v128zero()),
            f.for(
              "c",
              i32c(0),
              f.get("p2"),
              cat(
                f.set("t", f64x2sub(f.ldv("ai", f.get("c")), f.ldv("b0", f.get("c")))),
                f.set("acc0", f64x2add(f.get("acc0"), f64x2mul(f.get("t"), f.get("t")))),
              ),
              2,
            ),
            oddTail("acc0", "b0", "s0"),
            f64store(outAt(f.get("j")), f.get("s0")),
          ),
        ),
      ),
    ),
  );
  return f;
}

/**
 * gemm(a, b, c, m, k, n): C (m×n) = A (m×k) · B (k×n), all row-major. Blocks of 4 rows × 4 columns in eight v128
 * accumulators (each load of B used four times; then 2-row and 1-row blocks for a chunk's last rows); every C_ij
 * is Σ_t A_it·B_tj in ascending t, as the JavaScript kernels sum it, so the bits agree.
 *
 * Rows go in chunks: 64 while B is over 128 KB (16,384 doubles), 4 below — narrow products such as n×p · p×p,
 * where re-reading a chunk of A per column panel costs more than it saves (500³: 7.97 -> 13.7 GFLOP/s in
 * bench:kernels on an Intel Xeon with 48 KB L1 and 2 MB L2; chunks of 32 and 128 were within 5 %).
 */
export function kernelGemm(): Fn {
  const rowsOf = (rows: number) => Array.from({ length: rows }, (_, r) => r);
  const f = new Fn(
    "gemm",
    decl("a b c m k n"),
    decl(
      "i i0 i1 ch j t ra0 ra1 ra2 ra3 bp cp n8 k8 acc00:v128 acc01:v128 acc10:v128 acc11:v128 acc20:v128 acc21:v128 " +
        "acc30:v128 acc31:v128 x0:v128 x1:v128 x2:v128 x3:v128 b0:v128 b1:v128 s0:f64 s1:f64 s2:f64 s3:f64",
    ),
    null,
    null,
  );
  const g = (v: string) => f.get(v);
  const madd = (acc: string, x: string, b: string) => f.set(acc, f64x2add(g(acc), f64x2mul(g(x), g(b))));
  const v128at = (addr: Code, off: number): Code => [...addr, ...simd(0), 3, ...uleb(off)];
  const v128st = (addr: Code, v: Code, off: number): Code => [...addr, ...v, ...simd(11), 3, ...uleb(off)];
  const f64at = (addr: Code): Code => f64load(addr);
  // C row pointer for (i, j) and the walk of B's column block j down the rows t
  const startBlock = cat(f.set("bp", i32add(g("b"), i32shl(g("j"), i32c(3)))));
  const bNext = f.set("bp", i32add(g("bp"), g("n8")));
  const cAt = (row: Code) => i32add(g("c"), i32shl(i32add(i32mul(row, g("n")), g("j")), i32c(3)));
  const scalarCol = (rows: number) =>
    cat(
      ...rowsOf(rows).map((r) => f.set(`s${r}`, f64c(0))),
      f.set("bp", i32add(g("b"), i32shl(g("j"), i32c(3)))),
      f.for(
        "t",
        i32c(0),
        g("k"),
        cat(
          ...rowsOf(rows).map((r) =>
            f.set(`s${r}`, f64add(g(`s${r}`), f64mul(f64at(at8(g(`ra${r}`), g("t"))), f64at(g("bp"))))),
          ),
          bNext,
        ),
      ),
      ...rowsOf(rows).map((r) => f64store(cAt(i32add(g("i"), i32c(r))), g(`s${r}`))),
    );
  // row pointers of rows i .. i + rows − 1
  const setRows = (rows: number) =>
    cat(
      f.set("ra0", i32add(g("a"), i32mul(g("i"), g("k8")))),
      ...rowsOf(rows)
        .slice(1)
        .map((r) => f.set(`ra${r}`, i32add(g(`ra${r - 1}`), g("k8")))),
    );
  // C[i .. i + rows − 1][j .. j + 3]: each load of B serves `rows` rows
  const block = (rows: number) =>
    cat(
      ...rowsOf(rows).flatMap((r) => [f.set(`acc${r}0`, v128zero()), f.set(`acc${r}1`, v128zero())]),
      startBlock,
      f.for(
        "t",
        i32c(0),
        g("k"),
        cat(
          ...rowsOf(rows).map((r) => f.set(`x${r}`, f64x2splat(f64at(at8(g(`ra${r}`), g("t")))))),
          f.set("b0", v128at(g("bp"), 0)),
          f.set("b1", v128at(g("bp"), 16)),
          ...rowsOf(rows).flatMap((r) => [madd(`acc${r}0`, `x${r}`, "b0"), madd(`acc${r}1`, `x${r}`, "b1")]),
          bNext,
        ),
      ),
      f.set("cp", cAt(g("i"))),
      ...rowsOf(rows).flatMap((r) => [
        r > 0 ? f.set("cp", i32add(g("cp"), g("n8"))) : [],
        v128st(g("cp"), g(`acc${r}0`), 0),
        v128st(g("cp"), g(`acc${r}1`), 16),
      ]),
    );
  // every row of the chunk [i0, i1) against the current columns, 4 rows at a time, then 2, then 1
  const chunkRows = (body: (rows: number) => Code) =>
    cat(
      f.set("i", g("i0")),
      whileLoop(i32lt(i32add(g("i"), i32c(3)), g("i1")), cat(setRows(4), body(4), f.inc("i", i32c(4)))),
      ifThen(i32lt(i32add(g("i"), i32c(1)), g("i1")), cat(setRows(2), body(2), f.inc("i", i32c(2)))),
      ifThen(i32lt(g("i"), g("i1")), cat(setRows(1), body(1))),
    );
  // Chunks of `ch` rows: within a chunk the 4-column panel of B (k lines) stays in L1 while the chunk's rows pass
  // over it, so B streams from L2/L3 once per chunk, not once per 4 rows. Each C_ij is still one pass over t.
  f.body = cat(
    f.set("n8", i32shl(g("n"), i32c(3))),
    f.set("k8", i32shl(g("k"), i32c(3))),
    f.set("ch", i32c(4)),
    ifThen(i32lt(i32c(16384), i32mul(g("k"), g("n"))), f.set("ch", i32c(64))),
    f.set("i0", i32c(0)),
    whileLoop(
      i32lt(g("i0"), g("m")),
      cat(
        f.set("i1", i32add(g("i0"), g("ch"))),
        ifThen(i32lt(g("m"), g("i1")), f.set("i1", g("m"))),
        f.set("j", i32c(0)),
        whileLoop(i32lt(i32add(g("j"), i32c(3)), g("n")), cat(chunkRows(block), f.inc("j", i32c(4)))),
        whileLoop(i32lt(g("j"), g("n")), cat(chunkRows(scalarCol), f.inc("j"))),
        f.set("i0", g("i1")),
      ),
    ),
  );
  return f;
}

interface LinalgExports {
  sqdist(a: number, b: number, out: number, m: number, n: number, p: number, sym: number): void;
  gemm(a: number, b: number, c: number, m: number, k: number, n: number): void;
}

/**
 * A lazily compiled module with one instance per process and its own growable memory. Operands are copied in at
 * byte offsets chosen by the caller; `reserve` grows the memory (views made before it are then invalid). `shared`:
 * the memory is a shared WebAssembly memory, which the kernel pool's threads can run the same module on.
 */
export class WasmRuntime<E> {
  private state:
    | { k: E; mod: object; memory: { buffer: ArrayBuffer; grow(pages: number): number } }
    | null
    | undefined;
  constructor(
    private readonly build: () => Fn[],
    private readonly shared = false,
  ) {}

  /** The compiled module and the memory (after `exports()` returned non-null), for the pool's threads. */
  get instance(): { mod: object; memory: { buffer: ArrayBuffer } } {
    return this.state!;
  }

  /** The exports, or null when WebAssembly SIMD is unavailable or the JavaScript kernels are forced. */
  exports(): E | null {
    if (preferred === "js") return null;
    if (this.state === undefined) {
      this.state = null;
      const shared = this.shared;
      const mod = compileModule(() => assembleModule(this.build(), { shared }));
      if (mod && wasmApi) {
        try {
          const memory = new wasmApi.Memory(
            shared ? { initial: 16, maximum: MAX_PAGES, shared } : { initial: 16 },
          );
          const inst = new wasmApi.Instance(mod, { env: { mem: memory } });
          this.state = { k: inst.exports as E, mod, memory };
        } catch {
          this.state = null;
        }
      }
    }
    return this.state?.k ?? null;
  }

  /** Grows the memory to at least `bytes` and returns its buffer (call after `exports()` returned non-null). */
  reserve(bytes: number): ArrayBuffer {
    const memory = this.state!.memory;
    const have = memory.buffer.byteLength;
    if (bytes > have) memory.grow(Math.ceil((bytes - have) / 65536));
    return memory.buffer;
  }
}

/** Byte offsets rounded up to 16 (v128 loads do not need it, but aligned rows are faster). */
export const align16 = (bytes: number): number => Math.ceil(bytes / 16) * 16;

/** Which backend the kernels use: "wasm" when available, unless forced to "js" (tests, benchmarks). */
let preferred: "auto" | "js" = "auto";

/** Forces the JavaScript kernels ("js") or restores automatic selection ("auto"); for tests and benchmarks. */
export function setLinalgBackend(b: "auto" | "js"): void {
  preferred = b;
}

const linalg = new WasmRuntime<LinalgExports>(() => [kernelSqDist(), kernelGemm()]);

/** The backend the next kernel call will use. */
export function linalgBackend(): "wasm" | "js" {
  return linalg.exports() ? "wasm" : "js";
}

/**
 * Squared distances by the wasm kernel into `out` (m×n, row-major), or false when wasm is unavailable or not
 * preferred. `symmetric`: A and B are the same matrix, only j ≥ i is computed (the caller mirrors).
 */
export function sqDistancesWasm(
  A: Float64Array,
  B: Float64Array,
  out: Float64Array,
  m: number,
  n: number,
  p: number,
  symmetric: boolean,
): boolean {
  const k = linalg.exports();
  if (!k) return false;
  const aBytes = align16(m * p * 8);
  const bBytes = symmetric ? 0 : align16(n * p * 8);
  const buf = linalg.reserve(aBytes + bBytes + m * n * 8);
  new Float64Array(buf, 0, m * p).set(A.subarray(0, m * p));
  const bAt = symmetric ? 0 : aBytes;
  if (!symmetric) new Float64Array(buf, bAt, n * p).set(B.subarray(0, n * p));
  const outAt = aBytes + bBytes;
  k.sqdist(0, bAt, outAt, m, n, p, symmetric ? 1 : 0);
  const C = new Float64Array(buf, outAt, m * n);
  // symmetric: only j ≥ i was computed (the caller mirrors), so copy half the matrix out
  if (symmetric) for (let i = 0; i < m; i++) out.set(C.subarray(i * n + i, (i + 1) * n), i * n + i);
  else out.set(C);
  return true;
}

/**
 * C = A·B (A m×k, B k×n, row-major) by the wasm kernel into `out`, or false when wasm is unavailable or not
 * preferred.
 */
export function gemmWasm(
  A: Float64Array,
  B: Float64Array,
  out: Float64Array,
  m: number,
  k: number,
  n: number,
): boolean {
  const w = linalg.exports();
  if (!w) return false;
  const aBytes = align16(m * k * 8);
  const bBytes = align16(k * n * 8);
  const buf = linalg.reserve(aBytes + bBytes + m * n * 8);
  new Float64Array(buf, 0, m * k).set(A.subarray(0, m * k));
  new Float64Array(buf, aBytes, k * n).set(B.subarray(0, k * n));
  w.gemm(0, aBytes, aBytes + bBytes, m, k, n);
  out.set(new Float64Array(buf, aBytes + bBytes, m * n));
  return true;
}
