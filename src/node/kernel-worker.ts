// A thread of the kernel pool (src/node/kernel-pool.ts) and the row-range code that it and the calling thread both
// run. The thread blocks in Atomics.wait on a generation counter in shared memory; each generation is one task
// whose parameters and operands are in shared memory, so a task costs no message round-trip.
import { type MessagePort, receiveMessageOnPort, workerData } from "node:worker_threads";
import { RobustMetricError } from "../errors.js";
import { sqDistances } from "../linalg/distance.js";
import type { Mat } from "../linalg/mat.js";
import { wasmApi } from "../linalg/wasm-encoder.js";
import { setLinalgBackend } from "../linalg/wasm-linalg.js";
import { MahalanobisMetric } from "../metric/mahalanobis.js";
import { KNeighborsClassifier } from "../neighbors/knn.js";
import { certifyPoint, type PointSettings, sharedTableSource } from "../robust/curves.js";
import { CertificationContext, DENOMINATOR_LIMIT } from "../robust/margins.js";

/** Int32 slots of the control buffer. */
export const CTRL = {
  /** Task generation: bumped by the caller for every task; threads wait on it. */
  GEN: 0,
  /** Threads still working on the current task. */
  PENDING: 1,
  /** 1: threads leave their loop. */
  STOP: 2,
  /** Incremented after every finished chunk of rows: the caller tells a slow thread from a dead one by it. */
  BEAT: 3,
  /** Generation of the shared operand buffer (a new one is sent to the threads through their ports). */
  ARENA: 4,
  /** Id of the last (module, shared WebAssembly memory) pair sent to the threads (through the ports, as the arena). */
  MEMORY: 5,
  /** CERTIFY: the next point to take, and the number of points done; WASM_GEMM, WASM_RANGE: the next chunk. */
  NEXT: 6,
  DONE: 7,
  /** Thread t works on rows [RANGE + 2t, RANGE + 2t + 1) of the current task. */
  RANGE: 16,
  /** PART + t: the generation thread t takes part in (a thread started late skips the tasks before it). */
  PART: 160,
  /** READY + t: 1 once thread t waits for tasks. */
  READY: 240,
  /** ERR + t: byte length of thread t's error (JSON {code, message}) in its error slot; 0 = none. */
  ERR: 320,
} as const;

/** Most threads a pool may have (calling thread included). */
export const MAX_THREADS = 64;
/** Byte offset of the Float64 task parameters in the control buffer. */
const PARAMS_AT = 2048;
/** Byte offset of the error slots, one per thread. */
const ERRORS_AT = 4096;
/** Bytes of one error slot. */
export const ERROR_BYTES = 4096;
/** Size of the control buffer. */
export const CTRL_BYTES = ERRORS_AT + MAX_THREADS * ERROR_BYTES;

/** Float64 parameter slots of a task. */
export const PARAM = {
  TASK: 0,
  M: 1,
  N: 2,
  D: 3,
  K: 4,
  SYMMETRIC: 5,
  /**
   * Operand offsets in Float64 elements of the arena (INDICES too: the Int32 view starts there, doubled); byte
   * offsets in the shared WebAssembly memory for WASM_GEMM.
   */
  A: 6,
  B: 7,
  C: 8,
  INDICES: 9,
  /** 1: the caller forced the JavaScript kernels (the wasm twins give the same bits; this keeps speed alike). */
  JS: 10,
  FAULT_KIND: 11,
  FAULT_ROW: 12,
  /** CERTIFY: rows of L, classes, exact (0/1), screenSize and maxIter (−1: the default), seed. */
  L_ROWS: 13,
  CLASSES: 14,
  EXACT: 15,
  SCREEN: 16,
  MAX_ITER: 17,
  SEED: 18,
  /** WASM tasks: the id of the (module, shared memory) pair. */
  INSTANCE: 19,
  /** WASM_RANGE: the export (index in WASM_FUNCTIONS), argument count, positions of the row range's arguments. */
  FN: 20,
  NARGS: 21,
  R0_ARG: 22,
  R1_ARG: 23,
  /** WASM_GEMM, WASM_RANGE: rows in all, and per chunk taken from CTRL.NEXT. */
  ROWS: 24,
  CHUNK: 25,
  /** WASM tasks' arguments (WASM_CANDIDATES: in the order of CANDIDATE_ARGS). */
  WARGS: 32,
} as const;

