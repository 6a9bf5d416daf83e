// The registry through which the browser-safe kernels hand row-parallel work to a thread pool (src/node/kernel-pool.ts
// registers one in Node). With nothing registered — a browser, the tests, a worker thread — every kernel runs on
// the calling thread, unchanged. A registered pool computes every output row with the same per-row code as the
// single-thread path, so its results are bit-identical whatever the thread count.

/**
 * A task whose output rows are independent: row i of the output depends only on row i of the first operand (and
 * all of the second), so any contiguous split of the rows among threads gives the same bits.
 *
 * - `sqDistances`: C (m×n) = squared distances between the rows of A (m×d) and of B (n×d), as
 *   {@link sqDistances} computes them; `symmetric` (A and B are the same matrix, m = n) includes the zero
 *   diagonal and the mirrored lower triangle.
 * - `kneighbors`: for each query row of Q (m×d) its k nearest rows of Z (n×d), ascending by (squared distance,
 *   index), into `indices` and `dists` (m×k, row-major), as `KNeighborsClassifier.kneighbors` finds them.
 */
export type RowTask =
  | WasmGemmTask
  | WasmRangeTask
  | WasmCandidatesTask
  | CertifyTask
  | {
      name: "sqDistances";
      A: Float64Array;
      B: Float64Array;
      C: Float64Array;
      m: number;
      n: number;
      d: number;
      symmetric: boolean;
    }
  | {
      name: "kneighbors";
      Q: Float64Array;
      Z: Float64Array;
      m: number;
      n: number;
      d: number;
      k: number;
      indices: Int32Array;
      dists: Float64Array;
    };

/**
 * A compiled WebAssembly module and the shared memory it runs on: the pool's threads instantiate the module on the
 * memory (once per pair) and call its exports with the caller's byte offsets.
 */
export interface SharedWasm {
  /** A WebAssembly.Memory created with `shared: true` (its buffer is a SharedArrayBuffer). */
  memory: { buffer: ArrayBufferLike };
  /** The WebAssembly.Module, compiled with a shared memory import. */
  module: object;
}

/**
 * C = A·B (m×k times k×n, row-major Float64) inside a shared WebAssembly memory, by the module's `gemm` export
 * (wasm-linalg's `kernelGemm`), whose every entry is summed over k in ascending order whatever rows a call covers:
 * so rows of C split among threads give the bits of one call. `a`, `b`, `c` are byte offsets in `memory`; the
 * threads run their own instance of the kernel on that memory, and the calling thread computes its share with
 * `own(r0, r1)` (its own instance, rows [r0, r1)). A pool declines the task when the memory is not shared.
 */
export interface WasmGemmTask extends SharedWasm {
  name: "wasmGemm";
  a: number;
  b: number;
  c: number;
  m: number;
  k: number;
  n: number;
  own: (r0: number, r1: number) => void;
}

/**
 * A kernel export of the module that takes its row range as two of its arguments (`range`: their positions in
 * `args`, which the calling thread's values fill as [0, rows)) and writes only its rows' outputs, each computed
 * alike whatever the range: the threads call it on chunks of rows, the calling thread computes its chunks with
 * `own(r0, r1)`. `work`: multiply-adds of the whole call (for the pool's threshold).
 */
export interface WasmRangeTask extends SharedWasm {
  name: "wasmRange";
  fn: string;
  args: number[];
  range: [number, number];
  rows: number;
  work: number;
  own: (r0: number, r1: number) => void;
}

/**
 * LMNN's impostor candidates (constraints/impostor-kernel.ts): the module's `candidates` export over anchor rows
 * [r0, r1) of n, rows weighted n − i (row i pairs with the rows after it). `args` are the kernel's byte offsets
 * and settings but the outputs; thread t (1..threads − 1; 0 is the calling thread) writes its entries at
 * outA + 4·t·cap, outB + 4·t·cap, outD + 8·t·cap, its two counts at cnt + 8·t and the row it reached at
 * stop + 4·t (below r1 when its `cap` entries ran out: the caller completes those rows). `own(r0, r1, bounds,
 * owners)` computes the calling thread's rows and learns which thread took which range (range r, [bounds[r],
 * bounds[r + 1]), by thread owners[r]).
 */
export interface WasmCandidatesTask extends SharedWasm {
  name: "wasmCandidates";
  n: number;
  args: {
    z: number;
    lead: number;
    y: number;
    rad: number;
    tt: number;
    p: number;
    first: number;
    bound: number;
  };
  outA: number;
  outB: number;
  outD: number;
  cnt: number;
  stop: number;
  cap: number;
  own: (r0: number, r1: number, bounds: number[], owners: number[]) => void;
}

