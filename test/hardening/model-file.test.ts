// Model-file integrity: every field of a valid model file is mutated in turn (deleted, wrong type, out of range,
// wrong shape), and random truncations and byte flips are tried. loadModel must either reject the file with a
// RobustMetricError BAD_INPUT that names the field, or (for the few free-form fields listed below) load a model
// that still computes finite distances. The hand-picked mutations of test/learners/model.test.ts are not repeated.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Preprocessor } from "../../src/data/preprocess.js";
import { RobustMetricError } from "../../src/errors.js";
import { buildModel, loadModel, type Model, serializeModel } from "../../src/learners/model.js";
import { fromRows } from "../../src/linalg/mat.js";
import { MahalanobisMetric } from "../../src/metric/mahalanobis.js";

const X = fromRows([
  [1, 2, 3],
  [2, 0, 1],
  [4, 1, 0],
  [0, 3, 2],
]);
const L = fromRows([
  [1, 0.5, 0],
  [0, 2, -1],
]);

function validText(kind: "standardize" | "none" = "standardize"): string {
  return serializeModel(
    buildModel({
      learner: "lmnn",
      fit: {
        metric: MahalanobisMetric.fromL(L),
        iterations: 12,
        converged: true,
        objective: [3, 2, 1],
        seconds: 0.25,
        params: { k: 3, mu: 0.5, solver: "pg", fixedTriplets: false },
        warnings: [],
      },
      preprocessor: Preprocessor.fit(X, kind),
      training: { n: 4, classes: ["a", "b"], featureNames: ["f1", "f2", "f3"] },
    }),
  );
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = (string | number)[];

/** Every path of a JSON document (objects, arrays and leaves), depth first. */
function paths(v: Json, prefix: Path = []): Path[] {
  const out: Path[] = prefix.length ? [prefix] : [];
  if (Array.isArray(v)) v.forEach((c, i) => out.push(...paths(c, [...prefix, i])));
  else if (v !== null && typeof v === "object")
    for (const [k, c] of Object.entries(v)) out.push(...paths(c, [...prefix, k]));
  return out;
}
/** "metric.L[0][1]" for ["metric", "L", 0, 1]. */
function fieldName(path: Path): string {
  return path.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? s : `.${s}`)).join("");
}
function getAt(doc: Json, path: Path): Json {
  // biome-ignore lint/suspicious/noExplicitAny: walking arbitrary JSON
  return path.reduce<any>((o, k) => o[k], doc);
}
function setAt(doc: Json, path: Path, value: Json | undefined): void {
  const parent = getAt(doc, path.slice(0, -1)) as Record<string | number, Json>;
  const key = path[path.length - 1]!;
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else parent[key] = value;
}

/** Type-changing and range-breaking replacements for a value (undefined = delete the field / array entry). */
function mutationsOf(v: Json): [string, Json | undefined][] {
  const out: [string, Json | undefined][] = [
    ["deleted", undefined],
    ["null", null],
  ];
  if (typeof v === "number") {
    out.push(["a string", String(v)], ["a boolean", true], ["an array", [v]], ["an object", { v }]);
    if (v > 0) out.push(["negative", -v]);
    if (Number.isInteger(v)) out.push(["fractional", v + 0.5]);
  } else if (typeof v === "string") {
    out.push(["a number", 7], ["empty", ""], ["an array", [v]], ["unknown text", "zz-unknown"]);
  } else if (typeof v === "boolean") {
    out.push(["a string", String(v)], ["a number", 1]);
  } else if (Array.isArray(v)) {
    out.push(
      ["empty", []],
      ["an object", { 0: v[0] ?? null }],
      ["one more entry", [...v, v[v.length - 1] ?? 0]],
      ["a string", "[]"],
    );
  } else if (v !== null) {
    out.push(["an array", [v]], ["empty", {}], ["a number", 1]);
  }
  return out;
}