/** The arguments of a WASM_CANDIDATES task, in their parameter slots' order from PARAM.WARGS. */
export const CANDIDATE_ARGS = [
  "z",
  "lead",
  "y",
  "rad",
  "tt",
  "outA",
  "outB",
  "outD",
  "cnt",
  "stop",
  "cap",
  "p",
  "first",
  "bound",
  "n",
] as const;

/**
 * Where a CERTIFY task's arrays are in the arena (Float64 elements; labels and predictions stored as doubles): L
 * (q×p), X (n×p), y (n), Q (m×p), labels (m), lower (m), upper (m), predictions (m), the shared denominator tables'
 * counters (two Int32 per class) and, when n² doubles fit the contexts' cache limit, the tables (n²); `need` in all.
 */
export function certifyLayout(m: number, n: number, p: number, q: number, classes: number) {
  const L = 0;
  const X = L + q * p;
  const y = X + n * p;
  const Q = y + n;
  const labels = Q + m * p;
  const lower = labels + m;
  const upper = lower + m;
  const pred = upper + m;
  const counters = pred + m;
  const tables = counters + classes;
  const shared = n * n <= DENOMINATOR_LIMIT;
  return {
    L,
    X,
    y,
    Q,
    labels,
    lower,
    upper,
    pred,
    counters,
    tables,
    shared,
    need: tables + (shared ? n * n : 0),
  };
}

/** The shared denominator tables and counters of a CERTIFY task, or undefined when it has none. */
export function certifyTables(
  v: SharedViews,
  at: ReturnType<typeof certifyLayout>,
  n: number,
  classes: number,
): { tables: Float64Array; counters: Int32Array } | undefined {
  if (!at.shared) return undefined;
  return {
    tables: v.f64.subarray(at.tables, at.tables + n * n),
    counters: v.i32.subarray(2 * at.counters, 2 * at.counters + 2 * classes),
  };
}

/**
 * Task codes. WASM_GEMM: C = A·B in the shared WebAssembly memory of PARAM.INSTANCE (PARAM.A/B/C are byte offsets
 * there, M, K, N the shapes), in chunks of rows of C. WASM_RANGE: a kernel export over chunks of rows given as two
 * of its arguments (see WasmRangeTask). WASM_CANDIDATES: LMNN's impostor candidates of rows [r0, r1), see
 * WasmCandidatesTask. CERTIFY: point certificates (see `certifyLayout`), points taken one by one from CTRL.NEXT
 * instead of a fixed range.
 */
export const TASK = {
  SQ_DISTANCES: 1,
  KNEIGHBORS: 2,
  FAULT: 3,
  WASM_GEMM: 4,
  CERTIFY: 5,
  WASM_CANDIDATES: 6,
  WASM_RANGE: 7,
} as const;

/** Kernel exports a WASM_RANGE task may call (by index: the parameters are numbers). */
export const WASM_FUNCTIONS = ["pairDots"];
/** Most arguments of a WASM_RANGE call (parameter slots from PARAM.WARGS to the end of the parameter block). */
export const MAX_WASM_ARGS = 200;

/** Faults a test can inject into the thread owning a row: a RobustMetricError, another error, or a thread exit. */
export const FAULT = { ROBUST: 1, TYPE: 2, EXIT: 3 } as const;

/** Views of the shared buffers. */
export interface SharedViews {
  ctrl: Int32Array;
  params: Float64Array;
  errors: Uint8Array;
  f64: Float64Array;
  i32: Int32Array;
}

/** Views of a control buffer and an operand arena. */
export function sharedViews(ctrl: SharedArrayBuffer, arena: SharedArrayBuffer): SharedViews {
  return {
    ctrl: new Int32Array(ctrl, 0, PARAMS_AT / 4),
    params: new Float64Array(ctrl, PARAMS_AT, (ERRORS_AT - PARAMS_AT) / 8),
    errors: new Uint8Array(ctrl, ERRORS_AT, MAX_THREADS * ERROR_BYTES),
    f64: new Float64Array(arena),
    i32: new Int32Array(arena),
  };
}

/** Rows per chunk of a symmetric distance matrix: a chunk's diagonal block and the rectangle right of it. */
const SYM_CHUNK = 64;
/** Distance work (multiply-adds) per chunk of other tasks: small enough for frequent heartbeats. */
const CHUNK_WORK = 1 << 24;

/** The exports of a module instantiated on a shared memory, as the WASM tasks call them. */
interface SharedExports {
  gemm?(a: number, b: number, c: number, m: number, k: number, n: number): void;
  candidates?(...args: number[]): number;
}

