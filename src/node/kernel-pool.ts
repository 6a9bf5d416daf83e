// A synchronous fork-join pool of worker threads for the row-parallel kernels (squared distances, k-NN queries, and
// the TripletEngine's products, which run on the engine's own shared WebAssembly memory without copies).
// The calling thread copies the operands into shared memory, wakes the threads through Atomics.notify, computes
// its own share of the rows and blocks in Atomics.wait until the others are done, so the kernels' API stays
// synchronous. Every output row is computed by the single-thread code, hence the same bits with any thread count.
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import { type ErrorCode, RobustMetricError } from "../errors.js";
import {
  type CertifyTask,
  type RowParallel,
  type RowTask,
  type SharedWasm,
  setRowParallel,
  splitRows,
  taskWork,
} from "../linalg/parallel.js";
import { linalgBackend } from "../linalg/wasm-linalg.js";
import {
  CANDIDATE_ARGS,
  CTRL,
  CTRL_BYTES,
  certifyLayout,
  certifyTables,
  type DirectOutputs,
  type KernelWorkerData,
  MAX_THREADS,
  MAX_WASM_ARGS,
  PARAM,
  readError,
  runRows,
  SHARED_INSTANCES,
  type SharedViews,
  sharedViews,
  spinWhile,
  TASK,
  takeChunks,
  WASM_FUNCTIONS,
} from "./kernel-worker.js";

/**
 * Below this many multiply-adds (2^18 ≈ 262,000, about 50 µs of one thread's distances) a task runs on the calling
 * thread. The pool's threads poll for 1 ms after a task before they sleep, so tasks that follow each other (a
 * learner's evaluations) find them awake: then two threads are 0.96× as fast at 2^17.6, 1.23× at 2^18.7 and 1.47×
 * at 2^19.6 (threshold sweep of `npm run bench:pool`, 2 cores; BENCHMARKS.md). A task that finds them asleep pays
 * about 0.1 ms more to wake them (before the polling, the break-even was near 2^20).
 */
export const DEFAULT_MIN_WORK = 1 << 18;

/** Chunks a product or row-range task is cut into (balance against one counter increment and call per chunk). */
const CHUNKS = 16;

/** Options of {@link enableKernelPool} and {@link KernelPool}. */
export interface KernelPoolOptions {
  /**
   * Threads for a large task, the calling thread included (default: the environment variable
   * ROBUST_METRIC_THREADS, else all cores by `os.availableParallelism()`); 1 means no pool.
   */
  threads?: number;
  /** Tasks with fewer multiply-adds run on the calling thread (default {@link DEFAULT_MIN_WORK}). */
  minWork?: number;
  /**
   * The worker script: the compiled kernel-worker.js next to this module by default; a string is CommonJS code
   * evaluated in the thread (the tests load the TypeScript sources through a transpiling module hook).
   */
  script?: URL | string;
  /** A task whose threads finish no chunk of rows for this long is abandoned as INTERNAL (default 60 000 ms). */
  stallMs?: number;
  /** The first large task waits this long for the threads to start (default 2000 ms); later ones never wait. */
  startMs?: number;
}

/** The compiled worker script next to this module, or undefined when running from TypeScript sources. */
export function kernelWorkerScript(): URL | undefined {
  const url = new URL("./kernel-worker.js", import.meta.url);
  return url.protocol === "file:" && existsSync(fileURLToPath(url)) ? url : undefined;
}

/**
 * The thread count ROBUST_METRIC_THREADS asks for, or undefined when it is unset or empty.
 *
 * @throws RobustMetricError BAD_INPUT when it is not a positive integer, quoting it.
 * @example process.env.ROBUST_METRIC_THREADS = "1"; threadsFromEnv() // 1
 */
export function threadsFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const s = env.ROBUST_METRIC_THREADS?.trim();
  if (!s) return undefined;
  const t = Number(s);
  if (!Number.isInteger(t) || t < 1)
    throw new RobustMetricError("BAD_INPUT", `ROBUST_METRIC_THREADS must be a positive integer, got '${s}'`);
  return t;
}

