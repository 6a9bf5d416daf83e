// eigh's two stages (EISPACK tred2 and tql2, on the transposed eigenvector matrix: see eigh.ts) as WebAssembly
// kernels. Every scalar operation is the JavaScript one in the same order — IEEE-754 arithmetic, sqrt and abs are
// exact-rounded in both — and the elementwise loops (row updates, QL rotations) run two lanes at a time, which does
// not change any element's arithmetic; so both backends give the same bits. tql2's rotations of pairs of rows are
// most of the time: in JavaScript they cost bounds checks and scalar code, here f64x2 operations.
import {
  at8,
  type Code,
  cat,
  decl,
  Fn,
  f64abs,
  f64add,
  f64c,
  f64div,
  f64eq,
  f64gt,
  f64load,
  f64lt,
  f64max,
  f64mul,
  f64ne,
  f64neg,
  f64sqrt,
  f64store,
  f64sub,
  f64x2add,
  f64x2mul,
  f64x2splat,
  f64x2sub,
  I32,
  i32add,
  i32c,
  i32lt,
  i32mul,
  i32sub,
  ifElse,
  ifThen,
  v128load,
  v128store,
  whileLoop,
} from "./wasm-encoder.js";
import { align16, WasmRuntime } from "./wasm-linalg.js";

/** for (i = from; i > downTo; i--) body   (descending) */
function forDown(f: Fn, i: string, from: Code, downTo: Code, body: Code): Code {
  return cat(
    f.set(i, from),
    whileLoop(i32lt(downTo, f.get(i)), cat(body, f.set(i, i32sub(f.get(i), i32c(1))))),
  );
}

/**
 * for (k = from; k < to; k++) over f64 elements two at a time (then the last one): `pair(addrOfK)` gets the byte
 * offset 8k to add to row bases, `single` the same for the odd last element.
 */
function elementwise(f: Fn, k: string, from: Code, to: Code, pair: Code, single: Code): Code {
  return cat(
    f.set(k, from),
    whileLoop(i32lt(i32add(f.get(k), i32c(1)), to), cat(pair, f.inc(k, i32c(2)))),
    ifThen(i32lt(f.get(k), to), single),
  );
}

/**
 * r ← hypot(x, y) as eigh.ts computes it (no Math.hypot: engines differ in its last bit), inline in the QL loop
 * (a call per rotation cost more than the arithmetic). Uses the f64 locals ha, hb, ht.
 */
function hypotInto(f: Fn, r: string, x: Code, y: Code): Code {
  return cat(
    f.set("ha", f64abs(x)),
    f.set("hb", f64abs(y)),
    ifElse(
      f64gt(f.get("ha"), f.get("hb")),
      cat(
        f.set("ht", f64div(f.get("hb"), f.get("ha"))),
        f.set(r, f64mul(f.get("ha"), f64sqrt(f64add(f64c(1), f64mul(f.get("ht"), f.get("ht")))))),
      ),
      ifElse(
        f64eq(f.get("hb"), f64c(0)),
        f.set(r, f64c(0)),
        cat(
          f.set("ht", f64div(f.get("ha"), f.get("hb"))),
          f.set(r, f64mul(f.get("hb"), f64sqrt(f64add(f64c(1), f64mul(f.get("ht"), f.get("ht")))))),
        ),
      ),
    ),
  );
}