/**
 * This thread's instances of (module, shared memory) pairs and their memories, by the id the pool gave the pair.
 * The pool keeps its last {@link SHARED_INSTANCES} pairs (LMNN uses two: its engine's and its impostor search's)
 * and sends their ids with every new pair; the others are dropped here too, so a finished fit's memory is not
 * kept alive by the threads for long.
 */
const instances = new Map<number, SharedExports | undefined>();
const memories = new Map<number, { buffer: ArrayBufferLike }>();
export const SHARED_INSTANCES = 2;

/** Instantiates a module on a shared memory (undefined when WebAssembly refuses) and drops the ids not in `keep`. */
function instantiate(id: number, module: object, memory: { buffer: ArrayBufferLike }, keep: number[]): void {
  let exports: SharedExports | undefined;
  try {
    exports = new wasmApi!.Instance(module, { env: { mem: memory } }).exports as SharedExports;
  } catch {
    exports = undefined;
  }
  instances.set(id, exports);
  memories.set(id, memory);
  for (const old of [...instances.keys()])
    if (!keep.includes(old)) {
      instances.delete(old);
      memories.delete(old);
    }
}

/** The instance of the current task's (module, memory) pair. */
function sharedExports(p: Float64Array): SharedExports {
  const e = instances.get(p[PARAM.INSTANCE]!);
  if (!e)
    throw new RobustMetricError("INTERNAL", "kernel pool: no instance of the shared WebAssembly module");
  return e;
}

/** The current buffer of the task's shared memory (it may have grown since it was sent). */
function sharedBuffer(p: Float64Array): ArrayBufferLike {
  return memories.get(p[PARAM.INSTANCE]!)!.buffer;
}

/** Scratch buffers of this thread, kept between tasks. */
const scratch = { diag: new Float64Array(0), rect: new Float64Array(0) };
function buffer(which: "diag" | "rect", size: number): Float64Array {
  if (scratch[which].length < size) scratch[which] = new Float64Array(size);
  return scratch[which].subarray(0, size);
}

/**
 * The caller's own outputs, which the calling thread writes its rows into directly (saving their copy out of
 * shared memory); the threads write theirs into the arena.
 */
export interface DirectOutputs {
  C?: Float64Array;
  dists?: Float64Array;
  indices?: Int32Array;
}

/**
 * Rows [r0, r1) of the current task (parameters and operands in `v`), computed by the same per-row code as the
 * single-thread path: {@link sqDistances} on row blocks (every pair summed by the same kernel, whichever block it
 * is in) and `KNeighborsClassifier.kneighborsRows`. `beat` is called after every chunk. `inWorker` guards the
 * exit fault (the calling thread never exits). `direct` replaces arena outputs by the caller's arrays. `slot`: the
 * thread's number, for tasks whose threads write outputs of unknown size into slots of their own.
 *
 * @throws what the per-row code throws; the FAULT task throws on purpose.
 */
