// Every registered learner with hyper-parameters drawn from the edges of their declared ranges (min, max, 0,
// 1e-300, 1e300, every choice): the fit either returns a finite metric, a finite objective trace and an honest
// iteration count, or stops with a RobustMetricError whose message names the cause — never NaN, never another error
// type. Iteration caps are held small so that the suite stays fast. The learners on degenerate data are covered by
// test/learners/degenerate.test.ts with default parameters.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/data/rng.js";
import { RobustMetricError } from "../../src/errors.js";
import { getLearner, learnerNames, resolveParams } from "../../src/learners/index.js";
import type { ParamSpec } from "../../src/learners/types.js";
import { type Mat, zeros } from "../../src/linalg/index.js";

/** Candidate values at the edges of a parameter's declared range. */
function edges(name: string, spec: ParamSpec): (number | boolean | string)[] {
  if (spec.type === "boolean") return [true, false];
  if (spec.type === "string") return spec.choices ? [...spec.choices] : [String(spec.default)];
  const lo = spec.min ?? Number.NEGATIVE_INFINITY;
  const hi = spec.max ?? Number.POSITIVE_INFINITY;
  // iteration caps and counts are held small: large values only take long
  const cap = /iter|epoch|round|refresh|sweep/i.test(name) ? 20 : Number.POSITIVE_INFINITY;
  const raw =
    spec.type === "int"
      ? [lo, lo + 1, Number(spec.default), 2, 7, hi, 1000]
      : [lo, hi, 0, 1e-300, 1e-12, 0.5, 1, Number(spec.default), 1e12, 1e300, -1, -1e300];
  const ok = raw.filter(
    (v) =>
      Number.isFinite(v) && v >= lo && v <= hi && v <= cap && (spec.type !== "int" || Number.isInteger(v)),
  );
  return [...new Set(ok)];
}

function data(seed: number, n: number, p: number, classes: number): { X: Mat; y: Int32Array } {
  const r = new Rng(seed);
  const X = zeros(n, p);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % classes;
    for (let j = 0; j < p; j++) X.data[i * p + j] = r.normal() + (j === 0 ? 1.5 * y[i]! : 0);
  }
  return { X, y };
}

describe("every learner with parameters at the edges of their ranges (fast-check)", () => {
  it.each(learnerNames())("%s: a finite fit or a RobustMetricError naming the cause", (name) => {
    const learner = getLearner(name);
    const specs = Object.entries(learner.params);
    const choice = fc.record(
      Object.fromEntries(specs.map(([k, spec]) => [k, fc.constantFrom(...edges(k, spec))])) as Record<
        string,
        fc.Arbitrary<number | boolean | string>
      >,
    );
    const caps = Object.fromEntries(
      specs.filter(([k]) => /iter|epoch/i.test(k)).map(([k, s]) => [k, Math.min(20, Number(s.default))]),
    );
    let fitted = 0;
    fc.assert(
      fc.property(
        choice,
        fc.integer({ min: 0, max: 1000 }),
        fc.constantFrom([24, 3, 3], [12, 6, 2], [30, 1, 3]),
        (params, seed, [n, p, c]) => {
          const { X, y } = data(seed, n!, p!, c!);
          // unspecified caps stay small; edges() already keeps drawn caps ≤ 20
          const given = { ...caps, ...params };
          let resolved: ReturnType<typeof resolveParams>;
          try {
            resolved = resolveParams(learner, given);
          } catch (e) {
            // a combination the registry refuses must be refused with a named BAD_INPUT
            expect(e).toBeInstanceOf(RobustMetricError);
            return;
          }
          try {
            const fit = learner.fit(X, y, resolved, { rng: new Rng(seed) });
            const M = fit.metric.matrix();
            const where = `${name} ${JSON.stringify(resolved)} seed ${seed} n ${n} p ${p}`;
            expect(Array.from(M.data).every(Number.isFinite), where).toBe(true);
            expect(
              fit.objective.every(Number.isFinite),
              `${where}: objective ${fit.objective.slice(-3)}`,
            ).toBe(true);
            expect(Number.isInteger(fit.iterations) && fit.iterations >= 0, where).toBe(true);
            expect(typeof fit.converged, where).toBe("boolean");
            fitted++;
          } catch (e) {
            if (!(e instanceof RobustMetricError)) throw e;
            expect(["BAD_INPUT", "NUMERICAL", "SHAPE_MISMATCH"]).toContain(e.code);
            // a sentence about the cause, not an empty or templated-out message
            expect(e.message.length).toBeGreaterThan(15);
            expect(e.message).not.toMatch(/undefined|\[object /);
          }
        },
      ),
      { numRuns: 25 },
    );
    expect(fitted).toBeGreaterThan(0);
  });
});
