import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as api from "../src/index.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

describe("README", () => {
  it("opens with exactly the two set-up commands", () => {
    const block = readme.split("```")[1]!;
    const commands = block
      .split("\n")
      .slice(1)
      .filter((l) => l.trim() !== "")
      .map((l) => l.split("#")[0]!.trim());
    expect(commands).toEqual(["npm ci && npm run demo", "npm ci && npm test"]);
  });

  it("library example runs as written (its imports resolve to the public API)", () => {
    const code = readme.split("```ts")[1]!.split("```")[0]!;
    const imported = code
      .match(/import \{([^}]*)\} from "robust-metric"/)![1]!
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    for (const name of imported) expect(api, name).toHaveProperty(name);
    const body = code.replace(/import \{[^}]*\} from "robust-metric";\n/, "");
    const logged: unknown[] = [];
    const run = new Function(...imported, "console", body);
    run(...imported.map((n) => (api as Record<string, unknown>)[n]), {
      log: (...a: unknown[]) => logged.push(...a),
    });
    const [accuracy, iterations, converged] = logged as [number, number, boolean];
    expect(accuracy).toBeGreaterThan(0.85);
    expect(iterations).toBeGreaterThan(0);
    expect(typeof converged).toBe("boolean");
  });
});