export function runRows(
  v: SharedViews,
  r0: number,
  r1: number,
  beat: () => void,
  inWorker: boolean,
  direct: DirectOutputs = {},
  slot = 0,
): void {
  const p = v.params;
  const task = p[PARAM.TASK]!;
  const m = p[PARAM.M]!;
  const n = p[PARAM.N]!;
  const d = p[PARAM.D]!;
  if (task === TASK.SQ_DISTANCES) {
    const A = v.f64.subarray(p[PARAM.A]!, p[PARAM.A]! + m * d);
    const B = v.f64.subarray(p[PARAM.B]!, p[PARAM.B]! + n * d);
    const C = (direct.C ?? v.f64.subarray(p[PARAM.C]!)).subarray(0, m * n);
    if (p[PARAM.SYMMETRIC] === 1) symmetricRows(A, C, n, d, r0, r1, beat);
    else {
      const Bm: Mat = { rows: n, cols: d, data: B };
      const step = Math.max(16, Math.floor(CHUNK_WORK / Math.max(1, n * d)));
      for (let c0 = r0; c0 < r1; c0 += step) {
        const c1 = Math.min(r1, c0 + step);
        const rows: Mat = { rows: c1 - c0, cols: d, data: A.subarray(c0 * d, c1 * d) };
        sqDistances(rows, Bm, { rows: c1 - c0, cols: n, data: C.subarray(c0 * n, c1 * n) });
        beat();
      }
    }
  } else if (task === TASK.KNEIGHBORS) {
    const k = p[PARAM.K]!;
    const Q: Mat = { rows: m, cols: d, data: v.f64.subarray(p[PARAM.A]!, p[PARAM.A]! + m * d) };
    const Z: Mat = { rows: n, cols: d, data: v.f64.subarray(p[PARAM.B]!, p[PARAM.B]! + n * d) };
    const dists = (direct.dists ?? v.f64.subarray(p[PARAM.C]!)).subarray(0, m * k);
    const indices = (direct.indices ?? v.i32.subarray(2 * p[PARAM.INDICES]!)).subarray(0, m * k);
    // kneighborsRows works in blocks of 256 query rows from r0; a chunk is a whole number of them
    const step = 256 * Math.max(1, Math.floor(CHUNK_WORK / Math.max(1, 256 * n * d)));
    for (let c0 = r0; c0 < r1; c0 += step) {
      KNeighborsClassifier.kneighborsRows(Q, Z, k, c0, Math.min(r1, c0 + step), indices, dists);
      beat();
    }
  } else if (task === TASK.WASM_GEMM) {
    const gemm = sharedExports(p).gemm!;
    const k = p[PARAM.K]!;
    const a = p[PARAM.A]!;
    const c = p[PARAM.C]!;
    takeChunks(v, (c0, c1) => gemm(a + 8 * c0 * k, p[PARAM.B]!, c + 8 * c0 * n, c1 - c0, k, n), beat);
  } else if (task === TASK.WASM_RANGE) {
    const args = Array.from({ length: p[PARAM.NARGS]! }, (_, k) => p[PARAM.WARGS + k]!);
    const f = (sharedExports(p) as Record<string, (...a: number[]) => unknown>)[
      WASM_FUNCTIONS[p[PARAM.FN]!]!
    ];
    if (!f) throw new RobustMetricError("INTERNAL", "kernel pool: the module has no such export");
    takeChunks(
      v,
      (c0, c1) => {
        args[p[PARAM.R0_ARG]!] = c0;
        args[p[PARAM.R1_ARG]!] = c1;
        f(...args);
      },
      beat,
    );
  } else if (task === TASK.WASM_CANDIDATES) {
    // this thread's slot of the outputs; one call, which stops early only when the slot is full
    const g = Object.fromEntries(CANDIDATE_ARGS.map((name, k) => [name, p[PARAM.WARGS + k]!])) as Record<
      (typeof CANDIDATE_ARGS)[number],
      number
    >;
    const t = slot;
    const cap = g.cap;
    const reached = sharedExports(p).candidates!(
      g.z,
      g.lead,
      g.y,
      g.rad,
      g.tt,
      g.outA + 4 * t * cap,
      g.outB + 4 * t * cap,
      g.outD + 8 * t * cap,
      g.cnt + 8 * t,
      cap,
      r0,
      r1,
      g.n,
      g.p,
      g.first,
      g.bound,
    );
    new Int32Array(sharedBuffer(p), g.stop + 4 * t, 1)[0] = reached;
    beat();
  } else if (task === TASK.CERTIFY) {
    certifyPoints(v, beat);
  } else if (task === TASK.FAULT) {
    const row = p[PARAM.FAULT_ROW]!;
    if (row < r0 || row >= r1) return;
    const kind = p[PARAM.FAULT_KIND];
    if (kind === FAULT.ROBUST) throw new RobustMetricError("NUMERICAL", `injected fault at row ${row}`);
    if (kind === FAULT.TYPE) throw new TypeError(`injected type error at row ${row}`);
    if (kind === FAULT.EXIT && inWorker) process.exit(3);
  } else {
    throw new RobustMetricError("INTERNAL", `kernel pool: unknown task code ${task}`);
  }
}

/**
 * Chunks of rows for WASM_GEMM and WASM_RANGE: every thread, the calling one included, takes the next chunk of
 * PARAM.CHUNK rows of PARAM.ROWS from CTRL.NEXT until none is left, so a thread that started late or runs slower
 * (it must first pull into its cache what the caller just wrote) takes fewer. Each row's output is computed alike
 * whatever chunk it is in, so the bits do not depend on who took which.
 */
export function takeChunks(v: SharedViews, f: (r0: number, r1: number) => void, beat: () => void): void {
  const rows = v.params[PARAM.ROWS]!;
  const chunk = v.params[PARAM.CHUNK]!;
  for (;;) {
    const r0 = Atomics.add(v.ctrl, CTRL.NEXT, 1) * chunk;
    if (r0 >= rows) return;
    f(r0, Math.min(rows, r0 + chunk));
    beat();
  }
}

