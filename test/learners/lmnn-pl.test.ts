import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Preprocessor } from "../../src/data/preprocess.js";
import { getLearner, resolveParams } from "../../src/learners/index.js";
import { evaluateTerms, lmnnTerms } from "../../src/learners/lmnn.js";
import { authorsTriplets, fitLmnnPl, lmnnPl } from "../../src/learners/lmnn-pl.js";
import { eigh } from "../../src/linalg/eigh.js";
import { eye, fromRows, type Mat, selectRows } from "../../src/linalg/mat.js";
import { KNeighborsClassifier } from "../../src/neighbors/knn.js";
import {
  medianSatisfiedMargin,
  PerturbationLoss,
  satisfiedMargins,
} from "../../src/objectives/perturbation.js";
import { TINY_M2, TINY_SETTINGS, TINY_STATES, TINY_X, TINY_Y } from "../objectives/perturbation-fixtures.js";

const shared = fileURLToPath(new URL("../../../shared/reference/", import.meta.url));
const australianFile = `${shared}lmnnpl-australian.json`;
const irisFile = `${shared}lmnnpl-iris-seed0.json`;

/** |a − b| within half a unit of the last printed digit of the reference value (plus a few ulps). */
function closeToPrinted(a: number, printed: number): void {
  const s = String(printed);
  const digits = (s.split(".")[1] ?? "").length;
  const tol = 0.5 * 10 ** -digits + 4 * Number.EPSILON * Math.abs(printed);
  expect(Math.abs(a - printed), `${a} vs ${printed}`).toBeLessThanOrEqual(tol);
}

function relClose(a: number, b: number, rel: number): void {
  expect(Math.abs(a - b), `${a} vs ${b}`).toBeLessThanOrEqual(rel * Math.abs(b));
}

const params = (over: Record<string, unknown>) => resolveParams(lmnnPl, over);

