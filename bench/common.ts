import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";

/**
 * Median of the times (ms) of `runs` calls after `warmup` untimed ones: CPU time of this process (user + system)
 * by default — on a quiet machine it equals the wall time of these one-thread kernels, and on a shared one it is
 * not inflated by other processes waiting for the same cores — or wall time with `clock: "wall"`.
 */
export function timeMedian(fn: () => void, runs = 7, warmup = 2, clock: "cpu" | "wall" = "cpu"): number {
  for (let i = 0; i < warmup; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    const c = process.cpuUsage(c0);
    t.push(clock === "wall" ? performance.now() - t0 : (c.user + c.system) / 1000);
  }
  t.sort((a, b) => a - b);
  return t[t.length >> 1]!;
}

/** "model, N cores, Node vX, date" for the benchmark headers. */
export function machine(): string {
  const c = cpus();
  return `${c[0]?.model ?? "unknown CPU"} (${c.length} cores), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}

/**
 * Replaces (or appends) the section `## title` of BENCHMARKS.md, leaving the other sections as they are, so
 * that each benchmark owns its own section.
 */
export function writeSection(title: string, body: string, file = "BENCHMARKS.md"): void {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    text = "# Benchmarks\n";
  }
  const head = `## ${title}`;
  const start = text.indexOf(`${head}\n`);
  const section = `${head}\n\n${body.trim()}\n`;
  if (start < 0) text = `${text.trimEnd()}\n\n${section}`;
  else {
    const next = text.indexOf("\n## ", start + head.length);
    text = `${text.slice(0, start)}${section}${next < 0 ? "" : text.slice(next)}`;
  }
  writeFileSync(file, text.endsWith("\n") ? text : `${text}\n`);
}