/**
 * Mutations a valid file may survive, by field. params is the record of the hyper-parameters the fit used (no
 * computation reads it back; lmnn-pl adds its derived tau), so it is type-checked (finite scalars) but not
 * range-checked, and an entry may be missing. Entries of L and of the preprocessing mean are any finite reals.
 * Class and feature names are free text (a renamed class is a different, still coherent, model); the learner name
 * is a label.
 */
function mayBeAccepted(field: string, what: string): boolean {
  if (/^params\./.test(field))
    return [
      "a string",
      "a number",
      "a boolean",
      "empty",
      "unknown text",
      "deleted",
      "negative",
      "fractional",
    ].includes(what);
  if (field === "params") return what === "empty";
  if (/^(metric\.L\[\d+\]|preprocessing\.mean)\[\d+\]$/.test(field))
    return ["negative", "fractional"].includes(what);
  if (/^training\.(classes|featureNames)\[\d+\]$/.test(field))
    return ["empty", "unknown text"].includes(what);
  if (field === "learner") return what === "unknown text";
  return false;
}

function usable(m: Model): boolean {
  const p = m.metric.p;
  const x = Array.from({ length: p }, (_, j) => j + 0.5);
  const y = Array.from({ length: p }, (_, j) => -j);
  const t = m.preprocessor.apply({ rows: 2, cols: p, data: Float64Array.from([...x, ...y]) });
  const d = m.metric.distance(t.data.subarray(0, p), t.data.subarray(p));
  return Number.isFinite(d) && d >= 0;
}

function tryLoad(text: string): { model?: Model; error?: RobustMetricError } {
  try {
    return { model: loadModel(text) };
  } catch (e) {
    if (e instanceof RobustMetricError) return { error: e };
    throw new Error(`loadModel threw a ${String(e)} (not a RobustMetricError) on ${text.slice(0, 200)}`);
  }
}

