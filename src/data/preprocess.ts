import { RobustMetricError } from "../errors.js";
import type { Mat } from "../linalg/mat.js";

/** The preprocessing pipelines: standardize (mean, population std), unit-norm rows, both, or none. */
export type PreprocessKind = "none" | "standardize" | "unitnorm" | "standardize+unitnorm";
export const PREPROCESS_KINDS: readonly PreprocessKind[] = [
  "none",
  "standardize",
  "unitnorm",
  "standardize+unitnorm",
];

/** Validates a preprocessing name (CLI), listing the valid ones in the error. */
export function parsePreprocessKind(s: string): PreprocessKind {
  if ((PREPROCESS_KINDS as readonly string[]).includes(s)) return s as PreprocessKind;
  throw new RobustMetricError(
    "BAD_INPUT",
    `unknown preprocessing '${s}'; valid: ${PREPROCESS_KINDS.join(", ")}`,
  );
}

/**
 * Preprocessing fitted on training rows and applied to any rows, stored in the model file.
 * - `standardize`: subtract the mean, divide by the population standard deviation (÷ n, as StandardScaler and
 *   the LMNN-PL code); a zero-variance feature gets scale 1 (the LMNN-PL code would divide by 0).
 * - `unitnorm`: scale each row to unit Euclidean length (a stateless, per-row map); all-zero rows are left as is.
 * - `standardize+unitnorm`: the LMNN-PL authors' pipeline (reference/perturbation-loss.md §5.2).
 * Transductive preprocessing (the authors' protocol) is simply `fit` on all rows.
 *
 * @example
 * const pre = Preprocessor.fit(Xtrain, "standardize");
 * const Xt = pre.apply(Xtest);
 */
export class Preprocessor {
  readonly kind: PreprocessKind;
  /** Number of features it was fitted on. */
  readonly p: number;
  private readonly mean: Float64Array | undefined;
  private readonly scale: Float64Array | undefined;

  private constructor(kind: PreprocessKind, p: number, mean?: Float64Array, scale?: Float64Array) {
    this.kind = kind;
    this.p = p;
    this.mean = mean;
    this.scale = scale;
  }

  private get standardizes(): boolean {
    return this.kind === "standardize" || this.kind === "standardize+unitnorm";
  }
  private get normalizes(): boolean {
    return this.kind === "unitnorm" || this.kind === "standardize+unitnorm";
  }

