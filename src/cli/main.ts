import { Command, CommanderError } from "commander";
import { isUserError, RobustMetricError } from "../errors.js";
import "../learners/index.js";
import { enableKernelPool } from "../node/kernel-pool.js";
import { register as registerAttack } from "./attack.js";
import { register as registerBench } from "./bench.js";
import { register as registerCertify } from "./certify.js";
import { register as registerDemo } from "./demo.js";
import { register as registerEval } from "./eval.js";
import { register as registerFit } from "./fit.js";
import { register as registerMethods } from "./methods.js";
import { register as registerPredict } from "./predict.js";
import { register as registerReproduce } from "./reproduce.js";

/**
 * The `robust-metric` command line. Exit codes: 0 success, 2 bad input (unreadable file, malformed data,
 * unknown method or parameter, out-of-range value, or a numerical failure such input causes), 1 internal error.
 */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name("robust-metric")
    .description("Robust Mahalanobis metric learning for k-NN: learn, evaluate, certify, attack")
    .version("0.1.0")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerFit(program);
  registerPredict(program);
  registerEval(program);
  registerDemo(program);
  registerMethods(program);
  registerReproduce(program);
  registerCertify(program);
  registerAttack(program);
  registerBench(program);
  return program;
}

/** Runs the CLI on `argv` and returns the exit code (never throws). */
export async function run(argv: string[]): Promise<number> {
  try {
    enableKernelPool(); // ROBUST_METRIC_THREADS threads (default: all cores) for large kernels; 1 = one thread
    await buildProgram().parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version "errors" are successful exits
      return e.exitCode === 0 ? 0 : 2;
    }
    if (isUserError(e)) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    // NUMERICAL is thrown on purpose when the data or a parameter (a learning rate, a margin) leaves no finite
    // result: a message for the user, not a stack trace; bugs surface as INTERNAL or as other error types
    if (e instanceof RobustMetricError && e.code === "NUMERICAL") {
      process.stderr.write(`error: numerical failure: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}