/**
 * Certificates of the points Q (m×p) with labels, as robust/curves.ts's `certifyPoint` computes them on a
 * certification context of training rows X (n×p), labels y, `nClasses` and metric components L: each thread builds
 * that context from these arrays and takes points one at a time from a shared counter (their costs differ by
 * orders of magnitude), writing `lower`, `upper` (exact only) and `predictions` at the point's index; the calling
 * thread computes its points with `point(i)` (its own context) and reports `onDone(done, m)` after each. Every point
 * is computed by the same code on the same data, so with the bits of one thread.
 */
export interface CertifyTask {
  name: "certify";
  L: { rows: number; cols: number; data: Float64Array };
  X: { rows: number; cols: number; data: Float64Array };
  y: Int32Array;
  nClasses: number;
  Q: { rows: number; cols: number; data: Float64Array };
  labels: ArrayLike<number>;
  settings: { k: number; exact: boolean; seed: number; screenSize?: number; maxIter?: number };
  lower: Float64Array;
  upper: Float64Array | undefined;
  predictions: Int32Array;
  point: (i: number) => void;
  /**
   * Called before the calling thread's first point with the shared denominator tables and their counters (see
   * robust/curves.ts `sharedTableSource`), and with undefined after its last (the buffers are the pool's).
   */
  shareTables?: (tables: Float64Array | undefined, counters: Int32Array | undefined) => void;
  onDone?: (done: number, total: number) => void;
}

/**
 * Runs {@link RowTask}s on several threads, synchronously: `run` returns when the whole output is written.
 *
 * @example
 * if (!rowParallel()?.run({ name: "sqDistances", A, B, C, m, n, d, symmetric: false })) computeHere();
 */
export interface RowParallel {
  /** Threads used for a large task, the calling thread included. */
  readonly threads: number;
  /**
   * Computes the whole task and returns true, or returns false without touching the outputs when it declines
   * (the task is too small to gain from threads, the pool is busy with the caller's own share, or it is not
   * ready): the caller then computes the task itself.
   *
   * @throws RobustMetricError the error the single-thread computation would throw first (by row order), with
   *   its code; INTERNAL when a worker thread failed.
   */
  run(task: RowTask): boolean;
}

let current: RowParallel | undefined;

/**
 * Registers the row-parallel implementation the kernels consult (Node: `enableKernelPool()`), or removes it
 * with `undefined`.
 *
 * @example setRowParallel(undefined) // back to one thread
 */
export function setRowParallel(impl: RowParallel | undefined): void {
  current = impl;
}

/**
 * The registered row-parallel implementation, or undefined (then kernels run on the calling thread).
 *
 * @example rowParallel()?.threads ?? 1
 */
export function rowParallel(): RowParallel | undefined {
  return current;
}

/**
 * Multiply-adds of a task (the distance pairs times d, half the pairs for a symmetric distance matrix; m·k·n for a
 * product; m·n·p for certificates, a lower bound): what the pool's single-thread threshold is compared with.
 *
 * @example taskWork({ name: "sqDistances", A, B: A, C, m: 2000, n: 2000, d: 50, symmetric: true }) // 1e8
 */
export function taskWork(task: RowTask): number {
  if (task.name === "wasmGemm") return task.m * task.k * task.n;
  if (task.name === "wasmRange") return task.work;
  // the 16-axis bound of every pair
  if (task.name === "wasmCandidates") return 8 * task.n * task.n;
  // at least a nearest-neighbour search per point
  if (task.name === "certify") return task.Q.rows * task.X.rows * task.X.cols;
  const pairs = task.name === "sqDistances" && task.symmetric ? (task.m * (task.n + 1)) / 2 : task.m * task.n;
  return pairs * Math.max(1, task.d);
}

/**
 * Boundaries of `parts` contiguous row ranges of [0, rows) with balanced work: range t is [b[t], b[t + 1]).
 * Row i weighs `weight(i)` (default 1); a symmetric distance matrix weighs row i as n − i (only j ≥ i is
 * computed there). Deterministic: the same arguments give the same split.
 *
 * @example splitRows(10, 3) // [0, 3, 7, 10]: sizes 3, 4, 3
 */
export function splitRows(rows: number, parts: number, weight?: (i: number) => number): number[] {
  const b = [0];
  if (!weight) {
    for (let t = 1; t <= parts; t++) b.push(Math.round((rows * t) / parts));
    return b;
  }
  let total = 0;
  for (let i = 0; i < rows; i++) total += weight(i);
  let acc = 0;
  let i = 0;
  for (let t = 1; t < parts; t++) {
    const goal = (total * t) / parts;
    // the first row at which the accumulated weight reaches the goal ends range t − 1 (whichever side is closer)
    while (i < rows && acc + weight(i) <= goal) acc += weight(i++);
    if (i < rows && goal - acc > acc + weight(i) - goal) acc += weight(i++);
    b.push(i);
  }
  b.push(rows);
  return b;
}
