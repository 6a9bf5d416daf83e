import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { resolveParams } from "../../src/learners/index.js";
import { fitLmnnPl, lmnnPl } from "../../src/learners/lmnn-pl.js";
import { parseLmnnPlReference, transductive } from "../../src/learners/lmnn-pl-reference.js";
import { selectRows } from "../../src/linalg/mat.js";
import { cli, tempDir } from "./helpers.js";

const reference = fileURLToPath(new URL("../../../shared/reference/lmnnpl-australian.json", import.meta.url));
const present = existsSync(reference);

// lmnnpl-reference.md §2.1–§2.3 (the authors' code under Octave, one BLAS thread)
const REF_F0_PL = [
  1.50843569407167, 1.25661454113161, 0.925544232725525, 0.671284447980045, 0.932595621823176,
  0.606379330565215, 0.634678446264089, 1.89881824788356, 0.583291701848363, 0.426945321298683,
  1.73981125119912, 0.436128047788279, 0.628099972656245, 0.840804729130074, 1.8804335452166,
  0.451072230032454, 0.448831980785671, 1.77873559410292, 0.648225292331654, 0.453219818872734,
];
const REF_F0_LMNN = [
  0.427001009315845, 0.430373655760681, 0.399679324409961, 0.428805612934499, 0.404168991425166,
  0.398338993738176, 0.440971562923267, 0.437748929881066, 0.405264564126133, 0.388467738337347,
  0.428375844657728, 0.421221535133707, 0.409129908987529, 0.375361610519834, 0.431440614503177,
  0.432677800499915, 0.399164036530198, 0.4084127398852, 0.423594144122245, 0.427159838040141,
];
const REF_CORRECT_PL = [
  177, 176, 181, 177, 178, 169, 176, 178, 168, 173, 180, 180, 174, 177, 175, 179, 173, 173, 173, 177,
];
const REF_CORRECT_LMNN = [
  176, 177, 181, 180, 174, 169, 177, 175, 171, 175, 180, 175, 178, 177, 175, 179, 171, 176, 180, 178,
];

function relClose(a: number, b: number, rel: number): void {
  expect(Math.abs(a - b), `${a} vs ${b}`).toBeLessThanOrEqual(rel * Math.abs(b));
}

interface Doc {
  splits: Array<{
    split: number;
    accuracy: number;
    iterations: number;
    objectiveAtIdentity: { pull: number; hinge: number; perturbation: number; total: number };
    objectiveFinal: { pull: number; hinge: number; perturbation: number; total: number };
  }>;
  accuracy: { mean: number; std: number };
}

const dir = tempDir();