/** tred2(T, d, e, n): eigh.ts's tred2 on the transpose T (n×n row-major), d and e (n). */
function kernelTred2(): Fn {
  const f = new Fn(
    "tred2",
    decl("T d e n"),
    decl("i j k rb tj ti ti1 ip1 va:v128 vb:v128 vf:v128 vg:v128 scale:f64 h:f64 f:f64 g:f64 hh:f64 x:f64"),
    null,
    null,
  );
  const n = () => f.get("n");
  const D = (k: Code) => f64load(at8(f.get("d"), k));
  const E = (k: Code) => f64load(at8(f.get("e"), k));
  const setD = (k: Code, v: Code) => f64store(at8(f.get("d"), k), v);
  const setE = (k: Code, v: Code) => f64store(at8(f.get("e"), k), v);
  const rowAddr = (r: Code) => i32add(f.get("T"), i32mul(r, i32mul(n(), i32c(8))));
  const Tat = (row: string, k: Code) => f64load(at8(f.get(row), k));
  const setT = (row: string, k: Code, v: Code) => f64store(at8(f.get(row), k), v);
  const i = () => f.get("i");
  const j = () => f.get("j");
  const k = () => f.get("k");
  const im1 = () => i32sub(i(), i32c(1));
  const nm1 = () => i32sub(n(), i32c(1));
  const dk = () => at8(f.get("d"), k());
  const ek = () => at8(f.get("e"), k());

  const zeroScale = cat(
    setE(i(), D(im1())),
    f.for(
      "j",
      i32c(0),
      i(),
      cat(
        f.set("tj", rowAddr(j())),
        setD(j(), Tat("tj", im1())),
        setT("tj", i(), f64c(0)),
        setT("ti", j(), f64c(0)),
      ),
    ),
  );
  const householder = cat(
    f.for(
      "k",
      i32c(0),
      i(),
      cat(setD(k(), f64div(D(k()), f.get("scale"))), f.set("h", f64add(f.get("h"), f64mul(D(k()), D(k()))))),
    ),
    f.set("f", D(im1())),
    f.set("g", f64sqrt(f.get("h"))),
    ifThen(f64gt(f.get("f"), f64c(0)), f.set("g", f64neg(f.get("g")))),
    setE(i(), f64mul(f.get("scale"), f.get("g"))),
    f.set("h", f64sub(f.get("h"), f64mul(f.get("f"), f.get("g")))),
    setD(im1(), f64sub(f.get("f"), f.get("g"))),
    f.for("j", i32c(0), i(), setE(j(), f64c(0))),
    f.for(
      "j",
      i32c(0),
      i(),
      cat(
        f.set("tj", rowAddr(j())),
        f.set("f", D(j())),
        setT("ti", j(), f.get("f")),
        f.set("g", f64add(E(j()), f64mul(Tat("tj", j()), f.get("f")))),
        // g is a running sum (scalar, in order); e[k] += T[j][k]·f is elementwise
        f.for(
          "k",
          i32add(j(), i32c(1)),
          i(),
          cat(
            f.set("x", Tat("tj", k())),
            f.set("g", f64add(f.get("g"), f64mul(f.get("x"), D(k())))),
            setE(k(), f64add(E(k()), f64mul(f.get("x"), f.get("f")))),
          ),
        ),
        setE(j(), f.get("g")),
      ),
    ),
    f.set("f", f64c(0)),
    f.for(
      "j",
      i32c(0),
      i(),
      cat(setE(j(), f64div(E(j()), f.get("h"))), f.set("f", f64add(f.get("f"), f64mul(E(j()), D(j()))))),
    ),
    f.set("hh", f64div(f.get("f"), f64add(f.get("h"), f.get("h")))),
    f.for("j", i32c(0), i(), setE(j(), f64sub(E(j()), f64mul(f.get("hh"), D(j()))))),
    f.for(
      "j",
      i32c(0),
      i(),
      cat(
        f.set("tj", rowAddr(j())),
        f.set("f", D(j())),
        f.set("g", E(j())),
        f.set("vf", f64x2splat(f.get("f"))),
        f.set("vg", f64x2splat(f.get("g"))),
        // T[j][k] −= f·e[k] + g·d[k] for k = j … i−1
        elementwise(
          f,
          "k",
          j(),
          i(),
          cat(
            f.set("rb", at8(f.get("tj"), k())),
            v128store(
              f.get("rb"),
              f64x2sub(
                v128load(f.get("rb")),
                f64x2add(f64x2mul(f.get("vf"), v128load(ek())), f64x2mul(f.get("vg"), v128load(dk()))),
              ),
            ),
          ),
          setT(
            "tj",
            k(),
            f64sub(Tat("tj", k()), f64add(f64mul(f.get("f"), E(k())), f64mul(f.get("g"), D(k())))),
          ),
        ),
        setD(j(), Tat("tj", im1())),
        setT("tj", i(), f64c(0)),
      ),
    ),
  );
  const reduce = forDown(
    f,
    "i",
    nm1(),
    i32c(0),
    cat(
      f.set("ti", rowAddr(i())),
      f.set("scale", f64c(0)),
      f.set("h", f64c(0)),
      f.for("k", i32c(0), i(), f.set("scale", f64add(f.get("scale"), f64abs(D(k()))))),
      ifElse(f64eq(f.get("scale"), f64c(0)), zeroScale, householder),
      setD(i(), f.get("h")),
    ),
  );
  const accumulate = f.for(
    "i",
    i32c(0),
    nm1(),
    cat(
      f.set("ti", rowAddr(i())),
      f.set("ip1", i32add(i(), i32c(1))),
      f.set("ti1", rowAddr(f.get("ip1"))),
      setT("ti", nm1(), Tat("ti", i())),
      setT("ti", i(), f64c(1)),
      f.set("h", D(f.get("ip1"))),
      ifThen(
        f64ne(f.get("h"), f64c(0)),
        cat(
          f.for("k", i32c(0), f.get("ip1"), setD(k(), f64div(Tat("ti1", k()), f.get("h")))),
          f.for(
            "j",
            i32c(0),
            f.get("ip1"),
            cat(
              f.set("tj", rowAddr(j())),
              f.set("g", f64c(0)),
              f.for(
                "k",
                i32c(0),
                f.get("ip1"),
                f.set("g", f64add(f.get("g"), f64mul(Tat("ti1", k()), Tat("tj", k())))),
              ),
              f.set("vg", f64x2splat(f.get("g"))),
              elementwise(
                f,
                "k",
                i32c(0),
                f.get("ip1"),
                cat(
                  f.set("rb", at8(f.get("tj"), k())),
                  v128store(
                    f.get("rb"),
                    f64x2sub(v128load(f.get("rb")), f64x2mul(f.get("vg"), v128load(dk()))),
                  ),
                ),
                setT("tj", k(), f64sub(Tat("tj", k()), f64mul(f.get("g"), D(k())))),
              ),
            ),
          ),
        ),
      ),
      f.for("k", i32c(0), f.get("ip1"), setT("ti1", k(), f64c(0))),
    ),
  );
  f.body = cat(
    f.for("j", i32c(0), n(), cat(f.set("tj", rowAddr(j())), setD(j(), Tat("tj", nm1())))),
    reduce,
    accumulate,
    f.for(
      "j",
      i32c(0),
      n(),
      cat(f.set("tj", rowAddr(j())), setD(j(), Tat("tj", nm1())), setT("tj", nm1(), f64c(0))),
    ),
    f.set("tj", rowAddr(nm1())),
    setT("tj", nm1(), f64c(1)),
    setE(i32c(0), f64c(0)),
  );
  return f;
}

