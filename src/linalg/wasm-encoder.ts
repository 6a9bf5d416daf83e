// A minimal WebAssembly encoder for the kernels of this project (TripletEngine's, the linear-algebra ones, the
// Bregman sweep): the instructions they use, a function builder with named locals and loops unrolled for a known
// dimension, module assembly, and the typed slice of the WebAssembly JS API. Modules are assembled at load time:
// no toolchain, no binary blob. Reference: the WebAssembly core specification 2.0, binary format (§5) and SIMD
// (§5.4.8). Every kernel keeps a plain JavaScript twin used when WebAssembly SIMD is unavailable.

export type Code = number[];

export const I32 = 0x7f;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F64 | typeof V128;

export function uleb(v: number): Code {
  const out: Code = [];
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

export function sleb(v: number): Code {
  const out: Code = [];
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

export const vec = (items: Code[]): Code => [...uleb(items.length), ...items.flat()];
export const name = (s: string): Code => vec(Array.from(s, (ch) => [ch.charCodeAt(0)]));
export const cat = (...parts: Code[]): Code => parts.flat();

// instructions (expressions are byte arrays in stack order)
export const i32c = (k: number): Code => [0x41, ...sleb(k)];
export const f64c = (k: number): Code => [0x44, ...new Uint8Array(Float64Array.of(k).buffer)];
export const bin =
  (opcode: number) =>
  (a: Code, b: Code): Code => [...a, ...b, opcode];
export const i32add = bin(0x6a);
export const i32mul = bin(0x6c);
export const i32and = bin(0x71);
export const i32shl = bin(0x74);
export const i32lt = bin(0x48);
export const i32sub = bin(0x6b);
export const i32eq = bin(0x46);
export const i32shrs = bin(0x75);
export const i32truncf64s = (a: Code): Code => [...a, 0xaa];
export const f64floor = (a: Code): Code => [...a, 0x9c];
export const f64abs = (a: Code): Code => [...a, 0x99];
export const f64neg = (a: Code): Code => [...a, 0x9a];
export const f64sqrt = (a: Code): Code => [...a, 0x9f];
export const f64le = bin(0x65);
export const f64eq = bin(0x61);
/** cond ? a : b (both evaluated). */
export const select = (a: Code, b: Code, cond: Code): Code => [...a, ...b, ...cond, 0x1b];
/** A call of the module's function number `index` (its position in assembleModule's list). */
export const call = (index: number, ...args: Code[]): Code => cat(...args, [0x10, ...uleb(index)]);
export const f64add = bin(0xa0);
export const f64sub = bin(0xa1);
export const f64mul = bin(0xa2);
export const f64div = bin(0xa3);
export const f64ne = bin(0x62);
export const f64lt = bin(0x63);
export const f64gt = bin(0x64);
export const f64min = bin(0xa4);
export const f64max = bin(0xa5);
export const i32ne = bin(0x47);
export const i32le = bin(0x4c);
export const simd = (op: number): Code => [0xfd, ...uleb(op)];
export const v128zero = (): Code => [...simd(12), ...new Array<number>(16).fill(0)];
export const f64x2splat = (a: Code): Code => [...a, ...simd(20)];
export const f64x2lane = (a: Code, lane: 0 | 1): Code => [...a, ...simd(33), lane];
export const f64x2add = (a: Code, b: Code): Code => [...a, ...b, ...simd(240)];
export const f64x2sub = (a: Code, b: Code): Code => [...a, ...b, ...simd(241)];
export const f64x2mul = (a: Code, b: Code): Code => [...a, ...b, ...simd(242)];
export const f64load = (addr: Code): Code => [...addr, 0x2b, 3, 0];
export const f64store = (addr: Code, v: Code): Code => [...addr, ...v, 0x39, 3, 0];
export const i32load = (addr: Code, offset = 0): Code => [...addr, 0x28, 2, ...uleb(offset)];
export const i32store = (addr: Code, v: Code): Code => [...addr, ...v, 0x36, 2, 0];
export const v128load = (addr: Code): Code => [...addr, ...simd(0), 3, 0];
export const v128store = (addr: Code, v: Code): Code => [...addr, ...v, ...simd(11), 3, 0];
/** base + 8·i and base + 4·i: the byte address of element i of an f64 or i32 array. */
export const at8 = (base: Code, i: Code): Code => i32add(base, i32shl(i, i32c(3)));
export const at4 = (base: Code, i: Code): Code => i32add(base, i32shl(i, i32c(2)));

/** Parses "a b s:f64 v:v128" into named value types (i32 when no type is given). */
export function decl(spec: string): Array<[string, ValType]> {
  const types: Record<string, ValType> = { i32: I32, f64: F64, v128: V128 };
  return spec
    .split(/\s+/)
    .filter(Boolean)
    .map((item) => {
      const [n, t = "i32"] = item.split(":");
      return [n!, types[t]!];
    });
}

/**
 * An element index for a memory access: a number is a compile-time constant (the access becomes a memarg offset),
 * an array is an i32 expression computed at run time.
 */
export type Lane = number | Code;

/**
 * A function under construction: named parameters and locals, structured control flow, and memory accesses
 * that are unrolled with constant offsets when the dimension P is known when the module is built (P = null:
 * generic loops over the i32 parameter "p").
 */
export class Fn {
  private readonly index = new Map<string, number>();
  private readonly localTypes: ValType[] = [];
  readonly paramTypes: ValType[];
  body: Code = [];

  constructor(
    readonly exportName: string,
    params: Array<[string, ValType]>,
    locals: Array<[string, ValType]>,
    readonly result: ValType | null,
    readonly P: number | null,
  ) {
    this.paramTypes = params.map(([, t]) => t);
    params.forEach(([n], k) => this.index.set(n, k));
    for (const [n, t] of locals) this.local(n, t);
  }

  /** Declares one more local (e.g. accumulators whose number depends on P). */
  local(n: string, t: ValType): void {
    this.index.set(n, this.paramTypes.length + this.localTypes.length);
    this.localTypes.push(t);
  }

  private slot(n: string): number {
    const k = this.index.get(n);
    if (k === undefined) throw new Error(`wasm kernel ${this.exportName}: unknown local ${n}`);
    return k;
  }

  get(n: string): Code {
    return [0x20, ...uleb(this.slot(n))];
  }
  set(n: string, v: Code): Code {
    return [...v, 0x21, ...uleb(this.slot(n))];
  }
  /** n += v (i32). */
  inc(n: string, v: Code = i32c(1)): Code {
    return this.set(n, i32add(this.get(n), v));
  }

  /** p: the constant P or the parameter "p". */
  dim(): Code {
    return this.P !== null ? i32c(this.P) : this.get("p");
  }

  /** The byte address of row i of an n×p f64 matrix at `base`: base + 8·i·p. */
  row(base: string, i: string): Code {
    const stride = this.P !== null ? i32c(8 * this.P) : i32shl(this.get("p"), i32c(3));
    return i32add(this.get(base), i32mul(this.get(i), stride));
  }

  private ea(base: string, lane: Lane): [Code, number] {
    return typeof lane === "number" ? [this.get(base), 8 * lane] : [at8(this.get(base), lane), 0];
  }
  /** v128 / f64 loads and stores of element `lane` of the f64 array whose address is in local `base`. */
  ldv(base: string, lane: Lane): Code {
    const [addr, off] = this.ea(base, lane);
    return [...addr, ...simd(0), 3, ...uleb(off)];
  }
  stv(base: string, lane: Lane, v: Code): Code {
    const [addr, off] = this.ea(base, lane);
    return [...addr, ...v, ...simd(11), 3, ...uleb(off)];
  }
  ldf(base: string, lane: Lane): Code {
    const [addr, off] = this.ea(base, lane);
    return [...addr, 0x2b, 3, ...uleb(off)];
  }
  stf(base: string, lane: Lane, v: Code): Code {
    const [addr, off] = this.ea(base, lane);
    return [...addr, ...v, 0x39, 3, ...uleb(off)];
  }

  /**
   * The coordinates 0..p−1 two at a time, then the odd one: `pair(c)` for c = 0, 2, …, `single(p − 1)` when p is
   * odd. Unrolled when P is known; else a loop over the local "c" (needs the local "p2" = p & ~1, set by
   * `prologue`).
   */
  lanes(pair: (c: Lane) => Code, single: (c: Lane) => Code): Code {
    if (this.P !== null) {
      const out: Code[] = [];
      let c = 0;
      for (; c + 1 < this.P; c += 2) out.push(pair(c));
      if (c < this.P) out.push(single(c));
      return cat(...out);
    }
    return cat(
      this.for("c", i32c(0), this.get("p2"), pair(this.get("c")), 2),
      ifThen(i32lt(this.get("c"), this.get("p")), single(this.get("c"))),
    );
  }

  /** body(c) for c = 0..p−1, unrolled when P is known (else a loop over the local "c"). */
  each(body: (c: Lane) => Code): Code {
    if (this.P !== null) return cat(...Array.from({ length: this.P }, (_, c) => body(c)));
    return this.for("c", i32c(0), this.get("p"), body(this.get("c")));
  }

  /** Sets p2 = p & ~1 for the generic `lanes` loop. */
  prologue(): Code {
    return this.P !== null ? [] : this.set("p2", i32and(this.get("p"), i32c(-2)));
  }

  /**
   * for (a = from; a < to; a++) { before; for (s = start[a]; s < start[a + 1]; s++) perPair; after } — a walk over
   * pairs in CSR form (locals a, s, end; parameter start; by default from 0 to the parameter n).
   */
  csr(before: Code, perPair: Code, after: Code = [], from: Code = i32c(0), to?: Code): Code {
    const startAt = (k: number) => i32load(at4(this.get("start"), this.get("a")), k);
    return this.for(
      "a",
      from,
      to ?? this.get("n"),
      cat(before, this.set("end", startAt(4)), this.for("s", startAt(0), this.get("end"), perPair), after),
    );
  }

  /** f64 array[idx] += v, through the i32 local "addr". */
  addTo(base: string, idx: Code, v: Code): Code {
    return cat(
      this.set("addr", at8(this.get(base), idx)),
      f64store(this.get("addr"), f64add(f64load(this.get("addr")), v)),
    );
  }

  /** for (i = from; i < to; i += step) body   (`to` re-evaluated each time: pass a local or a constant) */
  for(i: string, from: Code, to: Code, body: Code, step = 1): Code {
    return cat(this.set(i, from), whileLoop(i32lt(this.get(i), to), cat(body, this.inc(i, i32c(step)))));
  }

  encode(): Code {
    const groups: Code[] = [];
    for (const t of this.localTypes) groups.push([1, t]);
    const code = cat(vec(groups), this.body, [0x0b]);
    return cat(uleb(code.length), code);
  }
}

/** block { loop { if (!cond) break; body; continue } } */
export const whileLoop = (cond: Code, body: Code): Code =>
  cat([0x02, 0x40, 0x03, 0x40], cond, [0x45, 0x0d, 1], body, [0x0c, 0, 0x0b, 0x0b]);
export const ifThen = (cond: Code, then: Code): Code => cat(cond, [0x04, 0x40], then, [0x0b]);
export const ifElse = (cond: Code, then: Code, otherwise: Code): Code =>
  cat(cond, [0x04, 0x40], then, [0x05], otherwise, [0x0b]);

/** Σ of the two lanes of a v128 local. */
export const laneSum = (f: Fn, v: string): Code => f64add(f64x2lane(f.get(v), 0), f64x2lane(f.get(v), 1));

/**
 * Assembles a module from functions: memory imported as env.mem (at least one page; `shared`: a shared memory, which
 * worker threads can run the same kernels on), one export per function.
 */
export function assembleModule(fns: Fn[], opts: { shared?: boolean } = {}): Uint8Array {
  const section = (id: number, body: Code): Code => [id, ...uleb(body.length), ...body];
  const types = fns.map((f) =>
    cat([0x60], vec(f.paramTypes.map((t) => [t])), vec(f.result ? [[f.result]] : [])),
  );
  return Uint8Array.from(
    cat(
      [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
      section(1, vec(types)),
      // memory import: flags 0 (minimum 1 page), or 3 (shared, with the wasm32 maximum: any shared memory fits)
      section(
        2,
        vec([
          cat(
            name("env"),
            name("mem"),
            opts.shared ? cat([0x02, 0x03], uleb(1), uleb(MAX_PAGES)) : cat([0x02, 0x00], uleb(1)),
          ),
        ]),
      ),
      section(3, vec(fns.map((_, k) => uleb(k)))),
      section(7, vec(fns.map((f, k) => cat(name(f.exportName), [0x00], uleb(k))))),
      section(10, vec(fns.map((f) => f.encode()))),
    ),
  );
}

/** Pages (64 KiB) of the largest wasm32 memory: the maximum a shared memory import declares. */
export const MAX_PAGES = 65536;

/**
 * The part of the WebAssembly JS API used here, typed locally: the project compiles against ES2022 without the DOM
 * library, and the global may be missing altogether (then the JS kernels are used).
 */
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: new (descriptor: {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }) => { buffer: ArrayBuffer; grow(pages: number): number };
}

/** The runtime's WebAssembly API, or undefined. */
export const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

/** Compiles module bytes, or returns null when WebAssembly (with SIMD) is unavailable or rejects them. */
export function compileModule(bytes: () => Uint8Array): object | null {
  try {
    if (!wasmApi) return null;
    const b = bytes();
    return wasmApi.validate(b) ? new wasmApi.Module(b) : null;
  } catch {
    return null;
  }
}
