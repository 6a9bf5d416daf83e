import { describe, expect, it } from "vitest";
import { iris } from "../../src/data/embedded.js";
import { Rng } from "../../src/data/rng.js";
import { RobustMetricError } from "../../src/errors.js";
import { evaluateMethods } from "../../src/eval/evaluate.js";
import { aml, amlPairs, fitAmlScatters } from "../../src/learners/aml.js";
import { getLearner, resolveParams } from "../../src/learners/index.js";
import { fromRows, type Mat, zeros } from "../../src/linalg/mat.js";
import { amlObjective } from "../../src/objectives/aml.js";

// Fixture 1 of reference/aml.md §6 (scatters of the six pairs) and its §3.1 results with the correct gradient.
const A = fromRows([
  [4.05, -2.1],
  [-2.1, 1.25],
]);
const B = fromRows([
  [10.61, -8.33],
  [-8.33, 9.65],
]);
const M_GMML = [1.956784194521, 0.66270550882, 0.66270550882, 3.858631946627];
const RUNS = [
  {
    alpha: 10,
    beta: 1,
    best: 8.296520355015,
    M: [0.806848483305, 0.090349820233, 0.939045313089],
    gmml: 18.964814939658,
    source: "descent",
  },
  {
    alpha: 10,
    beta: 0.5,
    best: 6.277368618689,
    M: [0.919468678738, 0.0230272512, 1.017381950844],
    gmml: 15.346334350485,
    source: "descent",
  },
  {
    alpha: 1,
    beta: 2,
    best: 4.54035684165,
    M: [1.054172108457, -0.0592681788, 1.093862743172],
    gmml: 4.50827117509,
    source: "gmml",
  },
] as const;

/** The spec prints 12 decimals; allow one unit in the last place (geometric mean rounding differs there). */
function printed(a: number, b: number): void {
  expect(Math.abs(a - b), `${a} vs ${b}`).toBeLessThanOrEqual(1e-12 + 1e-15 * Math.abs(b));
}

function finite(m: Mat): boolean {
  return Array.from(m.data).every(Number.isFinite);
}

describe("AML fit on fixture 1 (spec §6, the §3.1 procedure with the corrected gradient)", () => {
  for (const r of RUNS) {
    it(`α = ${r.alpha}, β = ${r.beta}: best F, M_best, F(M_GMML) and the returned point to 12 decimals`, () => {
      const noFallback = fitAmlScatters(A, B, 6, { alpha: r.alpha, beta: r.beta, gmmlFallback: false });
      printed(noFallback.value, r.best);
      expect(noFallback.iterations).toBe(100);
      printed(noFallback.M.data[0]!, r.M[0]);
      printed(noFallback.M.data[1]!, r.M[1]);
      printed(noFallback.M.data[2]!, r.M[1]);
      printed(noFallback.M.data[3]!, r.M[2]);
      expect(Math.min(...noFallback.trace)).toBe(noFallback.value);
      // the trace never increases (Armijo descent)
      for (let i = 1; i < noFallback.trace.length; i++)
        expect(noFallback.trace[i]!).toBeLessThanOrEqual(noFallback.trace[i - 1]!);
      const full = fitAmlScatters(A, B, 6, { alpha: r.alpha, beta: r.beta });
      printed(full.gmmlValue!, r.gmml);
      expect(full.source).toBe(r.source);
      if (r.source === "gmml") {
        printed(full.value, r.gmml);
        for (let i = 0; i < 4; i++) printed(full.M.data[i]!, M_GMML[i]!);
      } else printed(full.value, r.best);
    });
  }
  it("h1 at β = 1 only differs in the dissimilar term: its fit has a lower-or-equal F than M = I", () => {
    const r = fitAmlScatters(A, B, 6, { alpha: 10, beta: 1, variant: "h1" });
    const FI = amlObjective(
      fromRows([
        [1, 0],
        [0, 1],
      ]),
      A,
      B,
      6,
      { alpha: 10, beta: 1, variant: "h1" },
    ).value;
    expect(r.value).toBeLessThan(FI);
    expect(finite(r.M)).toBe(true);
  });
});

describe("AML pair sampling (spec §3.4)", () => {
  it("distinct ordered pairs from n², self-pairs allowed, labels by class equality, seeded", () => {
    const y = Int32Array.from([0, 0, 1, 1, 2]);
    for (const count of [7, 20, 25, 40]) {
      const P = amlPairs(y, count, new Rng(5));
      expect(P.a.length).toBe(Math.min(count, 25));
      const codes = new Set(Array.from(P.a, (a, t) => a * 5 + P.b[t]!));
      expect(codes.size).toBe(P.a.length);
      for (let t = 0; t < P.a.length; t++) expect(P.similar[t]).toBe(y[P.a[t]!] === y[P.b[t]!] ? 1 : 0);
      expect(Array.from(amlPairs(y, count, new Rng(5)).b)).toEqual(Array.from(P.b));
    }
  });
});