/**
 * tql2(W, d, e, n) → 0, or l + 1 when QL did not converge for eigenvalue l within 60 sweeps: eigh.ts's tql2 on
 * the rows of W.
 */
function kernelTql2(): Fn {
  const f = new Fn(
    "tql2",
    decl("W d e n"),
    decl(
      "l m i k iter r0 r1 a0 a1 vc:v128 vs:v128 w0:v128 w1:v128 f:f64 tst1:f64 g:f64 p:f64 r:f64 dl1:f64 h:f64 c:f64 c2:f64 c3:f64 el1:f64 s:f64 s2:f64 x0:f64 x1:f64 ha:f64 hb:f64 ht:f64",
    ),
    I32,
    null,
  );
  const eps = 2 ** -52;
  const n = () => f.get("n");
  const D = (k: Code) => f64load(at8(f.get("d"), k));
  const E = (k: Code) => f64load(at8(f.get("e"), k));
  const setD = (k: Code, v: Code) => f64store(at8(f.get("d"), k), v);
  const setE = (k: Code, v: Code) => f64store(at8(f.get("e"), k), v);
  const l = () => f.get("l");
  const i = () => f.get("i");
  const lp1 = () => i32add(l(), i32c(1));
  const small = (x: Code) => f64gt(f64abs(x), f64mul(f64c(eps), f.get("tst1")));
  const rotate = cat(
    f.set("r0", i32add(f.get("W"), i32mul(i(), i32mul(n(), i32c(8))))),
    f.set("r1", i32add(f.get("r0"), i32mul(n(), i32c(8)))),
    f.set("vs", f64x2splat(f.get("s"))),
    f.set("vc", f64x2splat(f.get("c"))),
    elementwise(
      f,
      "k",
      i32c(0),
      n(),
      cat(
        f.set("a0", at8(f.get("r0"), f.get("k"))),
        f.set("a1", at8(f.get("r1"), f.get("k"))),
        f.set("w1", v128load(f.get("a1"))),
        f.set("w0", v128load(f.get("a0"))),
        v128store(
          f.get("a1"),
          f64x2add(f64x2mul(f.get("vs"), f.get("w0")), f64x2mul(f.get("vc"), f.get("w1"))),
        ),
        v128store(
          f.get("a0"),
          f64x2sub(f64x2mul(f.get("vc"), f.get("w0")), f64x2mul(f.get("vs"), f.get("w1"))),
        ),
      ),
      cat(
        f.set("a0", at8(f.get("r0"), f.get("k"))),
        f.set("a1", at8(f.get("r1"), f.get("k"))),
        f.set("x1", f64load(f.get("a1"))),
        f.set("x0", f64load(f.get("a0"))),
        f64store(f.get("a1"), f64add(f64mul(f.get("s"), f.get("x0")), f64mul(f.get("c"), f.get("x1")))),
        f64store(f.get("a0"), f64sub(f64mul(f.get("c"), f.get("x0")), f64mul(f.get("s"), f.get("x1")))),
      ),
    ),
  );
  const sweep = cat(
    f.set("iter", i32add(f.get("iter"), i32c(1))),
    ifThen(i32lt(i32c(60), f.get("iter")), cat(i32add(l(), i32c(1)), [0x0f])),
    f.set("g", D(l())),
    f.set("p", f64div(f64sub(D(lp1()), f.get("g")), f64mul(f64c(2), E(l())))),
    hypotInto(f, "r", f.get("p"), f64c(1)),
    ifThen(f64lt(f.get("p"), f64c(0)), f.set("r", f64neg(f.get("r")))),
    setD(l(), f64div(E(l()), f64add(f.get("p"), f.get("r")))),
    setD(lp1(), f64mul(E(l()), f64add(f.get("p"), f.get("r")))),
    f.set("dl1", D(lp1())),
    f.set("h", f64sub(f.get("g"), D(l()))),
    f.for("i", i32add(l(), i32c(2)), n(), setD(i(), f64sub(D(i()), f.get("h")))),
    f.set("f", f64add(f.get("f"), f.get("h"))),
    f.set("p", D(f.get("m"))),
    f.set("c", f64c(1)),
    f.set("c2", f.get("c")),
    f.set("c3", f.get("c")),
    f.set("el1", E(lp1())),
    f.set("s", f64c(0)),
    f.set("s2", f64c(0)),
    forDown(
      f,
      "i",
      i32sub(f.get("m"), i32c(1)),
      i32sub(l(), i32c(1)),
      cat(
        f.set("c3", f.get("c2")),
        f.set("c2", f.get("c")),
        f.set("s2", f.get("s")),
        f.set("g", f64mul(f.get("c"), E(i()))),
        f.set("h", f64mul(f.get("c"), f.get("p"))),
        hypotInto(f, "r", f.get("p"), E(i())),
        setE(i32add(i(), i32c(1)), f64mul(f.get("s"), f.get("r"))),
        f.set("s", f64div(E(i()), f.get("r"))),
        f.set("c", f64div(f.get("p"), f.get("r"))),
        f.set("p", f64sub(f64mul(f.get("c"), D(i())), f64mul(f.get("s"), f.get("g")))),
        setD(
          i32add(i(), i32c(1)),
          f64add(
            f.get("h"),
            f64mul(f.get("s"), f64add(f64mul(f.get("c"), f.get("g")), f64mul(f.get("s"), D(i())))),
          ),
        ),
        rotate,
      ),
    ),
    f.set(
      "p",
      f64div(
        f64mul(f64mul(f64mul(f64mul(f64neg(f.get("s")), f.get("s2")), f.get("c3")), f.get("el1")), E(l())),
        f.get("dl1"),
      ),
    ),
    setE(l(), f64mul(f.get("s"), f.get("p"))),
    setD(l(), f64mul(f.get("c"), f.get("p"))),
  );
  f.body = cat(
    f.for("i", i32c(1), n(), setE(i32sub(i(), i32c(1)), E(i()))),
    setE(i32sub(n(), i32c(1)), f64c(0)),
    f.set("f", f64c(0)),
    f.set("tst1", f64c(0)),
    f.for(
      "l",
      i32c(0),
      n(),
      cat(
        f.set("tst1", f64max(f.get("tst1"), f64add(f64abs(D(l())), f64abs(E(l()))))),
        f.set("m", l()),
        whileLoop(
          // m < n − 1 && |e[m]| > eps·tst1 (the second only read when the first holds)
          i32lt(f.get("m"), i32sub(n(), i32c(1))),
          // in the if: m++, continue (br 1 = the loop); after it: break (br 1 = the loop's block)
          cat(ifThen(small(E(f.get("m"))), cat(f.inc("m"), [0x0c, 1])), [0x0c, 1]),
        ),
        ifThen(
          i32lt(l(), f.get("m")),
          cat(
            f.set("iter", i32c(0)),
            // do { sweep } while (|e[l]| > eps·tst1)
            [0x03, 0x40],
            sweep,
            small(E(l())),
            [0x0d, 0, 0x0b],
          ),
        ),
        setD(l(), f64add(D(l()), f.get("f"))),
        setE(l(), f64c(0)),
      ),
    ),
    i32c(0),
  );
  return f;
}