  /**
   * Fits the statistics on the rows of X.
   *
   * @throws RobustMetricError BAD_INPUT for an empty X or an unknown kind.
   */
  static fit(X: Mat, kind: PreprocessKind): Preprocessor {
    parsePreprocessKind(kind);
    if (X.rows < 1 || X.cols < 1)
      throw new RobustMetricError("BAD_INPUT", `cannot fit preprocessing on a ${X.rows}×${X.cols} matrix`);
    if (kind !== "standardize" && kind !== "standardize+unitnorm") return new Preprocessor(kind, X.cols);
    const { rows: n, cols: p, data } = X;
    const mean = new Float64Array(p);
    for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) mean[j]! += data[i * p + j]!;
    for (let j = 0; j < p; j++) {
      mean[j] = mean[j]! / n;
      // values near ±1.8e308 overflow the plain sum: average the terms instead (|Σ x/n| ≤ max |x|)
      if (!Number.isFinite(mean[j]!)) {
        let m = 0;
        for (let i = 0; i < n; i++) m += data[i * p + j]! / n;
        mean[j] = m;
      }
    }
    const scale = new Float64Array(p);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < p; j++) {
        const t = data[i * p + j]! - mean[j]!;
        scale[j]! += t * t;
      }
    }
    for (let j = 0; j < p; j++) {
      let s = Math.sqrt(scale[j]! / n);
      if (!Number.isFinite(s)) {
        // (x − mean)² overflowed: the same sum on halved deviations divided by the largest one
        let big = 0;
        for (let i = 0; i < n; i++) big = Math.max(big, Math.abs(data[i * p + j]! / 2 - mean[j]! / 2));
        let acc = 0;
        for (let i = 0; i < n; i++) acc += ((data[i * p + j]! / 2 - mean[j]! / 2) / big) ** 2;
        s = Math.sqrt(acc / n) * big * 2;
      }
      scale[j] = s > 0 && Number.isFinite(s) ? s : 1;
    }
    return new Preprocessor(kind, p, mean, scale);
  }

  /**
   * The preprocessed copy of X.
   *
   * @throws RobustMetricError SHAPE_MISMATCH when X does not have p columns.
   */
  apply(X: Mat): Mat {
    if (X.cols !== this.p) {
      throw new RobustMetricError(
        "SHAPE_MISMATCH",
        `preprocessing was fitted on ${this.p} features, data has ${X.cols}`,
      );
    }
    const { rows: n, cols: p } = X;
    const out = X.data.slice();
    if (this.standardizes) {
      const mean = this.mean!;
      const scale = this.scale!;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < p; j++) {
          const x = out[i * p + j]!;
          const z = (x - mean[j]!) / scale[j]!;
          // x − mean overflows only for values of opposite sign near ±1.8e308; halving both sides is exact
          const v = Number.isFinite(z) ? z : (x / 2 - mean[j]! / 2) / (scale[j]! / 2);
          // only a model file with an absurd scale (5e-324) gets here; NaN must not reach the distances
          if (!Number.isFinite(v)) {
            throw new RobustMetricError(
              "BAD_INPUT",
              `preprocessing: row ${i}, column ${j}: (${x} − mean ${mean[j]}) / scale ${scale[j]} is not a finite number`,
            );
          }
          out[i * p + j] = v;
        }
      }
    }
    if (this.normalizes) {
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < p; j++) s += out[i * p + j]! ** 2;
        const norm = Math.sqrt(s);
        if (norm > 0) for (let j = 0; j < p; j++) out[i * p + j] = out[i * p + j]! / norm;
      }
    }
    return { rows: n, cols: p, data: out };
  }

  /** {kind, p, mean?, scale?} for the model file. */
  toJSON(): { kind: PreprocessKind; p: number; mean?: number[]; scale?: number[] } {
    return {
      kind: this.kind,
      p: this.p,
      ...(this.mean ? { mean: Array.from(this.mean), scale: Array.from(this.scale!) } : {}),
    };
  }

  /**
   * Reads the model file's preprocessing back, validating every field.
   *
   * @throws RobustMetricError BAD_INPUT naming the field ("preprocessing.scale[3] must be a positive number").
   */
  static fromJSON(o: unknown): Preprocessor {
    const bad = (m: string): never => {
      throw new RobustMetricError("BAD_INPUT", `preprocessing${m}`);
    };
    if (typeof o !== "object" || o === null || Array.isArray(o))
      return bad(" must be an object {kind, p, mean?, scale?}");
    const { kind, p, mean, scale } = o as Record<string, unknown>;
    if (typeof kind !== "string" || !(PREPROCESS_KINDS as readonly string[]).includes(kind)) {
      return bad(`.kind must be one of ${PREPROCESS_KINDS.join(", ")}, got ${JSON.stringify(kind)}`);
    }
    if (typeof p !== "number" || !Number.isInteger(p) || p < 1)
      return bad(`.p must be a positive integer, got ${JSON.stringify(p)}`);
    const k = kind as PreprocessKind;
    if (k !== "standardize" && k !== "standardize+unitnorm") {
      if (mean !== undefined || scale !== undefined) bad(`: kind '${k}' has no mean or scale`);
      return new Preprocessor(k, p);
    }
    const vec = (v: unknown, name: string, positive: boolean): Float64Array => {
      if (!Array.isArray(v) || v.length !== p) return bad(`.${name} must be an array of ${p} numbers`);
      return Float64Array.from(v, (x, j) => {
        if (typeof x !== "number" || !Number.isFinite(x) || (positive && x <= 0)) {
          bad(
            `.${name}[${j}] must be a ${positive ? "positive" : "finite"} number, got ${JSON.stringify(x)}`,
          );
        }
        return x as number;
      });
    };
    return new Preprocessor(k, p, vec(mean, "mean", false), vec(scale, "scale", true));
  }
}