describe("LMNN-PL on the tiny fixture (spec §8.2)", () => {
  const { k, v, mu, lambda, tau } = TINY_SETTINGS;
  const built = authorsTriplets(TINY_X, TINY_Y, k, v);

  it("builds the authors' 24 triplets in their order, and 12 pairs", () => {
    const T = built.triplets;
    const got = Array.from(T.anchor, (a, t) => `(${a + 1},${T.target[t]! + 1},${T.impostor[t]! + 1})`).join(
      " ",
    );
    expect(got).toBe(
      "(1,3,4) (1,3,6) (1,2,4) (1,2,6) (2,3,4) (2,3,5) (2,1,4) (2,1,5) (3,1,6) (3,1,4) (3,2,6) (3,2,4) " +
        "(4,6,3) (4,6,2) (4,5,3) (4,5,2) (5,4,2) (5,4,3) (5,6,2) (5,6,3) (6,4,3) (6,4,2) (6,5,3) (6,5,2)",
    );
    expect(built.pairs.a.length).toBe(12);
  });

  it("gives the reference objective and symmetrised gradient at the two fixed states", () => {
    const { engine, terms } = lmnnTerms(TINY_X, built.triplets, built.pairs, mu, 24, [
      new PerturbationLoss({ lambda, tau }),
    ]);
    for (const [M, want] of [
      [eye(2), TINY_STATES[0]!],
      [TINY_M2, TINY_STATES[1]!],
    ] as const) {
      const { value, gradient } = evaluateTerms(engine, terms, M, true);
      closeToPrinted(value, want.F);
      for (let r = 0; r < 2; r++)
        for (let c = 0; c < 2; c++) closeToPrinted(gradient!.data[r * 2 + c]!, want.G[r]![c]!);
    }
  });

  it("runs the full LMNN-PL and LMNN (λ = 0) close to the reference runs", () => {
    const pl = fitLmnnPl(TINY_X, TINY_Y, params({ k, v, mu, lambda, tau, faithful: true }));
    closeToPrinted(pl.objective[0]!, 1.2112700600671);
    closeToPrinted(pl.objective[1]!, 0.504209616151538);
    closeToPrinted(pl.objective[2]!, 0.326501521470651);
    // later iterations depend on floating-point order (spec §8.2): compare the run approximately
    expect(Math.abs(pl.iterations - 86)).toBeLessThanOrEqual(5);
    relClose(pl.objective.at(-1)!, 0.308846157047001, 1e-6);
    const M = pl.metric.matrix().data;
    for (const m of M) expect(Math.abs(m - 0.6993)).toBeLessThan(1e-3); // rank one along (1, 1)
    expect(pl.converged).toBe(true);
    // 3-NN on the two test points of the spec
    const knn = new KNeighborsClassifier({ k: 3, metric: pl.metric }).fit(TINY_X, TINY_Y);
    expect(
      Array.from(
        knn.predict(
          fromRows([
            [0.5, 0.5],
            [1.5, 1.0],
          ]),
        ),
      ),
    ).toEqual([0, 1]);

    const base = fitLmnnPl(TINY_X, TINY_Y, params({ k, v, mu, lambda: 0, tau: 0, faithful: true }));
    closeToPrinted(base.objective[0]!, 1.08833333333333);
    closeToPrinted(base.objective[1]!, 0.471865147569444);
    expect(Math.abs(base.iterations - 62)).toBeLessThanOrEqual(5);
    relClose(base.objective.at(-1)!, 0.278846188072392, 1e-6);
    expect(base.atIdentity.perturbation).toBe(0);
  });

  it("reports the terms and counts at M = I (12 violated, 6 PL-active, 18 hinge-active)", () => {
    const fit = fitLmnnPl(TINY_X, TINY_Y, params({ k, v, mu, lambda, tau, faithful: true, maxIter: 3 }));
    closeToPrinted(fit.atIdentity.total, 1.2112700600671);
    expect(fit.atIdentity.pull + fit.atIdentity.hinge + fit.atIdentity.perturbation).toBeCloseTo(
      fit.atIdentity.total,
      15,
    );
    // triplet 8 is an exact tie (DM = 0 for every M): the reference counts it as satisfied; our Gram-form rounding
    // may put it on either side, with the same loss and zero gradient either way (see perturbation.test.ts)
    const c = fit.countsAtIdentity;
    expect(c.hingeActive).toBe(18);
    expect(c.violated + c.perturbationActive).toBe(18);
    expect([12, 13]).toContain(c.violated);
    expect(fit.iterations).toBe(4);
    expect(fit.converged).toBe(false);
  });
});