/**
 * This thread's share of a CERTIFY task: a certification context from the task's training rows, labels and L
 * (built as the caller's was, so the same bits), then points taken from CTRL.NEXT until none is left.
 */
function certifyPoints(v: SharedViews, beat: () => void): void {
  const p = v.params;
  const m = p[PARAM.M]!;
  const n = p[PARAM.N]!;
  const d = p[PARAM.D]!;
  const q = p[PARAM.L_ROWS]!;
  const classes = p[PARAM.CLASSES]!;
  const at = certifyLayout(m, n, d, q, classes);
  const f = v.f64;
  const L: Mat = { rows: q, cols: d, data: f.slice(at.L, at.L + q * d) };
  const X: Mat = { rows: n, cols: d, data: f.slice(at.X, at.X + n * d) };
  const y = Int32Array.from(f.subarray(at.y, at.y + n));
  const ctx = CertificationContext.fromMetric(MahalanobisMetric.fromL(L), X, y, classes);
  const shared = certifyTables(v, at, n, classes);
  if (shared) ctx.sharedDenominators = sharedTableSource(ctx, shared.tables, shared.counters);
  const settings: PointSettings = {
    k: p[PARAM.K]!,
    exact: p[PARAM.EXACT] === 1,
    seed: p[PARAM.SEED]!,
    ...(p[PARAM.SCREEN]! >= 0 ? { screenSize: p[PARAM.SCREEN]! } : {}),
    ...(p[PARAM.MAX_ITER]! >= 0 ? { maxIter: p[PARAM.MAX_ITER]! } : {}),
  };
  for (;;) {
    const i = Atomics.add(v.ctrl, CTRL.NEXT, 1);
    if (i >= m) return;
    const r = certifyPoint(ctx, f.slice(at.Q + i * d, at.Q + (i + 1) * d), f[at.labels + i]!, settings);
    f[at.lower + i] = r.lower;
    f[at.upper + i] = r.upper;
    f[at.pred + i] = r.prediction;
    Atomics.add(v.ctrl, CTRL.DONE, 1);
    beat();
  }
}

/**
 * Rows [r0, r1) of a symmetric distance matrix, with the parts of other rows only this range computes: chunk by
 * chunk, the diagonal block (by sqDistances on the block with itself: upper triangle, zero diagonal, mirrored) and
 * the rectangle right of it, written to its rows and, transposed, to the lower triangle of the rows below.
 */
function symmetricRows(
  A: Float64Array,
  C: Float64Array,
  n: number,
  d: number,
  r0: number,
  r1: number,
  beat: () => void,
): void {
  for (let c0 = r0; c0 < r1; c0 += SYM_CHUNK) {
    const c1 = Math.min(r1, c0 + SYM_CHUNK);
    const h = c1 - c0;
    const block: Mat = { rows: h, cols: d, data: A.subarray(c0 * d, c1 * d) };
    const D = sqDistances(block, block, { rows: h, cols: h, data: buffer("diag", h * h) }).data;
    for (let i = 0; i < h; i++) C.set(D.subarray(i * h, (i + 1) * h), (c0 + i) * n + c0);
    const w = n - c1;
    if (w > 0) {
      const rest: Mat = { rows: w, cols: d, data: A.subarray(c1 * d, n * d) };
      const R = sqDistances(block, rest, { rows: h, cols: w, data: buffer("rect", h * w) }).data;
      for (let i = 0; i < h; i++) C.set(R.subarray(i * w, (i + 1) * w), (c0 + i) * n + c1);
      for (let j = 0; j < w; j++) {
        const o = (c1 + j) * n + c0;
        for (let i = 0; i < h; i++) C[o + i] = R[i * w + j]!;
      }
    }
    beat();
  }
}

/** What the pool passes to a new thread. */
export interface KernelWorkerData {
  robustMetricKernelPool: true;
  /** This thread's number, 1..threads − 1 (0 is the calling thread). */
  t: number;
  ctrl: SharedArrayBuffer;
  arena: SharedArrayBuffer;
  arenaGen: number;
  /**
   * Receives {arena, arenaGen} when the pool replaces its operand buffer, {memory, module, id} when a WASM task
   * names a (module, shared WebAssembly memory) pair the threads do not have.
   */
  port: MessagePort;
}

