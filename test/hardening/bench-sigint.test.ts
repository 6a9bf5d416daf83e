// SIGINT during `robust-metric bench`, run as a real child process (the CLI from its TypeScript sources through a
// transpiling module hook, so no build is needed): the cells finished before the interrupt stay on disk whole and
// are reused by the next run; no results file and no temporary file is left.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { cli, tempDir } from "../cli/helpers.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const bin = join(root, "src/cli/bin.ts");
const HAS_BENCH = existsSync(join(root, "src/cli/bench.ts"));

const HOOKS = `
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
const ts = createRequire(${JSON.stringify(join(root, "package.json"))})("typescript");
export async function resolve(spec, ctx, next) {
  if (spec.startsWith(".") && spec.endsWith(".js") && ctx.parentURL?.endsWith(".ts")) {
    const u = new URL(spec.slice(0, -3) + ".ts", ctx.parentURL);
    if (existsSync(fileURLToPath(u))) return { url: u.href, shortCircuit: true };
  }
  return next(spec, ctx);
}
export async function load(url, ctx, next) {
  if (!url.endsWith(".ts")) return next(url, ctx);
  const out = ts.transpileModule(readFileSync(fileURLToPath(url), "utf8"), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  return { format: "module", source: out.outputText, shortCircuit: true };
}
`;

/** Resolves when `cond` holds (checked every 50 ms), rejects after `ms`. */
async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
}

describe.skipIf(!HAS_BENCH)("SIGINT during bench", () => {
  it("finished cells are kept whole and reused; no results file, no temporary file", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "hooks.mjs"), HOOKS);
    const launcher = join(dir, "launch.mjs");
    writeFileSync(
      launcher,
      `import { register } from "node:module";\nregister(new URL("./hooks.mjs", import.meta.url));\nawait import(${JSON.stringify(bin)});\n`,
    );
    const out = join(dir, "out");
    const cells = join(out, "cells");
    // 2 data sets × 20 splits × 2 methods = 80 cells: far more than finish before the interrupt
    const args = ["--suite", "embedded", "--methods", "euclidean,lmnn", "--threads", "1", "--quiet"];
    const child = spawn(process.execPath, [launcher, "bench", ...args, "--splits", "20", "--out", out], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (b) => {
      stderr += String(b);
    });
    const done = exited(child);
    const cellFiles = () => (existsSync(cells) ? readdirSync(cells).filter((f) => f.endsWith(".json")) : []);
    try {
      await waitFor(() => cellFiles().length >= 3 || child.exitCode !== null, 90_000, "three finished cells");
    } finally {
      child.kill("SIGINT");
    }
    const { code, signal } = await done;
    // Node's default SIGINT action ends the process at once (exit status 130 in a shell)
    expect(signal === "SIGINT" || code === 130, `code ${code} signal ${signal}\n${stderr}`).toBe(true);
    expect(stderr).not.toMatch(/internal error|\n\s+at /);

    const kept = cellFiles();
    expect(kept.length).toBeGreaterThanOrEqual(3);
    expect(kept.length).toBeLessThan(80);
    // no partial file: no results, no temporary file, and every cell file is a whole JSON document of its id
    expect(existsSync(join(out, "results.json"))).toBe(false);
    expect(existsSync(join(out, "results.md"))).toBe(false);
    expect(readdirSync(cells).filter((f) => !f.endsWith(".json"))).toEqual([]);
    expect(readdirSync(out).sort()).toEqual(["cells"]);
    for (const f of kept) {
      const cell = JSON.parse(readFileSync(join(cells, f), "utf8"));
      expect(`${cell.id}.json`).toBe(f);
      expect(Number.isFinite(cell.accuracy)).toBe(true);
    }

    // the next run reuses them: rerun split 1 only (a cell's key does not depend on the number of splits)
    const split1 = kept.filter((f) => /\.1\.[0-9a-f]{16}\.json$/.test(f)).length;
    expect(split1).toBeGreaterThanOrEqual(1);
    const again = await cli("bench", ...args, "--splits", "1", "--out", out);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`${4 - split1} cells computed, ${split1} reused`));
    expect(existsSync(join(out, "results.json"))).toBe(true);
  }, 120_000);
});

describe.runIf(!HAS_BENCH)("SIGINT during bench", () => {
  it("skipped: src/cli/bench.ts (robust-metric bench) does not exist yet", () => {});
});
