import type { Command } from "commander";
import type { Dataset } from "../data/dataset.js";
import { RobustMetricError } from "../errors.js";
import type { Model } from "../learners/model.js";
import type { Mat } from "../linalg/mat.js";
import type { KNeighborsClassifier } from "../neighbors/knn.js";
import { readDataset } from "../node/read.js";
import { certifiedAccuracy } from "../robust/curves.js";
import { CertificationContext } from "../robust/margins.js";
import { intOption, progress, table } from "./common.js";
import { alignLabels, checkFeatures, classifierFromFiles } from "./predict.js";

/**
 * How perturbation norms of the model space relate to the raw input space. Norms are always measured in the
 * model's space (after preprocessing). With `none` the two spaces coincide; with `standardize` a raw perturbation
 * δ_raw becomes δ = δ_raw / s (s = per-feature scale), so ‖δ_raw‖ ≥ min_j s_j·‖δ‖ (a sound raw lower bound) and an
 * adversarial δ gives the raw adversarial s ⊙ δ with ‖s ⊙ δ‖ ≤ max_j s_j·‖δ‖; with unit-norm rows the map is not
 * affine and no raw bound is given.
 */
export interface NormSpace {
  description: string;
  /** Multiply a model-space lower bound by this for a raw-space lower bound (absent: not available). */
  rawLowerFactor?: number;
  /** Multiply a model-space upper bound by this for a raw-space upper bound. */
  rawUpperFactor?: number;
  /** Per-feature (mean, scale) when the preprocessing is invertible, to write points in raw units. */
  invert?: (w: ArrayLike<number>) => Float64Array;
}

/** The norm space of a model's preprocessing (see {@link NormSpace}). */
export function normSpace(model: Model): NormSpace {
  const pre = model.preprocessor.toJSON();
  const base = `Euclidean (l2) norm in the model's input space, i.e. after the model's preprocessing '${pre.kind}'`;
  if (pre.kind === "none") {
    return {
      description: `${base} (= the raw feature space)`,
      rawLowerFactor: 1,
      rawUpperFactor: 1,
      invert: (w) => Float64Array.from(w),
    };
  }
  if (pre.kind === "standardize" && pre.scale && pre.mean) {
    const scale = pre.scale;
    const mean = pre.mean;
    const lo = Math.min(...scale);
    const hi = Math.max(...scale);
    return {
      description: `${base}; raw-space bounds: lower × min scale ${fmt(lo)}, upper × max scale ${fmt(hi)}`,
      rawLowerFactor: lo,
      rawUpperFactor: hi,
      invert: (w) => Float64Array.from(w, (v, j) => v * scale[j]! + mean[j]!),
    };
  }
  return { description: `${base}; unit-norm rows are not an affine map, so no raw-space bounds are given` };
}

function fmt(v: number): string {
  if (v === Number.POSITIVE_INFINITY) return "inf";
  return Number.isInteger(v) ? String(v) : v.toPrecision(6);
}

/** Parses `--radii 0,0.05,0.1`: finite numbers ≥ 0. */
export function parseRadii(raw: string): number[] {
  const parts = raw.split(",").map((s) => s.trim());
  return parts.map((s) => {
    const v = Number(s);
    if (s === "" || !Number.isFinite(v) || v < 0)
      throw new RobustMetricError("BAD_INPUT", `--radii: '${s}' is not a number ≥ 0 (in '${raw}')`);
    return v;
  });
}

/** The model, the classifier, the test set in model space and the certification context, for certify / attack. */
export function loadSetup(o: { model: string; train: string; test: string; label?: string }, k: number) {
  const { model, knn } = classifierFromFiles(o.model, o.train, k, o.label);
  const test: Dataset = readDataset(o.test, o.label === undefined ? {} : { label: o.label });
  checkFeatures(test, model, o.test);
  const yTest = alignLabels(test, model.training.classes);
  const Xte: Mat = model.preprocessor.apply(test.X);
  const ctx = CertificationContext.fromClassifier(knn as KNeighborsClassifier);
  return { model, knn, test, yTest, Xte, ctx, space: normSpace(model) };
}

interface CertifyOpts {
  model: string;
  train: string;
  test: string;
  k?: string;
  exact?: boolean;
  radii: string;
  label?: string;
  seed?: string;
  json?: boolean;
}