describe("model file: every field mutated in turn", () => {
  for (const kind of ["standardize", "none"] as const) {
    it(`preprocessing '${kind}': each mutation is rejected naming the field, or (free-form fields) loads usable`, () => {
      const base = JSON.parse(validText(kind)) as Json;
      const all = paths(base);
      let rejected = 0;
      const accepted: string[] = [];
      const unnamed: string[] = [];
      for (const path of all) {
        const field = fieldName(path);
        for (const [what, value] of mutationsOf(getAt(base, path))) {
          const doc = structuredClone(base);
          setAt(doc, path, value);
          const r = tryLoad(JSON.stringify(doc));
          if (r.error) {
            rejected++;
            expect(r.error.code, `${field} ${what}`).toBe("BAD_INPUT");
            expect(r.error.message, `${field} ${what}`).toMatch(/^model file/);
            // the message names the field, or, for an entry of an array or object, its container
            const named = [field, fieldName(path.slice(0, -1)), fieldName(path.slice(0, 1))].filter(Boolean);
            if (!named.slice(0, path.length > 1 ? 2 : 1).some((f) => r.error!.message.includes(f)))
              unnamed.push(`${field} ${what}: ${r.error.message}`);
          } else {
            if (!mayBeAccepted(field, what)) accepted.push(`${field} ${what}`);
            expect(usable(r.model!), `${field} ${what}`).toBe(true);
          }
        }
      }
      expect(accepted, "mutations loaded although they corrupt the model").toEqual([]);
      expect(unnamed, "rejections whose message does not name the field").toEqual([]);
      expect(rejected).toBeGreaterThan(100);
    });
  }

  it("the format and version fields: wrong, missing, future or past versions are rejected by name", () => {
    for (const version of [0, 2, "1", 1.0000001, null]) {
      const doc = JSON.parse(validText());
      doc.version = version;
      expect(tryLoad(JSON.stringify(doc)).error?.message).toMatch(/field 'version' must be 1/);
    }
    for (const format of ["robust-metric/model ", "ROBUST-METRIC/MODEL", "metric-learn", 1]) {
      const doc = JSON.parse(validText());
      doc.format = format;
      expect(tryLoad(JSON.stringify(doc)).error?.message).toMatch(/field 'format'/);
    }
  });

  it("wrong shapes: L ragged, L rows ≠ q, p ≠ number of features, mean/scale of the wrong length", () => {
    // biome-ignore lint/suspicious/noExplicitAny: mutating arbitrary JSON on purpose
    const cases: [string, (d: any) => void, RegExp][] = [
      ["L ragged", (d) => d.metric.L[0].push(1), /metric\.L\[0\] has 4 values but metric\.p is 3/],
      ["L has q+1 rows", (d) => d.metric.L.push([1, 2, 3]), /metric\.L has 3 rows but metric\.q is 2/],
      [
        "L transposed",
        (d) =>
          (d.metric.L = [
            [1, 0],
            [0.5, 2],
            [0, -1],
          ]),
        /metric\.L has 3 rows/,
      ],
      [
        "p and L both for 2 features",
        (d) => {
          d.metric.p = 2;
          d.metric.L = d.metric.L.map((r: number[]) => r.slice(0, 2));
        },
        /metric\.p' is 2 but training\.featureNames lists 3/,
      ],
      ["mean too short", (d) => d.preprocessing.mean.pop(), /preprocessing\.mean must be an array of 3/],
      ["scale zero", (d) => (d.preprocessing.scale[1] = 0), /preprocessing\.scale\[1\] must be a positive/],
      ["preprocessing.p", (d) => (d.preprocessing.p = 4), /preprocessing/],
      ["L row not an array", (d) => (d.metric.L[1] = 5), /metric\.L\[1\]/],
    ];
    for (const [name, mutate, msg] of cases) {
      const doc = JSON.parse(validText());
      mutate(doc);
      const r = tryLoad(JSON.stringify(doc));
      expect(r.error?.code, name).toBe("BAD_INPUT");
      expect(r.error?.message, name).toMatch(msg);
    }
  });

  it("duplicate class or feature names are rejected (a label could not be mapped back)", () => {
    const a = JSON.parse(validText());
    a.training.classes = ["a", "a"];
    expect(tryLoad(JSON.stringify(a)).error?.message).toMatch(/training\.classes.*'a'/);
    const b = JSON.parse(validText());
    b.training.featureNames = ["f1", "f2", "f1"];
    expect(tryLoad(JSON.stringify(b)).error?.message).toMatch(/training\.featureNames.*'f1'/);
  });
});

describe("model file: truncated and corrupted text (fast-check)", () => {
  const text = validText();

  it("every strict prefix is rejected with BAD_INPUT (a truncated write is never loaded)", () => {
    for (let cut = 0; cut < text.length; cut++) {
      // the pretty file ends in "}\n": dropping only the newline leaves a complete document
      const r = tryLoad(text.slice(0, cut));
      if (cut >= text.length - 1) expect(r.model).toBeDefined();
      else expect(r.error?.code, `cut at ${cut}`).toBe("BAD_INPUT");
    }
  });

  it("random byte flips and splices: a RobustMetricError or a usable model, never another error", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.nat(text.length - 1), fc.string({ unit: "binary-ascii", maxLength: 3 }), fc.nat(3)),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        (edits) => {
          let t = text;
          for (const [at, ins, del] of edits)
            t = t.slice(0, at % (t.length + 1)) + ins + t.slice((at % (t.length + 1)) + del);
          const r = tryLoad(t);
          if (r.model) expect(usable(r.model)).toBe(true);
          else expect(r.error!.code).toBe("BAD_INPUT");
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("any JSON value in place of the whole file is rejected", () => {
    fc.assert(
      fc.property(fc.json(), (s) => {
        expect(tryLoad(s).error?.code).toBe("BAD_INPUT");
      }),
      { numRuns: 300 },
    );
  });
});
