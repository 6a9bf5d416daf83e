import { describe, expect, it } from "vitest";
import { RobustMetricError } from "../../src/errors.js";
import { getLearner, learnerNames, resolveParams } from "../../src/learners/index.js";
import type { Learner } from "../../src/learners/types.js";

const fake: Learner = {
  name: "fake",
  description: "test double",
  params: {
    k: { type: "int", default: 3, min: 1, doc: "neighbours" },
    mu: { type: "number", default: 0.5, min: 0, max: 1, doc: "weight" },
    flag: { type: "boolean", default: false, doc: "a flag" },
    solver: { type: "string", default: "pg", choices: ["pg", "lbfgs"], doc: "solver" },
  },
  fit() {
    throw new Error("not used");
  },
};

describe("learner registry", () => {
  it("knows the Euclidean baseline and lists valid names for an unknown one", () => {
    expect(learnerNames()).toContain("euclidean");
    expect(getLearner("euclidean").name).toBe("euclidean");
    expect(() => getLearner("nope")).toThrow(/unknown method 'nope'; valid methods: .*euclidean/);
  });

  it("fills defaults and converts CLI strings", () => {
    expect(resolveParams(fake, {})).toEqual({ k: 3, mu: 0.5, flag: false, solver: "pg" });
    expect(resolveParams(fake, { k: "5", mu: "0.25", flag: "true", solver: "lbfgs" })).toEqual({
      k: 5,
      mu: 0.25,
      flag: true,
      solver: "lbfgs",
    });
  });

  it.each([
    [{ bogus: 1 }, /unknown parameter 'bogus' for method 'fake'; valid parameters: k, mu, flag, solver/],
    [{ k: "2.5" }, /fake\.k must be an integer, got 2.5/],
    [{ k: "0" }, /fake\.k = 0 is out of range \[1, inf\]/],
    [{ mu: "1.5" }, /fake\.mu = 1.5 is out of range \[0, 1\]/],
    [{ mu: "abc" }, /fake\.mu must be a finite number, got 'abc'/],
    [{ mu: "NaN" }, /finite number/],
    [{ flag: "maybe" }, /fake\.flag must be true or false/],
    [{ solver: "adam" }, /fake\.solver must be one of pg, lbfgs, got 'adam'/],
  ])("rejects %o", (given, message) => {
    let err: unknown;
    try {
      resolveParams(fake, given);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RobustMetricError);
    expect((err as RobustMetricError).code).toBe("BAD_INPUT");
    expect((err as Error).message).toMatch(message);
  });
});