describe("LMNN-PL parameters and modes", () => {
  it("is registered with documented defaults", () => {
    const l = getLearner("lmnn-pl");
    expect(resolveParams(l, {})).toEqual({
      mu: 0.5,
      lambda: 10,
      tau: 0,
      k: 3,
      v: 10,
      faithful: false,
      maxIter: 1000,
      eta: 1e-7,
    });
    for (const spec of Object.values(l.params)) expect(spec.doc.length).toBeGreaterThan(10);
  });

  it("τ = 0 resolves to the median adversarial margin of the satisfied triplets at M = I", () => {
    const fit = fitLmnnPl(TINY_X, TINY_Y, params({ k: 2, v: 2, lambda: 1, maxIter: 2 }));
    const { engine } = lmnnTerms(
      TINY_X,
      authorsTriplets(TINY_X, TINY_Y, 2, 2).triplets,
      { a: new Int32Array(0), b: new Int32Array(0) },
      0.5,
      24,
    );
    engine.setMetric(eye(2), { q: true });
    const m = Array.from(satisfiedMargins(engine)).sort((a, b) => a - b);
    expect(m.length).toBeGreaterThan(8);
    const median = m.length % 2 ? m[m.length >> 1]! : (m[m.length / 2 - 1]! + m[m.length / 2]!) / 2;
    expect(fit.tau).toBe(median);
    expect(medianSatisfiedMargin(engine)).toBe(median);
    expect(fit.params.tau).toBe(median);
  });

  it("faithful mode takes an exact duplicate as a point's own target, as the authors' code; the default does not", () => {
    // points 1 and 2 coincide: for anchor 2 the stable sort puts point 1 first (lower index, equal distance), so
    // position 1 (assumed self) skips point 1 and position 2 is point 2 itself
    const X = fromRows([
      [0, 0],
      [0, 0],
      [0.1, 0],
      [0.3, 0],
      [3, 3],
      [3.1, 3],
      [3, 3.2],
      [3.3, 3.1],
    ]);
    const y = Int32Array.from([0, 0, 0, 0, 1, 1, 1, 1]);
    const { pairs } = authorsTriplets(X, y, 2, 2);
    const targetsOf = (i: number) => Array.from(pairs.b).filter((_, e) => pairs.a[e] === i);
    expect(targetsOf(0)).toEqual([1, 2]);
    expect(targetsOf(1)).toEqual([1, 2]);
    const fit = fitLmnnPl(X, y, params({ k: 2, v: 2, lambda: 1, tau: 0.5, maxIter: 5 }));
    expect(fit.pairs).toBe(16);
    expect(Number.isFinite(fit.final.total)).toBe(true);
  });

  it("faithful mode rejects a class too small for k or v; the default mode uses what there is and warns", () => {
    const X = fromRows([[0], [0.2], [0.5], [5], [5.5]]);
    const y = Int32Array.from([0, 0, 0, 1, 1]);
    expect(() => fitLmnnPl(X, y, params({ k: 2, v: 2, faithful: true }))).toThrow(
      /at least k \+ 1 = 3 points in every class; class code 1 has 2/,
    );
    expect(() => fitLmnnPl(X, y, params({ k: 1, v: 3, faithful: true }))).toThrow(
      /at least v = 3 points outside every class; class code 0 has 2/,
    );
    const fit = fitLmnnPl(X, y, params({ k: 2, v: 3, lambda: 1, tau: 0.2 }));
    expect(fit.warnings.join(" ")).toMatch(/class code 1 \(2 members\)/);
    expect(Number.isFinite(fit.final.total)).toBe(true);
    expect(fit.metric.p).toBe(1);
  });
});

interface AustralianRef {
  X: number[][];
  y: number[];
  splits: Array<{ train: number[]; test: number[] }>;
  parOpt: number[][];
}

describe.skipIf(!existsSync(australianFile))(
  "LMNN-PL on Australian split 1 (lmnnpl-reference.md §2.3)",
  () => {
    it(
      existsSync(australianFile) ? "matches the reference run" : `skipped: ${australianFile} is missing`,
      () => {
        const ref = JSON.parse(readFileSync(australianFile, "utf8")) as AustralianRef;
        const all: Mat = fromRows(ref.X);
        // the authors' transductive preprocessing: statistics of all 690 rows
        const Z = Preprocessor.fit(all, "standardize+unitnorm").apply(all);
        const split = ref.splits[0]!;
        const Xtr = selectRows(Z, split.train);
        const ytr = Int32Array.from(split.train, (i) => ref.y[i]!);
        const [mu, lambda, tau] = ref.parOpt[0]!;
        const fit = fitLmnnPl(Xtr, ytr, params({ mu, lambda, tau, faithful: true }));
        expect(fit.triplets).toBe(14460);
        expect(fit.pairs).toBe(1446);
        const want = {
          pull: 0.063150886489844141,
          hinge: 0.36385012282600121,
          perturbation: 1.0814346847558207,
        };
        relClose(fit.atIdentity.pull, want.pull, 1e-13);
        relClose(fit.atIdentity.hinge, want.hinge, 1e-13);
        relClose(fit.atIdentity.perturbation, want.perturbation, 1e-13);
        relClose(fit.atIdentity.total, 1.5084356940716661, 1e-13);
        expect(fit.countsAtIdentity).toEqual({
          violated: 1351,
          hingeActive: 12424,
          perturbationActive: 10116,
        });
        const first = [
          1.5084356940716661, 1.4304412752538989, 1.3882851002741943, 1.3612374997391614, 1.3422404912832504,
        ];
        first.forEach((f, t) => relClose(fit.objective[t]!, f, 1e-13));
        // all three implementations (Octave, NumPy, this one) stop at 235 on this split; F_end agrees far below the
        // 1e-4 the reference allows for summation-order effects
        expect(fit.iterations).toBe(235);
        relClose(fit.final.total, 1.2450619474777411, 1e-9);
        relClose(fit.final.pull, 0.080306693082115646, 1e-9);
        relClose(fit.final.hinge, 0.23335812085754326, 1e-9);
        relClose(fit.final.perturbation, 0.93139713353808229, 1e-9);
        expect(fit.countsFinal).toEqual({ violated: 1507, hingeActive: 5466, perturbationActive: 9563 });
        const ev = eigh(fit.metric.matrix()).values;
        expect(ev[0]).toBeCloseTo(0.493567, 6);
        expect(ev[13]).toBeCloseTo(2.97076, 5);
        const knn = new KNeighborsClassifier({ k: 3, metric: fit.metric }).fit(Xtr, ytr, 2);
        const yte = Int32Array.from(split.test, (i) => ref.y[i]!);
        expect(Math.round(knn.score(selectRows(Z, split.test), yte) * 208)).toBe(177);
        // τ = 0 would use the median margin at M = I, which the reference reports as 0.323276
        const auto = fitLmnnPl(Xtr, ytr, params({ mu, lambda, tau: 0, faithful: true, maxIter: 1 }));
        expect(auto.tau).toBeCloseTo(0.323276, 6);
      },
    );
  },
);