/** `robust-metric certify`: certified lower bounds (and exact 1-NN radii) for a test file. */
export function register(program: Command): void {
  program
    .command("certify")
    .description(
      "certify k-NN predictions: per test point a sound lower bound on the smallest adversarial perturbation",
    )
    .requiredOption("--model <file>", "model file written by `fit`")
    .requiredOption("--train <file>", "the training data (the neighbours)")
    .requiredOption("--test <file>", "the labelled points to certify")
    .option("--k <n>", "number of neighbours", "1")
    .option("--exact", "1-NN only: exact minimal perturbation (dual QP), with a verified upper bound")
    .option("--radii <list>", "radii of the certified-accuracy curve", "0,0.05,0.1,0.2,0.5,1")
    .option("--label <column>", "label column name (default: the last column)")
    .option("--seed <n>", "seed of the screening subset (--exact)", "0")
    .option("--json", "print the result as JSON")
    .action((o: CertifyOpts) => {
      const k = intOption("--k", o.k, 1);
      if (o.exact && k !== 1)
        throw new RobustMetricError(
          "BAD_INPUT",
          `--exact is for 1-NN only, got --k ${k} (drop --exact for k > 1)`,
        );
      const radii = parseRadii(o.radii);
      const seed = intOption("--seed", o.seed, 0, 0);
      const { model, test, yTest, Xte, ctx, space, knn } = loadSetup(o, k);
      const bar = progress("certify");
      const curve = certifiedAccuracy(knn, Xte, yTest, radii, {
        exact: !!o.exact,
        context: ctx,
        seed,
        onPoint: (d, t) => bar.update(d, t),
      });
      bar.stop();
      const classes = model.training.classes;
      const n = Xte.rows;
      let correct = 0;
      for (let i = 0; i < n; i++) if (curve.predictions[i] === yTest[i]) correct++;
      const points = Array.from({ length: n }, (_, i) => {
        const lb = curve.lowerBounds[i]!;
        const ub = curve.upperBounds?.[i];
        return {
          index: i,
          label: test.classes[test.y[i]!]!,
          prediction: classes[curve.predictions[i]!]!,
          lowerBound: lb,
          ...(ub !== undefined ? { upperBound: ub } : {}),
          ...(space.rawLowerFactor !== undefined ? { rawLowerBound: lb * space.rawLowerFactor } : {}),
          ...(ub !== undefined && space.rawUpperFactor !== undefined
            ? { rawUpperBound: ub * space.rawUpperFactor }
            : {}),
        };
      });
      const curveRows = radii.map((r, t) => ({ radius: r, certifiedAccuracy: curve.accuracy[t]! }));
      const method = o.exact ? "exact 1-NN minimal perturbation (dual QP)" : `${k}-NN half-space lower bound`;
      if (o.json) {
        const finite = (v: number | undefined) =>
          v === undefined ? undefined : Number.isFinite(v) ? v : "Infinity";
        process.stdout.write(
          `${JSON.stringify({
            k,
            exact: !!o.exact,
            method,
            space: space.description,
            n,
            accuracy: correct / n,
            points: points.map((p) => ({
              ...p,
              lowerBound: finite(p.lowerBound),
              ...(p.upperBound !== undefined ? { upperBound: finite(p.upperBound) } : {}),
              ...(p.rawLowerBound !== undefined ? { rawLowerBound: finite(p.rawLowerBound) } : {}),
              ...(p.rawUpperBound !== undefined ? { rawUpperBound: finite(p.rawUpperBound) } : {}),
            })),
            curve: curveRows,
          })}\n`,
        );
        return;
      }
      const head = ["index", "label", "prediction", "lowerBound"];
      if (o.exact) head.push("upperBound");
      const rows = [head];
      for (const p of points) {
        const r = [String(p.index), p.label, p.prediction, fmt(p.lowerBound)];
        if (o.exact) r.push(fmt(p.upperBound!));
        rows.push(r);
      }
      process.stdout.write(`${table(rows)}\n\n`);
      process.stdout.write(
        `certified with: ${method}; accuracy ${((correct / n) * 100).toFixed(2)}% (${correct}/${n})\n`,
      );
      process.stdout.write(`norms: ${space.description}\n`);
      process.stdout.write("certified accuracy (fraction with lower bound > r):\n");
      process.stdout.write(
        `${table([["radius", "certified accuracy"], ...curveRows.map((c) => [fmt(c.radius), c.certifiedAccuracy.toFixed(4)])])}\n`,
      );
    });
}
