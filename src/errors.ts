/**
 * The one error type of robust-metric. Every error carries a stable `code` so that callers (and the CLI, which
 * maps `BAD_INPUT` and `SHAPE_MISMATCH` to exit code 2) can react without parsing messages. Messages quote the
 * offending shape, row, column, field or value.
 *
 * @example
 * throw new RobustMetricError("BAD_INPUT", "row 3, column 'age': 'abc' is not a number");
 */
export type ErrorCode =
  | "BAD_INPUT" // malformed file, unknown option, out-of-range parameter, bad value
  | "SHAPE_MISMATCH" // matrix / vector sizes that do not fit together
  | "NUMERICAL" // a computation that cannot proceed (non-finite value, not PSD, no convergence where required)
  | "NOT_FITTED" // a model used before fit
  | "IO" // a file that cannot be read or written
  | "INTERNAL"; // a bug

export class RobustMetricError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RobustMetricError";
    this.code = code;
  }
}

/** True for errors caused by what the user supplied (CLI exit code 2). */
export function isUserError(e: unknown): e is RobustMetricError {
  return (
    e instanceof RobustMetricError &&
    (e.code === "BAD_INPUT" || e.code === "SHAPE_MISMATCH" || e.code === "IO" || e.code === "NOT_FITTED")
  );
}

/** Shorthand: throw a BAD_INPUT error unless `cond` holds. */
export function check(cond: boolean, message: string | (() => string)): asserts cond {
  if (!cond) throw new RobustMetricError("BAD_INPUT", typeof message === "string" ? message : message());
}