interface IrisRef {
  X: number[][];
  y: number[];
  train: number[];
  test: number[];
  settings: { mu: number; lambda: number; tau: number };
  runs: Record<
    string,
    Record<string, { objTrace: number[]; iters: number; testCorrect: number; M: number[][] }>
  >;
}

describe.skipIf(!existsSync(irisFile))("LMNN-PL on the iris seed-0 fixture (lmnnpl-reference.md §5)", () => {
  it(
    existsSync(irisFile) ? "matches the reference objective traces" : `skipped: ${irisFile} is missing`,
    () => {
      const ref = JSON.parse(readFileSync(irisFile, "utf8")) as IrisRef;
      const all = fromRows(ref.X);
      const train = selectRows(all, ref.train);
      const ytr = Int32Array.from(ref.train, (i) => ref.y[i]!);
      const yte = Int32Array.from(ref.test, (i) => ref.y[i]!);
      for (const [kind, pre] of [
        ["rownorm1", "standardize+unitnorm"],
        ["rownorm0", "standardize"],
      ] as const) {
        const P = Preprocessor.fit(train, pre);
        const Xtr = P.apply(train);
        const Xte = P.apply(selectRows(all, ref.test));
        const { mu, lambda, tau } = ref.settings;
        for (const [method, lam] of [
          ["lmnnpl", lambda],
          ["lmnn", 0],
        ] as const) {
          const want = ref.runs[kind]![method]!;
          const fit = fitLmnnPl(
            Xtr,
            ytr,
            params({ mu, lambda: lam, tau: lam > 0 ? tau : 0, faithful: true }),
          );
          expect(fit.triplets).toBe(3150);
          // the whole run tracks the reference: first values to rounding, same stopping iteration, final F and M
          // far inside the 1e-4 the reference allows for summation-order effects
          for (let t = 0; t < 30; t++) relClose(fit.objective[t]!, want.objTrace[t]!, 1e-13);
          expect(fit.iterations).toBe(want.iters);
          relClose(fit.objective.at(-1)!, want.objTrace.at(-1)!, 1e-8);
          const M = fit.metric.matrix().data;
          want.M.flat().forEach((m, e) => expect(Math.abs(M[e]! - m)).toBeLessThan(1e-6));
          const knn = new KNeighborsClassifier({ k: 3, metric: fit.metric }).fit(Xtr, ytr, 3);
          expect(Math.round(knn.score(Xte, yte) * 45)).toBe(want.testCorrect);
        }
      }
    },
  );
});
