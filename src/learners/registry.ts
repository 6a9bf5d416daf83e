import { RobustMetricError } from "../errors.js";
import type { Learner, ParamSpec, ParamValues } from "./types.js";

/**
 * Resolves user-supplied hyper-parameters against a learner's declarations: fills defaults, converts strings
 * (from the CLI) to the declared type, checks ranges and choices. Unknown names are an error that lists the
 * valid ones.
 *
 * @throws RobustMetricError BAD_INPUT naming the learner, the parameter and the offending value.
 * @example
 * resolveParams(lmnn, { k: "5" }) // → { k: 5, mu: 0.5, ... }
 */
export function resolveParams(learner: Learner, given: Record<string, unknown> = {}): ParamValues {
  const out: ParamValues = {};
  for (const name of Object.keys(given)) {
    if (!(name in learner.params)) {
      const valid = Object.keys(learner.params);
      throw new RobustMetricError(
        "BAD_INPUT",
        `unknown parameter '${name}' for method '${learner.name}'; valid parameters: ${valid.length ? valid.join(", ") : "(none)"}`,
      );
    }
  }
  for (const [name, spec] of Object.entries(learner.params)) {
    const raw = given[name];
    out[name] = raw === undefined ? spec.default : coerce(learner.name, name, spec, raw);
  }
  return out;
}

function coerce(method: string, name: string, spec: ParamSpec, raw: unknown): number | boolean | string {
  const where = `parameter ${method}.${name}`;
  if (spec.type === "boolean") {
    if (typeof raw === "boolean") return raw;
    if (raw === "true" || raw === "1") return true;
    if (raw === "false" || raw === "0") return false;
    throw new RobustMetricError("BAD_INPUT", `${where} must be true or false, got '${String(raw)}'`);
  }
  if (spec.type === "string") {
    const s = String(raw);
    if (spec.choices && !spec.choices.includes(s)) {
      throw new RobustMetricError(
        "BAD_INPUT",
        `${where} must be one of ${spec.choices.join(", ")}, got '${s}'`,
      );
    }
    return s;
  }
  const v =
    typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : Number.NaN;
  if (!Number.isFinite(v))
    throw new RobustMetricError("BAD_INPUT", `${where} must be a finite number, got '${String(raw)}'`);
  if (spec.type === "int" && !Number.isInteger(v)) {
    throw new RobustMetricError("BAD_INPUT", `${where} must be an integer, got ${v}`);
  }
  if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) {
    throw new RobustMetricError(
      "BAD_INPUT",
      `${where} = ${v} is out of range [${spec.min ?? "-inf"}, ${spec.max ?? "inf"}]`,
    );
  }
  return v;
}

const registry = new Map<string, Learner>();

/** Adds a learner to the registry used by `fit --method` and `eval --methods`. Names are unique. */
export function registerLearner(learner: Learner): void {
  if (registry.has(learner.name))
    throw new RobustMetricError("INTERNAL", `learner '${learner.name}' registered twice`);
  registry.set(learner.name, learner);
}

/** The learner called `name`; BAD_INPUT listing the valid names otherwise. */
export function getLearner(name: string): Learner {
  const l = registry.get(name);
  if (!l) {
    throw new RobustMetricError(
      "BAD_INPUT",
      `unknown method '${name}'; valid methods: ${learnerNames().join(", ")}`,
    );
  }
  return l;
}

/** Names of all registered learners, in registration order. */
export function learnerNames(): string[] {
  return [...registry.keys()];
}