/**
 * reconstruct(Ut, w, out, n): the upper triangle of U diag(w) Uᵀ from Ut = Uᵀ (eigenvectors as rows): for k
 * ascending with w_k ≠ 0, for each i with a = w_k·U_ik ≠ 0, out_ij += a·U_jk for j ≥ i (two lanes at a time) —
 * sym.ts's reconstruct, element by element in the same order.
 */
function kernelReconstruct(): Fn {
  const f = new Fn(
    "reconstruct",
    decl("Ut w out n"),
    decl("k i j uk oi rb va:v128 wk:f64 a:f64"),
    null,
    null,
  );
  const n = () => f.get("n");
  const rowAt = (base: string, r: Code) => i32add(f.get(base), i32mul(r, i32mul(n(), i32c(8))));
  f.body = cat(
    f.for("i", i32c(0), i32mul(n(), n()), f64store(at8(f.get("out"), f.get("i")), f64c(0))),
    f.for(
      "k",
      i32c(0),
      n(),
      cat(
        f.set("wk", f64load(at8(f.get("w"), f.get("k")))),
        ifThen(
          f64ne(f.get("wk"), f64c(0)),
          cat(
            f.set("uk", rowAt("Ut", f.get("k"))),
            f.for(
              "i",
              i32c(0),
              n(),
              cat(
                f.set("a", f64mul(f.get("wk"), f64load(at8(f.get("uk"), f.get("i"))))),
                ifThen(
                  f64ne(f.get("a"), f64c(0)),
                  cat(
                    f.set("oi", rowAt("out", f.get("i"))),
                    f.set("va", f64x2splat(f.get("a"))),
                    elementwise(
                      f,
                      "j",
                      f.get("i"),
                      n(),
                      cat(
                        f.set("rb", at8(f.get("oi"), f.get("j"))),
                        v128store(
                          f.get("rb"),
                          f64x2add(
                            v128load(f.get("rb")),
                            f64x2mul(f.get("va"), v128load(at8(f.get("uk"), f.get("j")))),
                          ),
                        ),
                      ),
                      cat(
                        f.set("rb", at8(f.get("oi"), f.get("j"))),
                        f64store(
                          f.get("rb"),
                          f64add(
                            f64load(f.get("rb")),
                            f64mul(f.get("a"), f64load(at8(f.get("uk"), f.get("j")))),
                          ),
                        ),
                      ),
                    ),
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
    ),
  );
  return f;
}

interface EighExports {
  tred2(T: number, d: number, e: number, n: number): void;
  tql2(W: number, d: number, e: number, n: number): number;
  reconstruct(Ut: number, w: number, out: number, n: number): void;
}

const runtime = new WasmRuntime<EighExports>(() => [kernelTred2(), kernelTql2(), kernelReconstruct()]);

/**
 * The upper triangle of U diag(w) Uᵀ into `out` (n×n; the lower triangle is left 0) from Ut = Uᵀ, by the kernel;
 * false (nothing done) without WebAssembly.
 */
export function reconstructUpperWasm(
  Ut: Float64Array,
  w: ArrayLike<number>,
  out: Float64Array,
  n: number,
): boolean {
  const k = runtime.exports();
  if (!k) return false;
  const at = { Ut: 0, w: align16(n * n * 8), out: 0 };
  at.out = at.w + align16(n * 8);
  const buf = runtime.reserve(at.out + n * n * 8);
  new Float64Array(buf, at.Ut, n * n).set(Ut.subarray(0, n * n));
  const wm = new Float64Array(buf, at.w, n);
  for (let i = 0; i < n; i++) wm[i] = w[i]!;
  k.reconstruct(at.Ut, at.w, at.out, n);
  out.set(new Float64Array(buf, at.out, n * n));
  return true;
}

/**
 * Runs tred2 then tql2 on W (n×n, the transposed input, overwritten with the eigenvectors as rows), d and e by the
 * kernels. Returns false when WebAssembly is unavailable (nothing done), else true with W, d, e updated; throws
 * via `fail(l)` when QL does not converge for eigenvalue l.
 */
export function tridiagonalQlWasm(
  n: number,
  W: Float64Array,
  d: Float64Array,
  e: Float64Array,
  fail: (l: number) => never,
): boolean {
  const k = runtime.exports();
  if (!k) return false;
  const at = { W: 0, d: align16(n * n * 8), e: 0 };
  at.e = at.d + align16(n * 8);
  const buf = runtime.reserve(at.e + align16(n * 8));
  const Wm = new Float64Array(buf, at.W, n * n);
  const dm = new Float64Array(buf, at.d, n);
  const em = new Float64Array(buf, at.e, n);
  Wm.set(W);
  dm.fill(0);
  em.fill(0);
  k.tred2(at.W, at.d, at.e, n);
  const status = k.tql2(at.W, at.d, at.e, n);
  if (status !== 0) fail(status - 1);
  W.set(Wm);
  d.set(dm);
  e.set(em);
  return true;
}
