import cliProgress from "cli-progress";
import { RobustMetricError } from "../errors.js";

/** Collects a repeatable option into an array (commander's accumulator). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * Parses `--param` values. With `scoped` (eval: `method.name=value`) the result is keyed by method; otherwise
 * (fit: `name=value`, or `method.name=value` for the fitted method) by the single method given.
 *
 * @throws RobustMetricError BAD_INPUT quoting the malformed entry.
 */
export function parseParams(
  entries: string[],
  defaultMethod?: string,
): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const e of entries) {
    const eq = e.indexOf("=");
    if (eq <= 0) throw new RobustMetricError("BAD_INPUT", `--param '${e}' must look like method.name=value`);
    const key = e.slice(0, eq).trim();
    const value = e.slice(eq + 1).trim();
    const dot = key.indexOf(".");
    let method: string | undefined;
    let name: string;
    if (dot > 0) {
      method = key.slice(0, dot);
      name = key.slice(dot + 1);
    } else {
      method = defaultMethod;
      name = key;
    }
    if (!method)
      throw new RobustMetricError("BAD_INPUT", `--param '${e}' must name its method: method.name=value`);
    if (!name || value === "")
      throw new RobustMetricError("BAD_INPUT", `--param '${e}' has an empty name or value`);
    const forMethod = out[method] ?? {};
    forMethod[name] = value;
    out[method] = forMethod;
  }
  return out;
}

/** Parses a positive integer option, naming the option in the error. */
export function intOption(name: string, raw: string | undefined, def: number, min = 1): number {
  if (raw === undefined) return def;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min)
    throw new RobustMetricError("BAD_INPUT", `${name} must be an integer ≥ ${min}, got '${raw}'`);
  return v;
}

/** Parses a number option within (lo, hi) exclusive, naming the option in the error. */
export function fractionOption(name: string, raw: string | undefined, def: number): number {
  if (raw === undefined) return def;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0 || v >= 1)
    throw new RobustMetricError("BAD_INPUT", `${name} must be in (0, 1), got '${raw}'`);
  return v;
}

/**
 * A progress bar on stderr, only when stderr is a terminal (and not under CI); otherwise a no-op, so pipes and
 * logs stay clean.
 */
export function progress(label: string): { update(done: number, total: number): void; stop(): void } {
  if (!process.stderr.isTTY || process.env.CI) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {value}/{total} | ETA {eta_formatted}`,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, 0);
        started = true;
      }
      bar.update(done);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** Formats rows as an aligned plain-text table (first row = header). */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) {
    for (let j = 0; j < r.length; j++) widths[j] = Math.max(widths[j] ?? 0, r[j]!.length);
  }
  const line = (r: string[]) =>
    r.map((c, j) => (j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join("  ");
  const [head, ...body] = rows;
  if (!head) return "";
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}