interface Thread {
  worker: Worker;
  port: MessagePort;
  dead: boolean;
}

/**
 * The pool. Threads are spawned at the first task above the threshold, are unref'd (they never keep the process
 * alive) and wait in Atomics.wait for the next task; {@link KernelPool.close} stops them. Not re-entrant: a task
 * started from inside a task (the calling thread's share) runs on the calling thread.
 *
 * @example
 * const pool = new KernelPool({ threads: 2 });
 * setRowParallel(pool); // what enableKernelPool() does
 * sqDistances(X, X); // on two threads, the bits of one
 * await pool.close();
 */
export class KernelPool implements RowParallel {
  readonly threads: number;
  readonly minWork: number;
  private readonly script: URL | string;
  private readonly stallMs: number;
  private readonly startMs: number;
  private readonly ctrlBuffer = new SharedArrayBuffer(CTRL_BYTES);
  private arena = new SharedArrayBuffer(8);
  private arenaGen = 0;
  private shared: Array<{ memory: object; module: object; id: number }> = [];
  private sharedIds = 0;
  private views: SharedViews;
  private workers: Thread[] = [];
  private busy = false;
  private done = 0;
  private closed = false;
  private broken: string | undefined;

  /** @throws RobustMetricError BAD_INPUT for a thread count outside 1..64. */
  constructor(opts: KernelPoolOptions & { script: URL | string }) {
    const threads = opts.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS)
      throw new RobustMetricError(
        "BAD_INPUT",
        `kernel pool: threads must be 1..${MAX_THREADS}, got ${threads}`,
      );
    this.threads = threads;
    this.minWork = opts.minWork ?? DEFAULT_MIN_WORK;
    this.script = opts.script;
    this.stallMs = opts.stallMs ?? 60_000;
    this.startMs = opts.startMs ?? 2000;
    this.views = sharedViews(this.ctrlBuffer, this.arena);
  }

  /** True once the pool is closed, or disabled itself after losing a thread. */
  get disabled(): boolean {
    return this.closed;
  }

  /** Why the pool disabled itself (a thread died or stalled), if it did. */
  get failure(): string | undefined {
    return this.broken;
  }

  /** Tasks computed on several threads so far (tasks declined — small, busy — not counted). */
  get tasks(): number {
    return this.done;
  }

  /** Worker threads started and waiting for tasks (the calling thread not counted). */
  readyThreads(): number {
    return this.live().length;
  }

  /** Starts the threads now instead of at the first large task and resolves when they wait for tasks. */
  async start(): Promise<void> {
    this.spawn();
    const c = this.views.ctrl;
    for (let t = 1; t < this.threads; t++) {
      // polled: the thread's "exit" event (a script that fails to load) must be able to end the wait
      while (Atomics.load(c, CTRL.READY + t) !== 1 && !this.workers[t - 1]!.dead)
        await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /**
   * Computes a task on the threads (see {@link RowParallel.run}): false, outputs untouched, when the pool is
   * closed or busy, the task is below `minWork`, or no thread is ready.
   *
   * @throws RobustMetricError the error of the lowest row range (what one thread would have thrown first);
   *   INTERNAL when a thread stopped answering (the pool then disables itself).
   */
  run(task: RowTask): boolean {
    if (this.closed || this.busy || this.threads < 2 || taskWork(task) < this.minWork) return false;
    if (task.name === "wasmGemm") {
      const { a, b, c, m, k, n } = task;
      return this.wasm(TASK.WASM_GEMM, task, m, undefined, [], {
        [PARAM.M]: m,
        [PARAM.K]: k,
        [PARAM.N]: n,
        [PARAM.A]: a,
        [PARAM.B]: b,
        [PARAM.C]: c,
      });
    }
    if (task.name === "wasmRange") {
      if (task.args.length > MAX_WASM_ARGS)
        throw new RobustMetricError(
          "INTERNAL",
          `kernel pool: ${task.args.length} arguments, at most ${MAX_WASM_ARGS}`,
        );
      const fn = WASM_FUNCTIONS.indexOf(task.fn);
      if (fn < 0) throw new RobustMetricError("INTERNAL", `kernel pool: unknown kernel export '${task.fn}'`);
      return this.wasm(TASK.WASM_RANGE, task, task.rows, undefined, task.args, {
        [PARAM.FN]: fn,
        [PARAM.NARGS]: task.args.length,
        [PARAM.R0_ARG]: task.range[0],
        [PARAM.R1_ARG]: task.range[1],
      });
    }
    if (task.name === "wasmCandidates") {
      const n = task.n;
      const { outA, outB, outD, cnt, stop, cap } = task;
      const named: Record<(typeof CANDIDATE_ARGS)[number], number> = {
        ...task.args,
        outA,
        outB,
        outD,
        cnt,
        stop,
        cap,
        n,
      };
      const args = CANDIDATE_ARGS.map((name) => named[name]);
      return this.wasm(TASK.WASM_CANDIDATES, task, n, (i) => n - i, args, {});
    }
    if (task.name === "certify") return this.certify(task);
    if (task.name === "sqDistances") {
      const { A, B, C, m, n, d, symmetric } = task;
      const aAt = 0;
      const bAt = symmetric ? 0 : m * d;
      const cAt = symmetric ? m * d : (m + n) * d;
      return this.dispatch(TASK.SQ_DISTANCES, m, symmetric ? (i) => n - i : undefined, {
        need: cAt + m * n,
        params: { [PARAM.M]: m, [PARAM.N]: n, [PARAM.D]: d, [PARAM.SYMMETRIC]: symmetric ? 1 : 0 },
        offsets: { A: aAt, B: bAt, C: cAt, I: 0 },
        copyIn: (f64) => {
          f64.set(A.subarray(0, m * d), aAt);
          if (!symmetric) f64.set(B.subarray(0, n * d), bAt);
        },
        direct: { C },
        // the calling thread wrote rows [0, from) into C directly, and (symmetric) their mirror images: columns
        // [0, from) of the rows below; the threads' part is the rest
        copyOut: (f64, _i32, from) => {
          if (!symmetric) C.set(f64.subarray(cAt + from * n, cAt + m * n), from * n);
          else
            for (let i = from; i < m; i++)
              C.set(f64.subarray(cAt + i * n + from, cAt + (i + 1) * n), i * n + from);
        },
      });
    }
    if (task.name === "kneighbors") {
      const { Q, Z, m, n, d, k, indices, dists } = task;
      const qAt = 0;
      const zAt = m * d;
      const dAt = (m + n) * d;
      const iAt = dAt + m * k; // in Float64 elements; the Int32 view starts at twice this
      return this.dispatch(TASK.KNEIGHBORS, m, undefined, {
        need: iAt + Math.ceil((m * k) / 2),
        params: { [PARAM.M]: m, [PARAM.N]: n, [PARAM.D]: d, [PARAM.K]: k },
        offsets: { A: qAt, B: zAt, C: dAt, I: iAt },
        copyIn: (f64) => {
          f64.set(Q.subarray(0, m * d), qAt);
          f64.set(Z.subarray(0, n * d), zAt);
        },
        direct: { dists, indices },
        copyOut: (f64, i32, from) => {
          dists.set(f64.subarray(dAt + from * k, dAt + m * k), from * k);
          indices.set(i32.subarray(2 * iAt + from * k, 2 * iAt + m * k), from * k);
        },
      });
    }
    return false;
  }

  /**
   * A task run by a kernel export on a shared WebAssembly memory: nothing is copied; `args` go to the parameter
   * slots from PARAM.WARGS; the threads get the (module, memory) pair first if they do not have it.
   */
  private wasm(
    code: number,
    task: SharedWasm & { own: NonNullable<Parameters<KernelPool["dispatch"]>[3]["own"]> },
    rows: number,
    weight: ((i: number) => number) | undefined,
    args: number[],
    params: Record<number, number>,
  ): boolean {
    if (!(task.memory.buffer instanceof SharedArrayBuffer)) return false;
    args.forEach((value, k) => {
      params[PARAM.WARGS + k] = value;
    });
    // products and row ranges go in chunks taken from a counter (see takeChunks): about CHUNKS of them, whole
    // blocks of the gemm kernel's four rows
    const chunked = code !== TASK.WASM_CANDIDATES;
    if (chunked) {
      params[PARAM.ROWS] = rows;
      params[PARAM.CHUNK] = 4 * Math.ceil(rows / (4 * CHUNKS));
    }
    return this.dispatch(code, rows, weight, {
      need: 1,
      params,
      offsets: { A: params[PARAM.A] ?? 0, B: params[PARAM.B] ?? 0, C: params[PARAM.C] ?? 0, I: 0 },
      direct: {},
      prepare: () => {
        params[PARAM.INSTANCE] = this.shareInstance(task);
        Atomics.store(this.views.ctrl, CTRL.NEXT, 0);
      },
      own: chunked
        ? () =>
            takeChunks(
              this.views,
              (r0, r1) => task.own(r0, r1, [], []),
              () => {},
            )
        : task.own,
      copyIn: () => {},
      copyOut: () => {},
    });
  }

  /** A certify task: the context's arrays and the points in, the threads' points out (see CertifyTask). */
  private certify(task: CertifyTask): boolean {
    const { L, X, y, Q, labels, settings, lower, upper, predictions } = task;
    const m = Q.rows;
    const n = X.rows;
    const d = X.cols;
    const at = certifyLayout(m, n, d, L.rows, task.nClasses);
    const shared = () => certifyTables(this.views, at, n, task.nClasses);
    const mine = new Uint8Array(m);
    const c = this.views.ctrl;
    return this.dispatch(TASK.CERTIFY, m, undefined, {
      need: at.need,
      params: {
        [PARAM.M]: m,
        [PARAM.N]: n,
        [PARAM.D]: d,
        [PARAM.K]: settings.k,
        [PARAM.L_ROWS]: L.rows,
        [PARAM.CLASSES]: task.nClasses,
        [PARAM.EXACT]: settings.exact ? 1 : 0,
        [PARAM.SCREEN]: settings.screenSize ?? -1,
        [PARAM.MAX_ITER]: settings.maxIter ?? -1,
        [PARAM.SEED]: settings.seed,
      },
      offsets: { A: 0, B: 0, C: 0, I: 0 },
      direct: {},
      prepare: () => {
        Atomics.store(c, CTRL.NEXT, 0);
        Atomics.store(c, CTRL.DONE, 0);
      },
      copyIn: (f64) => {
        f64.set(L.data.subarray(0, L.rows * d), at.L);
        f64.set(X.data.subarray(0, n * d), at.X);
        f64.set(y.subarray(0, n), at.y);
        f64.set(Q.data.subarray(0, m * d), at.Q);
        for (let i = 0; i < m; i++) f64[at.labels + i] = labels[i]!;
        shared()?.counters.fill(0);
      },
      own: () => {
        const tables = shared();
        task.shareTables?.(tables?.tables, tables?.counters);
        try {
          for (;;) {
            const i = Atomics.add(c, CTRL.NEXT, 1);
            if (i >= m) return;
            task.point(i);
            mine[i] = 1;
            task.onDone?.(Atomics.add(c, CTRL.DONE, 1) + 1, m);
          }
        } finally {
          task.shareTables?.(undefined, undefined);
        }
      },
      copyOut: (f64) => {
        for (let i = 0; i < m; i++) {
          if (mine[i]) continue;
          lower[i] = f64[at.lower + i]!;
          if (upper) upper[i] = f64[at.upper + i]!;
          predictions[i] = f64[at.pred + i]!;
        }
      },
    });
  }

  /**
   * For tests: a task over `rows` rows whose thread owning `row` fails — FAULT.ROBUST throws a RobustMetricError
   * (NUMERICAL), FAULT.TYPE a TypeError, FAULT.EXIT ends that worker thread (not the calling thread). Ignores the
   * threshold; false when no thread is ready.
   */
  fault(kind: number, row: number, rows: number): boolean {
    if (this.closed || this.busy) return false;
    return this.dispatch(TASK.FAULT, rows, undefined, {
      need: 1,
      params: { [PARAM.M]: rows, [PARAM.FAULT_KIND]: kind, [PARAM.FAULT_ROW]: row },
      offsets: { A: 0, B: 0, C: 0, I: 0 },
      direct: {},
      copyIn: () => {},
      copyOut: () => {},
    });
  }

  /** The row ranges a task of `rows` rows gets with `parts` threads (the calling thread takes the first). */
  static ranges(rows: number, parts: number, weight?: (i: number) => number): number[] {
    return splitRows(rows, Math.max(1, Math.min(parts, rows)), weight);
  }

  /**
   * Stops the threads (they leave their loop; any still running after a second are terminated) and unregisters
   * the pool if it is the registered one.
   */
  async close(): Promise<void> {
    if (this.closed && this.workers.length === 0) return;
    this.closed = true;
    this.shared = [];
    if (active === this) {
      active = undefined;
      setRowParallel(undefined);
    }
    const c = this.views.ctrl;
    Atomics.store(c, CTRL.STOP, 1);
    Atomics.add(c, CTRL.GEN, 1);
    Atomics.notify(c, CTRL.GEN);
    const workers = this.workers;
    this.workers = [];
    await Promise.all(
      workers.map(async (w) => {
        if (w.dead) return;
        const exited = new Promise<void>((resolve) => w.worker.once("exit", () => resolve()));
        const timer = setTimeout(() => void w.worker.terminate(), 1000);
        await exited;
        clearTimeout(timer);
        w.port.close();
      }),
    );
  }

  private spawn(): void {
    if (this.workers.length > 0 || this.closed) return;
    for (let t = 1; t < this.threads; t++) {
      const { port1, port2 } = new MessageChannel();
      const data: KernelWorkerData = {
        robustMetricKernelPool: true,
        t,
        ctrl: this.ctrlBuffer,
        arena: this.arena,
        arenaGen: this.arenaGen,
        port: port2,
      };
      const worker = new Worker(this.script, {
        workerData: data,
        transferList: [port2],
        eval: typeof this.script === "string",
      });
      worker.unref();
      port1.unref();
      const thread: Thread = { worker, port: port1, dead: false };
      // a thread that fails to load or exits is never given rows again; a task it had is caught by the stall check
      worker.on("error", () => {
        thread.dead = true;
      });
      worker.on("exit", () => {
        thread.dead = true;
      });
      this.workers.push(thread);
    }
  }

  /** Threads (1-based numbers) that are ready and alive. */
  private live(): number[] {
    const out: number[] = [];
    for (let t = 1; t <= this.workers.length; t++)
      if (!this.workers[t - 1]!.dead && Atomics.load(this.views.ctrl, CTRL.READY + t) === 1) out.push(t);
    return out;
  }

  private dispatch(
    code: number,
    rows: number,
    weight: ((i: number) => number) | undefined,
    job: {
      need: number;
      params: Record<number, number>;
      offsets: { A: number; B: number; C: number; I: number };
      direct: DirectOutputs;
      copyIn: (f64: Float64Array) => void;
      /** Copies the threads' rows — [from, rows) — of the arena outputs to the caller's. */
      copyOut: (f64: Float64Array, i32: Int32Array, from: number) => void;
      /** Runs once the threads are started, before the task is posted. */
      prepare?: () => void;
      /**
       * Computes the calling thread's rows [r0, r1) (instead of runRows on the arena); told the whole split (range r
       * is [bounds[r], bounds[r + 1]), computed by thread owners[r]).
       */
      own?: (r0: number, r1: number, bounds: number[], owners: number[]) => void;
    },
  ): boolean {
    const first = this.workers.length === 0;
    this.spawn();
    const c = this.views.ctrl;
    if (first) {
      // the first large task waits for the threads to start (once); later tasks use the threads that are ready
      const until = performance.now() + this.startMs;
      for (let t = 1; t <= this.workers.length; t++) {
        while (Atomics.load(c, CTRL.READY + t) !== 1 && performance.now() < until) {
          Atomics.wait(c, CTRL.READY + t, 0, Math.max(1, Math.min(100, until - performance.now())));
        }
      }
    }
    if (this.workers.length > 0 && this.workers.every((w) => w.dead)) {
      this.disable("every kernel pool thread has exited");
      return false;
    }
    const live = this.live();
    const parts = Math.min(1 + live.length, rows);
    if (parts < 2) return false;
    this.busy = true;
    try {
      job.prepare?.();
      this.ensureArena(job.need);
      const v = this.views;
      job.copyIn(v.f64);
      const p = v.params;
      p.fill(0);
      p[PARAM.TASK] = code;
      for (const [slot, value] of Object.entries(job.params)) p[Number(slot)] = value;
      p[PARAM.A] = job.offsets.A;
      p[PARAM.B] = job.offsets.B;
      p[PARAM.C] = job.offsets.C;
      p[PARAM.INDICES] = job.offsets.I;
      p[PARAM.JS] = linalgBackend() === "js" ? 1 : 0;
      const bounds = KernelPool.ranges(rows, parts, weight);
      const gen = c[CTRL.GEN]! + 1;
      // range 0 is the calling thread's; ranges 1.. go to the ready threads in order
      const owners = [0, ...live.slice(0, parts - 1)];
      for (let r = 1; r < parts; r++) {
        const t = owners[r]!;
        c[CTRL.RANGE + 2 * t] = bounds[r]!;
        c[CTRL.RANGE + 2 * t + 1] = bounds[r + 1]!;
        Atomics.store(c, CTRL.ERR + t, 0);
        Atomics.store(c, CTRL.PART + t, gen);
      }
      Atomics.store(c, CTRL.PENDING, parts - 1);
      Atomics.store(c, CTRL.GEN, gen);
      Atomics.notify(c, CTRL.GEN);

      let own: unknown;
      try {
        if (job.own) job.own(bounds[0]!, bounds[1]!, bounds, owners);
        else runRows(v, bounds[0]!, bounds[1]!, () => {}, false, job.direct);
      } catch (e) {
        own = e;
      }
      this.join();
      if (own !== undefined) throw own;
      for (let r = 1; r < parts; r++) {
        const err = readError(v, owners[r]!);
        if (err) {
          const code = err.code as ErrorCode;
          throw new RobustMetricError(code, err.message);
        }
      }
      job.copyOut(v.f64, v.i32, bounds[1]!);
      this.done++;
      return true;
    } finally {
      this.busy = false;
    }
  }

  /** Blocks until every thread of the task is done; a task with no finished chunk for stallMs is abandoned. */
  private join(): void {
    const c = this.views.ctrl;
    let beat = Atomics.load(c, CTRL.BEAT);
    let since = performance.now();
    for (;;) {
      const pending = Atomics.load(c, CTRL.PENDING);
      if (pending === 0) return;
      spinWhile(c, CTRL.PENDING, pending);
      if (Atomics.load(c, CTRL.PENDING) !== pending) continue;
      if (Atomics.wait(c, CTRL.PENDING, pending, 250) !== "timed-out") continue;
      const now = performance.now();
      const b = Atomics.load(c, CTRL.BEAT);
      if (b !== beat) {
        beat = b;
        since = now;
      } else if (now - since > this.stallMs) {
        const why = `a kernel pool thread finished no rows for ${Math.round(now - since)} ms (it died or hangs)`;
        this.disable(why);
        throw new RobustMetricError("INTERNAL", `${why}; the pool is disabled, kernels run on one thread`);
      }
    }
  }

  /** Unregisters the pool and stops its threads (a lost thread would leave rows of every later task undone). */
  private disable(why: string): void {
    this.broken = why;
    void this.close();
  }

  /**
   * The id of a (module, shared memory) pair the threads have instantiated, sending it to them first when it is not
   * among the last {@link SHARED_INSTANCES} sent (LMNN alternates between its engine's and its impostor search's).
   */
  private shareInstance(w: SharedWasm): number {
    const hit = this.shared.find((s) => s.memory === w.memory && s.module === w.module);
    if (hit) return hit.id;
    const id = ++this.sharedIds;
    this.shared.push({ memory: w.memory, module: w.module, id });
    if (this.shared.length > SHARED_INSTANCES) this.shared.shift();
    const keep = this.shared.map((s) => s.id);
    for (const t of this.workers)
      if (!t.dead) t.port.postMessage({ memory: w.memory, module: w.module, id, keep });
    Atomics.store(this.views.ctrl, CTRL.MEMORY, id);
    return id;
  }

  /** A large enough operand buffer, sent to the threads when it is replaced (before the task that needs it). */
  private ensureArena(float64s: number): void {
    if (this.arena.byteLength >= float64s * 8) return;
    const bytes = Math.max(float64s * 8, Math.floor(this.arena.byteLength * 1.5));
    this.arena = new SharedArrayBuffer(Math.ceil(bytes / 8) * 8);
    this.arenaGen++;
    for (const w of this.workers)
      if (!w.dead) w.port.postMessage({ arena: this.arena, arenaGen: this.arenaGen });
    Atomics.store(this.views.ctrl, CTRL.ARENA, this.arenaGen);
    this.views = sharedViews(this.ctrlBuffer, this.arena);
  }
}

let active: KernelPool | undefined;

/**
 * Creates the process's kernel pool once and registers it with {@link setRowParallel}, so sqDistances,
 * forEachDistanceRow, k-NN queries and the products of TripletEngines built afterwards (p > 48: LMNN, LMNN-PL on
 * digits-sized data) above the threshold use all threads (bit-identical to one). Later calls
 * return the same pool. Returns undefined — kernels stay on one thread — when the thread count is 1 or no compiled
 * worker script exists (running from TypeScript sources, unless `script` is given). `env` is where
 * ROBUST_METRIC_THREADS is read (default `process.env`).
 *
 * @throws RobustMetricError BAD_INPUT for a bad ROBUST_METRIC_THREADS or thread count.
 * @example
 * import { enableKernelPool } from "robust-metric";
 * enableKernelPool(); // ROBUST_METRIC_THREADS or all cores
 */
export function enableKernelPool(
  opts: KernelPoolOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): KernelPool | undefined {
  if (active && !active.disabled) return active;
  const threads = opts.threads ?? threadsFromEnv(env) ?? availableParallelism();
  const script = opts.script ?? kernelWorkerScript();
  if (threads <= 1 || !script) return undefined;
  active = new KernelPool({ ...opts, threads: Math.min(threads, MAX_THREADS), script });
  setRowParallel(active);
  return active;
}

/**
 * Unregisters and stops the pool of {@link enableKernelPool} (kernels run on one thread again).
 *
 * @example await disableKernelPool();
 */
export async function disableKernelPool(): Promise<void> {
  const p = active;
  active = undefined;
  setRowParallel(undefined);
  await p?.close();
}

/**
 * The registered pool of {@link enableKernelPool}, if any.
 *
 * @example kernelPool()?.threads ?? 1
 */
export function kernelPool(): KernelPool | undefined {
  return active;
}
