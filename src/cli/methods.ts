import type { Command } from "commander";
import { getLearner, learnerNames } from "../learners/registry.js";

/** `robust-metric methods`: list the learners and their hyper-parameters with defaults and ranges. */
export function register(program: Command): void {
  program
    .command("methods")
    .description("list the learning methods and their hyper-parameters")
    .option("--json", "print as JSON")
    .action((o: { json?: boolean }) => {
      const all = learnerNames().map((n) => getLearner(n));
      if (o.json) {
        process.stdout.write(
          `${JSON.stringify(all.map((l) => ({ name: l.name, description: l.description, params: l.params })))}\n`,
        );
        return;
      }
      for (const l of all) {
        process.stdout.write(`${l.name}: ${l.description}\n`);
        for (const [name, p] of Object.entries(l.params)) {
          const range = p.choices
            ? ` {${p.choices.join("|")}}`
            : p.min !== undefined || p.max !== undefined
              ? ` [${p.min ?? "-inf"}, ${p.max ?? "inf"}]`
              : "";
          process.stdout.write(`  ${name} (${p.type}, default ${String(p.default)}${range}): ${p.doc}\n`);
        }
      }
    });
}