describe("aml learner", () => {
  it("is registered with the spec's defaults and the two variants", () => {
    const p = resolveParams(getLearner("aml"));
    expect(p).toMatchObject({ alpha: 10, beta: 1, variant: "code", pairs: 2000, rho0: 1e-3, maxIter: 100 });
    expect(aml.params.variant!.choices).toEqual(["code", "h1"]);
    expect(() => resolveParams(aml, { variant: "h2" })).toThrow(/one of code, h1/);
  });
  it("seeded fits are bit-identical and the objective trace does not increase", () => {
    const ds = iris();
    const f1 = aml.fit(ds.X, ds.y, resolveParams(aml), { rng: new Rng(3) });
    const f2 = aml.fit(ds.X, ds.y, resolveParams(aml), { rng: new Rng(3) });
    expect(Array.from(f1.metric.matrix().data)).toEqual(Array.from(f2.metric.matrix().data));
    for (let i = 1; i < f1.objective.length; i++)
      expect(f1.objective[i]!).toBeLessThanOrEqual(f1.objective[i - 1]!);
  });
  it("stepGrowth > 1 and more iterations reach a lower F; gmmlFallback=false keeps the descent point", () => {
    const ds = iris();
    const base = aml.fit(ds.X, ds.y, resolveParams(aml), { rng: new Rng(4) });
    const grown = aml.fit(ds.X, ds.y, resolveParams(aml, { stepGrowth: 2, maxIter: 400 }), {
      rng: new Rng(4),
    });
    expect(Math.min(...grown.objective)).toBeLessThan(Math.min(...base.objective));
    const noFb = aml.fit(ds.X, ds.y, resolveParams(aml, { gmmlFallback: false }), { rng: new Rng(4) });
    expect(noFb.objective.length).toBe(noFb.iterations);
  });
  it("classifies iris (standardised, 5 splits) at least as well as 90 %, both variants", () => {
    const r = evaluateMethods(iris(), {
      methods: ["aml"],
      nSplits: 5,
      params: { aml: { pairs: 500 } },
    });
    expect(r.methods[0]!.accuracy.mean).toBeGreaterThan(0.9);
    const h1 = evaluateMethods(iris(), {
      methods: ["aml"],
      nSplits: 5,
      params: { aml: { variant: "h1", pairs: 500 } },
    });
    expect(h1.methods[0]!.accuracy.mean).toBeGreaterThan(0.9);
  });
  it("degenerate data gives a finite metric or a clear error, never NaN", () => {
    const rng = new Rng(2);
    const cases: Array<[string, Mat, Int32Array]> = [];
    // duplicates + constant column + d > n
    const X = zeros(8, 20);
    for (let i = 0; i < 8; i++) for (let j = 0; j < 19; j++) X.data[i * 20 + j] = rng.normal();
    X.data.copyWithin(20, 0, 20);
    cases.push(["d > n, duplicate rows, constant column", X, Int32Array.from([0, 0, 0, 0, 1, 1, 1, 1])]);
    // duplicate points with different labels
    cases.push([
      "same point, two labels",
      fromRows([
        [1, 2],
        [1, 2],
        [0, 1],
        [3, 1],
      ]),
      Int32Array.from([0, 1, 0, 1]),
    ]);
    // one feature, two classes
    cases.push(["one feature", fromRows([[0], [0.1], [1], [1.2], [0.05]]), Int32Array.from([0, 0, 1, 1, 0])]);
    for (const [name, Xc, yc] of cases) {
      for (const variant of ["code", "h1"]) {
        const fit = aml.fit(Xc, yc, resolveParams(aml, { variant }), { rng: new Rng(1) });
        expect(finite(fit.metric.matrix()), name).toBe(true);
        expect(fit.objective.every(Number.isFinite), name).toBe(true);
        expect(
          fit.warnings.filter((w) => w.includes("GMML check skipped")),
          name,
        ).toEqual([]);
      }
    }
    const one = () => aml.fit(fromRows([[1], [2]]), Int32Array.from([0, 0]), resolveParams(aml));
    expect(one).toThrow(RobustMetricError);
    expect(one).toThrow(/at least two classes/);
    const same = () =>
      aml.fit(
        fromRows([
          [1, 1],
          [1, 1],
          [1, 1],
        ]),
        Int32Array.from([0, 1, 0]),
        resolveParams(aml),
      );
    expect(same).toThrow(/pair differences are zero/);
  });
});
