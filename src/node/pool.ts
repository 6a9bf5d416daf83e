// A worker_threads pool for the experiment runner: cells are independent and their numbers depend only on their
// keys, so computing them on several threads gives the same results as one thread (fit times aside).
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Dataset } from "../data/dataset.js";
import { RobustMetricError } from "../errors.js";
import {
  type CellProgress,
  type CellResult,
  type CellStore,
  checkExperiment,
  datasetInfo,
  type ExperimentConfig,
  type ExperimentResult,
  planCells,
  runExperimentAsync,
} from "../eval/runner.js";

/** A unit of work: the missing methods of one (data set, split), so a worker prepares that split once. */
export interface PoolTask {
  ds: number;
  split: number;
  methods: string[];
}

/** Messages from a worker. */
export type PoolMessage =
  | { type: "cell"; cell: CellResult }
  | { type: "done" }
  | { type: "error"; code: string; message: string };

/** Something that runs tasks and answers with {@link PoolMessage}s: a worker thread, or an in-process stand-in. */
export interface PoolWorker {
  post(task: PoolTask): void;
  onMessage(handler: (m: PoolMessage) => void): void;
  terminate(): Promise<void> | void;
}

/** Data sets as plain structured-clone-able objects (the Float64Array and Int32Array are copied to the worker). */
export interface WorkerData {
  robustMetricPool: true;
  datasets: Dataset[];
  cfg: ExperimentConfig;
}

/** The compiled worker script next to this module, or undefined when running from TypeScript sources. */
export function workerScript(): URL | undefined {
  const url = new URL("./pool-worker.js", import.meta.url);
  return url.protocol === "file:" && existsSync(fileURLToPath(url)) ? url : undefined;
}

/**
 * Spawns a real worker thread running src/node/pool-worker.ts: `script` is the compiled worker's URL, or a string
 * of CommonJS code evaluated in the thread that loads it some other way (the tests load the TypeScript source
 * through a transpiling module hook).
 */
export function threadWorker(data: WorkerData, script: URL | string): PoolWorker {
  const w = new Worker(script, { workerData: data, eval: typeof script === "string" });
  const handlers: ((m: PoolMessage) => void)[] = [];
  w.on("message", (m: PoolMessage) => {
    for (const h of handlers) h(m);
  });
  w.on("error", (e: Error) => {
    for (const h of handlers) h({ type: "error", code: "INTERNAL", message: e.stack ?? e.message });
  });
  return {
    post: (t) => w.postMessage(t),
    onMessage: (h) => {
      handlers.push(h);
    },
    terminate: async () => {
      await w.terminate();
    },
  };
}

/** Options of {@link runExperimentParallel}. */
export interface PoolOptions {
  /** Worker count (default: the machine's available parallelism, at most the number of tasks). */
  threads?: number;
  onCell?: CellProgress;
  /** Creates a worker (default: {@link threadWorker} on the compiled worker script). */
  spawn?: (data: WorkerData) => PoolWorker;
  /**
   * Compute even a single thread's cells in a worker, so that this thread stays free for signal handlers (the CLI
   * stops at once on Ctrl-C and never in the middle of writing a cell). Without a worker script the cells run in
   * this thread, returning to the event loop after each one.
   */
  isolate?: boolean;
}

/**
 * {@link runExperiment} on a pool of workers. Finished cells come back to this thread, which stores each one as it
 * arrives and returns all cells in plan order. With one thread (unless `isolate`), or when no compiled worker script
 * exists (running from TypeScript sources), it runs in this thread, returning to the event loop between cells. Errors in a worker stop the pool and are rethrown with their
 * code; cells finished before stay stored.
 *
 * @throws RobustMetricError as {@link runExperiment}.
 * @example
 * await runExperimentParallel(datasets, cfg, new FileCellStore("out/cells"), { threads: 2 });
 */
export async function runExperimentParallel(
  datasets: Dataset[],
  cfg: ExperimentConfig,
  store: CellStore,
  opts: PoolOptions = {},
): Promise<ExperimentResult> {
  checkExperiment(datasets, cfg);
  const plan = planCells(datasets, cfg);
  const have = new Map<string, CellResult>();
  const tasks: PoolTask[] = [];
  for (const c of plan) {
    const cell = store.get(c.id, c.hash);
    if (cell) {
      have.set(c.id, cell);
      continue;
    }
    const ds = datasets.indexOf(c.ds);
    const last = tasks[tasks.length - 1];
    if (last && last.ds === ds && last.split === c.split) last.methods.push(c.method);
    else tasks.push({ ds, split: c.split, methods: [c.method] });
  }
  const script = workerScript();
  const spawn = opts.spawn ?? (script ? (d: WorkerData) => threadWorker(d, script) : undefined);
  const threads = Math.min(opts.threads ?? availableParallelism(), tasks.length);
  if (!spawn || tasks.length === 0 || (threads <= 1 && !opts.isolate))
    return runExperimentAsync(datasets, cfg, store, opts.onCell);

  const skipped = have.size;
  let computed = 0;
  const total = plan.length;
  const workers: PoolWorker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let busy = 0;
      let failed = false;
      const feed = (w: PoolWorker) => {
        if (failed) return;
        const t = tasks[next++];
        if (!t) {
          if (busy === 0) resolve();
          return;
        }
        busy++;
        w.post(t);
      };
      for (let i = 0; i < threads; i++) {
        const w = spawn({ robustMetricPool: true, datasets, cfg });
        workers.push(w);
        w.onMessage((m) => {
          if (failed) return;
          if (m.type === "cell") {
            store.put(m.cell);
            have.set(m.cell.id, m.cell);
            computed++;
            opts.onCell?.({ done: computed + skipped, total, computed, skipped, cell: m.cell });
          } else if (m.type === "done") {
            busy--;
            feed(w);
            if (next >= tasks.length && busy === 0) resolve();
          } else {
            failed = true;
            const code = m.code as ConstructorParameters<typeof RobustMetricError>[0];
            reject(new RobustMetricError(code, m.message));
          }
        });
        feed(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  const cells = plan.map((c) => {
    const cell = have.get(c.id);
    if (!cell) throw new RobustMetricError("INTERNAL", `cell ${c.id} was not computed`);
    return cell;
  });
  return { config: cfg, datasets: datasets.map(datasetInfo), cells, computed, skipped };
}
