// The worker thread of src/node/pool.ts: computes the cells of the tasks it is sent, one message per cell.
import { parentPort, workerData } from "node:worker_threads";
import { RobustMetricError } from "../errors.js";
import { CellComputer } from "../eval/runner.js";
import "../learners/index.js";
import type { PoolMessage, PoolTask, WorkerData } from "./pool.js";

/**
 * Handles one task with a {@link CellComputer}: posts each finished cell, then "done"; an error becomes one "error"
 * message with the error's code (the pool stops). Exported for in-process use by tests.
 */
export function handleTask(computer: CellComputer, task: PoolTask, post: (m: PoolMessage) => void): void {
  try {
    for (const m of task.methods) post({ type: "cell", cell: computer.compute(task.ds, task.split, m) });
    post({ type: "done" });
  } catch (e) {
    post({
      type: "error",
      code: e instanceof RobustMetricError ? e.code : "INTERNAL",
      message: e instanceof Error ? e.message : String(e),
    });
  }
}

// only in a thread spawned by the pool (test runners may run this module inside their own worker threads)
if (parentPort && (workerData as Partial<WorkerData> | null)?.robustMetricPool === true) {
  const port = parentPort;
  const data = workerData as WorkerData;
  const computer = new CellComputer(data.datasets, data.cfg);
  port.on("message", (task: PoolTask) => handleTask(computer, task, (m) => port.postMessage(m)));
}