/** Writes an error into slot t as JSON {code, message} (cut to the slot's size) and marks it. */
export function writeError(v: SharedViews, t: number, e: unknown): void {
  const code = e instanceof RobustMetricError ? e.code : "INTERNAL";
  const message =
    e instanceof RobustMetricError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
  let bytes = new TextEncoder().encode(JSON.stringify({ code, message }));
  if (bytes.length > ERROR_BYTES)
    bytes = new TextEncoder().encode(JSON.stringify({ code, message: message.slice(0, ERROR_BYTES / 4) }));
  v.errors.set(bytes, t * ERROR_BYTES);
  Atomics.store(v.ctrl, CTRL.ERR + t, bytes.length);
}

/** The error in slot t, or undefined. */
export function readError(v: SharedViews, t: number): { code: string; message: string } | undefined {
  const len = Atomics.load(v.ctrl, CTRL.ERR + t);
  if (len === 0) return undefined;
  // TextDecoder refuses views of shared memory: copy the bytes out first
  const bytes = v.errors.slice(t * ERROR_BYTES, t * ERROR_BYTES + len);
  return JSON.parse(new TextDecoder().decode(bytes)) as { code: string; message: string };
}

/**
 * How long a thread, or the calling thread joining a task, polls a control slot before it sleeps in Atomics.wait:
 * waking from the futex costs about 0.1 ms here, as much as half of a 64×1258×64 product, and fits issue such
 * tasks back to back (LMNN's two products per step). Polling this long after a task costs at most this much CPU.
 */
export const SPIN_MS = 1;

/** Polls `ctrl[slot]` while it equals `value`, for at most {@link SPIN_MS}. */
export function spinWhile(ctrl: Int32Array, slot: number, value: number): void {
  const until = performance.now() + SPIN_MS;
  while (Atomics.load(ctrl, slot) === value && performance.now() < until) {}
}

/** The loop of a pool thread: wait for a generation, work on this thread's rows if it takes part, report. */
function serve(data: KernelWorkerData): void {
  const t = data.t;
  let arenaGen = data.arenaGen;
  let memoryGen = 0;
  let v = sharedViews(data.ctrl, data.arena);
  const ctrl = v.ctrl;
  const beat = () => {
    Atomics.add(ctrl, CTRL.BEAT, 1);
  };
  let seen = Atomics.load(ctrl, CTRL.GEN);
  Atomics.store(ctrl, CTRL.READY + t, 1);
  Atomics.notify(ctrl, CTRL.READY + t);
  for (;;) {
    spinWhile(ctrl, CTRL.GEN, seen);
    Atomics.wait(ctrl, CTRL.GEN, seen);
    const gen = Atomics.load(ctrl, CTRL.GEN);
    if (gen === seen) continue;
    seen = gen;
    if (Atomics.load(ctrl, CTRL.STOP) === 1) return;
    // a new operand buffer or shared memory is posted before the task that first needs it; every thread drains
    // its port, taking part or not, so no replaced buffer stays queued
    while (arenaGen !== Atomics.load(ctrl, CTRL.ARENA) || memoryGen !== Atomics.load(ctrl, CTRL.MEMORY)) {
      const msg = receiveMessageOnPort(data.port)?.message as
        | { arena: SharedArrayBuffer; arenaGen: number }
        | { memory: { buffer: ArrayBufferLike }; module: object; id: number; keep: number[] }
        | undefined;
      if (!msg) break;
      if ("arena" in msg) {
        arenaGen = msg.arenaGen;
        v = sharedViews(data.ctrl, msg.arena);
      } else {
        memoryGen = msg.id;
        instantiate(msg.id, msg.module, msg.memory, msg.keep);
      }
    }
    if (Atomics.load(ctrl, CTRL.PART + t) !== gen) continue;
    try {
      if (arenaGen !== Atomics.load(ctrl, CTRL.ARENA) || memoryGen !== Atomics.load(ctrl, CTRL.MEMORY))
        throw new RobustMetricError("INTERNAL", `kernel pool thread ${t}: operand buffer not received`);
      setLinalgBackend(v.params[PARAM.JS] === 1 ? "js" : "auto");
      runRows(v, ctrl[CTRL.RANGE + 2 * t]!, ctrl[CTRL.RANGE + 2 * t + 1]!, beat, true, {}, t);
    } catch (e) {
      writeError(v, t, e);
    }
    if (Atomics.sub(ctrl, CTRL.PENDING, 1) === 1) Atomics.notify(ctrl, CTRL.PENDING);
  }
}

// only in a thread spawned by the kernel pool (test runners may load this module in their own worker threads)
if ((workerData as Partial<KernelWorkerData> | null)?.robustMetricKernelPool === true) {
  serve(workerData as KernelWorkerData);
}
