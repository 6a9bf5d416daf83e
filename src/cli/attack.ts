import type { Command } from "commander";
import { RobustMetricError } from "../errors.js";
import { writeFileAtomic } from "../node/read.js";
import { ATTACK_METHODS, type AttackMethod, attack } from "../robust/attacks.js";
import { loadSetup } from "./certify.js";
import { intOption, progress, table } from "./common.js";

interface AttackOpts {
  model: string;
  train: string;
  test: string;
  k?: string;
  method?: string;
  out?: string;
  seed?: string;
  label?: string;
  json?: boolean;
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** `robust-metric attack`: adversarial examples for a test file, optionally written as CSV. */
export function register(program: Command): void {
  program
    .command("attack")
    .description(
      "attack k-NN predictions: per test point a verified adversarial example and its perturbation norm",
    )
    .requiredOption("--model <file>", "model file written by `fit`")
    .requiredOption("--train <file>", "the training data (the neighbours)")
    .requiredOption("--test <file>", "the labelled points to attack")
    .option("--k <n>", "number of neighbours", "1")
    .option(
      "--method <name>",
      `attack: ${ATTACK_METHODS.join(" | ")} (default: exact for k = 1, else greedy)`,
    )
    .option(
      "--out <file>",
      "write the adversarial points as CSV (raw units when the preprocessing is invertible)",
    )
    .option("--seed <n>", "seed of the random attacks", "0")
    .option("--label <column>", "label column name (default: the last column)")
    .option("--json", "print the result as JSON")
    .action((o: AttackOpts) => {
      const k = intOption("--k", o.k, 1);
      const method = (o.method ?? (k === 1 ? "exact" : "greedy")) as AttackMethod;
      if (!ATTACK_METHODS.includes(method))
        throw new RobustMetricError(
          "BAD_INPUT",
          `unknown --method '${o.method}'; valid: ${ATTACK_METHODS.join(", ")}`,
        );
      if (method === "exact" && k !== 1)
        throw new RobustMetricError("BAD_INPUT", `--method exact is for 1-NN only, got --k ${k}; use greedy`);
      const seed = intOption("--seed", o.seed, 0, 0);
      const { model, test, yTest, Xte, ctx, space, knn } = loadSetup(o, k);
      const classes = model.training.classes;
      const n = Xte.rows;
      const p = Xte.cols;
      const bar = progress("attack");
      const results = Array.from({ length: n }, (_, i) => {
        const r = attack(ctx, Xte.data.subarray(i * p, (i + 1) * p), yTest[i]!, k, method, { seed });
        bar.update(i + 1, n);
        return r;
      });
      bar.stop();
      const points = results.map((r, i) => ({
        index: i,
        label: test.classes[test.y[i]!]!,
        prediction: classes[r.prediction]!,
        adversarialPrediction: r.adversarial ? classes[r.adversarialPrediction]! : null,
        norm: r.norm,
        ...(space.rawUpperFactor !== undefined ? { rawNormBound: r.norm * space.rawUpperFactor } : {}),
      }));
      const succeeded = results.filter((r) => r.adversarial !== null).length;
      let written: string | undefined;
      let rawVerified: number | undefined;
      if (o.out) {
        const inRaw = space.invert !== undefined;
        const labelName = o.label ?? "label";
        const lines = [[...model.training.featureNames, labelName].map(csvField).join(",")];
        const rawRows = new Float64Array(n * p);
        results.forEach((r, i) => {
          const w = r.adversarial ?? Xte.data.subarray(i * p, (i + 1) * p);
          const row = inRaw ? space.invert!(w) : w;
          // failed attacks keep the original point (in raw units when possible, the exact input row)
          const values =
            r.adversarial || !inRaw
              ? Array.from(row, String)
              : Array.from(test.X.data.subarray(i * p, (i + 1) * p), String);
          lines.push([...values, csvField(test.classes[test.y[i]!]!)].join(","));
          rawRows.set(values.map(Number), i * p);
        });
        writeFileAtomic(o.out, `${lines.join("\n")}\n`);
        if (inRaw) {
          // the points as written, read back through the model's preprocessing: rounding in the round trip could
          // undo a flip that sits within 1e-9 of the decision boundary, so count the ones that stay adversarial
          const back = knn.predict(model.preprocessor.apply({ rows: n, cols: p, data: rawRows }));
          rawVerified = results.filter((r, i) => r.adversarial !== null && back[i] !== yTest[i]).length;
        }
        written = inRaw
          ? "raw feature units"
          : "the model's preprocessed space (unit-norm preprocessing is not invertible)";
      }
      const finite = (v: number) => (Number.isFinite(v) ? v : "Infinity");
      if (o.json) {
        process.stdout.write(
          `${JSON.stringify({
            k,
            method,
            seed,
            space: space.description,
            n,
            succeeded,
            points: points.map((q) => ({
              ...q,
              norm: finite(q.norm),
              ...(q.rawNormBound !== undefined ? { rawNormBound: finite(q.rawNormBound) } : {}),
            })),
            ...(o.out ? { out: o.out, outSpace: written } : {}),
            ...(rawVerified !== undefined ? { adversarialAfterRoundTrip: rawVerified } : {}),
          })}\n`,
        );
        return;
      }
      const rows = [["index", "label", "prediction", "adversarial", "norm"]];
      for (const q of points)
        rows.push([
          String(q.index),
          q.label,
          q.prediction,
          q.adversarialPrediction ?? "-",
          Number.isFinite(q.norm) ? q.norm.toPrecision(6) : "inf",
        ]);
      process.stdout.write(`${table(rows)}\n\n`);
      process.stdout.write(
        `${method} attack on ${k}-NN: ${succeeded}/${n} adversarial (misclassified points count, norm 0)\n`,
      );
      process.stdout.write(`norms: ${space.description}\n`);
      if (o.out) {
        const rt = rawVerified !== undefined ? `; ${rawVerified} still adversarial when read back` : "";
        process.stdout.write(`wrote ${o.out} (${written}${rt})\n`);
      }
    });
}