describe.skipIf(!present)("robust-metric reproduce lmnnpl", () => {
  const label = (s: string) => (present ? s : `skipped: ${reference} is missing`);

  it(
    label("split 1 matches the reference run: terms at M = I, iterations, final objective, accuracy"),
    async () => {
      const r = await cli("reproduce", "lmnnpl", "--reference", reference, "--splits", "1", "--json");
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout) as Doc;
      expect(Object.keys(doc).sort()).toEqual(["accuracy", "splits"]);
      const s = doc.splits[0]!;
      expect(Object.keys(s).sort()).toEqual([
        "accuracy",
        "iterations",
        "objectiveAtIdentity",
        "objectiveFinal",
        "split",
      ]);
      expect(s.split).toBe(1);
      relClose(s.objectiveAtIdentity.pull, 0.063150886489844141, 1e-13);
      relClose(s.objectiveAtIdentity.hinge, 0.36385012282600121, 1e-13);
      relClose(s.objectiveAtIdentity.perturbation, 1.0814346847558207, 1e-13);
      relClose(s.objectiveAtIdentity.total, 1.5084356940716661, 1e-13);
      // Octave, NumPy and this port all stop at 235 on split 1 (not a split where summation order matters)
      expect(s.iterations).toBe(235);
      relClose(s.objectiveFinal.pull, 0.080306693082115646, 1e-9);
      relClose(s.objectiveFinal.hinge, 0.23335812085754326, 1e-9);
      relClose(s.objectiveFinal.perturbation, 0.93139713353808229, 1e-9);
      relClose(s.objectiveFinal.total, 1.2450619474777411, 1e-9);
      expect(s.accuracy * 208).toBeCloseTo(177, 9);
      expect(doc.accuracy).toEqual({ mean: s.accuracy, std: 0 });
    },
  );

  it(label("the objective at M = I matches the reference on every split, LMNN-PL and LMNN"), () => {
    const ref = parseLmnnPlReference(readFileSync(reference, "utf8"));
    expect(ref.splits).toHaveLength(20);
    const Z = transductive(ref);
    ref.splits.forEach((sp, s) => {
      const X = selectRows(Z, sp.train);
      const y = Int32Array.from(sp.train, (i) => ref.data.y[i]!);
      const { mu, lambda, tau } = ref.parOpt[s]!;
      // one iteration: only the objective at M = I is checked here
      const pl = fitLmnnPl(X, y, resolveParams(lmnnPl, { mu, lambda, tau, faithful: true, maxIter: 1 }));
      expect(pl.triplets).toBe(14460);
      relClose(pl.atIdentity.total, REF_F0_PL[s]!, 1e-13);
      // LMNN (λ = 0) has the same μ and triplets: its F₀ is the pull and hinge terms of LMNN-PL at M = I
      relClose(pl.atIdentity.pull + pl.atIdentity.hinge, REF_F0_LMNN[s]!, 1e-13);
    });
  });

  it(label("a few splits: per-split accuracy as the reference, their mean and std"), async () => {
    const r = await cli("reproduce", "lmnnpl", "--reference", reference, "--splits", "1,2,7-9", "--json");
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(doc.splits.map((s) => s.split)).toEqual([1, 2, 7, 8, 9]);
    const correct = doc.splits.map((s) => Math.round(s.accuracy * 208));
    expect(correct).toEqual([1, 2, 7, 8, 9].map((s) => REF_CORRECT_PL[s - 1]!));
    // on these splits the runs also stop where the reference's did (lmnnpl-reference.md §4)
    expect(doc.splits.map((s) => s.iterations)).toEqual([235, 175, 264, 200, 264]);
    const acc = correct.map((c) => c / 208);
    const mean = acc.reduce((a, b) => a + b) / acc.length;
    const sd = Math.sqrt(acc.reduce((a, b) => a + (b - mean) ** 2, 0) / (acc.length - 1));
    expect(doc.accuracy.mean).toBeCloseTo(mean, 14);
    expect(doc.accuracy.std).toBeCloseTo(sd, 14);
  });

  it(
    label("--lambda 0 is the authors' LMNN baseline (same iterations and accuracy as their run)"),
    async () => {
      const r = await cli(
        "reproduce",
        "lmnnpl",
        "--reference",
        reference,
        "--splits",
        "1,2",
        "--lambda",
        "0",
        "--json",
      );
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout) as Doc;
      expect(doc.splits.map((s) => s.iterations)).toEqual([533, 526]);
      expect(doc.splits.map((s) => Math.round(s.accuracy * 208))).toEqual(REF_CORRECT_LMNN.slice(0, 2));
      relClose(doc.splits[0]!.objectiveAtIdentity.total, 0.42700100931584534, 1e-13);
      relClose(doc.splits[0]!.objectiveFinal.total, 0.29397444428124597, 1e-9);
      expect(doc.splits[0]!.objectiveFinal.perturbation).toBe(0);
    },
  );

  it(label("prints a readable table with mean ± std"), async () => {
    const r = await cli("reproduce", "lmnnpl", "--reference", reference, "--splits", "2");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^LMNN-PL, faithful mode, transductive standardize \+ unit norm, 1 stored split/,
    );
    expect(r.stdout).toMatch(/\n2 +0\.3349 +39\.9848 +0\.2671 +0\.8462 \(176\/208\) +175 /);
    expect(r.stdout).toMatch(/accuracy: mean 0\.8462 ± std 0\.0000 \(N − 1\) over 1 split/);
  });

  it(label("rejects bad arguments with exit code 2 and a message naming them"), async () => {
    const broken = join(dir, "broken.json");
    const doc = JSON.parse(readFileSync(reference, "utf8"));
    doc.parOpt[3] = [0.5, -1, 0.1];
    writeFileSync(broken, JSON.stringify(doc));
    const cases: Array<[string[], RegExp]> = [
      [["reproduce", "lmnn", "--reference", reference], /unknown experiment 'lmnn'; valid: lmnnpl/],
      [
        ["reproduce", "lmnnpl", "--reference", reference, "--splits", "0"],
        /'0' is not a split number or range within 1\.\.20/,
      ],
      [["reproduce", "lmnnpl", "--reference", reference, "--splits", "3-21"], /within 1\.\.20/],
      [
        ["reproduce", "lmnnpl", "--reference", reference, "--lambda", "-1"],
        /--lambda must be a number ≥ 0, got '-1'/,
      ],
      [["reproduce", "lmnnpl", "--reference", join(dir, "none.json")], /none\.json/],
      [["reproduce", "lmnnpl", "--reference", broken], /parOpt\[3\] = \[0\.5,-1,0\.1\]/],
      [["reproduce", "lmnnpl"], /--reference/],
    ];
    for (const [argv, msg] of cases) {
      const r = await cli(...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stderr, argv.join(" ")).toMatch(msg);
    }
  });
});
