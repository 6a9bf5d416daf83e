import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseCsv } from "../../src/data/csv.js";
import { iris } from "../../src/data/embedded.js";
import { cli, tempDir } from "./helpers.js";

const dir = tempDir();
const ds = iris();
const header = [...ds.featureNames, "species"].join(",");
const lines = Array.from({ length: ds.X.rows }, (_, i) =>
  [...ds.X.data.subarray(i * ds.X.cols, (i + 1) * ds.X.cols), ds.classes[ds.y[i]!]].join(","),
);
const trainCsv = join(dir, "train.csv");
const testCsv = join(dir, "test.csv");
// every fifth row is a test row (30 points)
writeFileSync(trainCsv, [header, ...lines.filter((_, i) => i % 5 !== 0)].join("\n"));
writeFileSync(testCsv, [header, ...lines.filter((_, i) => i % 5 === 0)].join("\n"));
const model = join(dir, "model.json");
const modelRaw = join(dir, "model-raw.json");

interface CertPoint {
  index: number;
  label: string;
  prediction: string;
  lowerBound: number | "Infinity";
  upperBound?: number | "Infinity";
  rawLowerBound?: number;
}

beforeAll(async () => {
  expect((await cli("fit", "--train", trainCsv, "--method", "euclidean", "--out", model)).code).toBe(0);
  expect(
    (
      await cli(
        "fit",
        "--train",
        trainCsv,
        "--method",
        "euclidean",
        "--preprocess",
        "none",
        "--out",
        modelRaw,
      )
    ).code,
  ).toBe(0);
});

describe("robust-metric certify", () => {
  it("exact 1-NN: lower ≤ upper per point, the curve, and the norm space in the output", async () => {
    const r = await cli(
      "certify",
      "--model",
      model,
      "--train",
      trainCsv,
      "--test",
      testCsv,
      "--exact",
      "--json",
    );
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.k).toBe(1);
    expect(doc.space).toMatch(/after the model's preprocessing 'standardize'/);
    expect(doc.points).toHaveLength(30);
    const minScale = Math.min(...JSON.parse(readFileSync(model, "utf8")).preprocessing.scale);
    for (const p of doc.points as CertPoint[]) {
      const lb = Number(p.lowerBound);
      const ub = Number(p.upperBound);
      expect(lb).toBeLessThanOrEqual(ub);
      if (p.label !== p.prediction) expect(lb).toBe(0);
      else expect(ub - lb).toBeLessThan(1e-6 * Math.max(1, ub));
      // standardize: raw lower bound = model-space bound × min scale
      expect(p.rawLowerBound).toBeCloseTo(lb * minScale, 12);
    }
    expect(doc.curve.map((c: { radius: number }) => c.radius)).toEqual([0, 0.05, 0.1, 0.2, 0.5, 1]);
    const acc = doc.curve.map((c: { certifiedAccuracy: number }) => c.certifiedAccuracy);
    expect(acc[0]).toBeCloseTo(doc.accuracy, 12);
    for (let t = 1; t < acc.length; t++) expect(acc[t]).toBeLessThanOrEqual(acc[t - 1]);
    // the curve is the fraction of points with lower bound > r
    const lbs = (doc.points as CertPoint[]).map((p) => Number(p.lowerBound));
    expect(acc[2]).toBeCloseTo(lbs.filter((v) => v > 0.1).length / 30, 12);
  });

  it("k = 3: the text output names the method and the norm space", async () => {
    const r = await cli("certify", "--model", modelRaw, "--train", trainCsv, "--test", testCsv, "--k", "3");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/3-NN half-space lower bound/);
    expect(r.stdout).toMatch(
      /norms: Euclidean \(l2\) norm in the model's input space.*'none' \(= the raw feature space\)/,
    );
    expect(r.stdout).toMatch(/certified accuracy/);
  });

  it("exits 2 on bad input", async () => {
    const cases: [string[], RegExp][] = [
      [["--exact", "--k", "3"], /--exact is for 1-NN only/],
      [["--radii", "0,abc"], /--radii: 'abc'/],
      [["--radii", "-1"], /--radii: '-1'/],
      [["--k", "0"], /--k must be an integer/],
    ];
    for (const [extra, msg] of cases) {
      const r = await cli("certify", "--model", model, "--train", trainCsv, "--test", testCsv, ...extra);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
    const missing = await cli(
      "certify",
      "--model",
      join(dir, "nope.json"),
      "--train",
      trainCsv,
      "--test",
      testCsv,
    );
    expect(missing.code).toBe(2);
  });
});

describe("robust-metric attack", () => {
  it("exact attack writes verified adversarial points as CSV (raw units), norms match certify's upper bounds", async () => {
    const out = join(dir, "adv.csv");
    const r = await cli(
      "attack",
      "--model",
      model,
      "--train",
      trainCsv,
      "--test",
      testCsv,
      "--out",
      out,
      "--json",
    );
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.method).toBe("exact");
    expect(doc.succeeded).toBe(30);
    expect(doc.adversarialAfterRoundTrip).toBe(30);
    const adv = parseCsv(readFileSync(out, "utf8"));
    expect(adv.X.rows).toBe(30);
    expect(adv.featureNames).toEqual(ds.featureNames);
    // every adversarial point is misclassified by the same model (through its raw-space pipeline)
    const p = await cli(
      "predict",
      "--model",
      model,
      "--train",
      trainCsv,
      "--test",
      out,
      "--k",
      "1",
      "--json",
    );
    expect(JSON.parse(p.stdout).accuracy).toBe(0);
    const c = JSON.parse(
      (await cli("certify", "--model", model, "--train", trainCsv, "--test", testCsv, "--exact", "--json"))
        .stdout,
    );
    doc.points.forEach((q: { norm: number }, i: number) => {
      expect(q.norm).toBeCloseTo(Number(c.points[i].upperBound), 9);
    });
  });

  it("random and greedy attacks for k = 3; bad method / exact with k > 1 exit 2 and write nothing", async () => {
    for (const method of ["random", "greedy", "noise"]) {
      const r = await cli(
        "attack",
        "--model",
        model,
        "--train",
        trainCsv,
        "--test",
        testCsv,
        "--k",
        "3",
        "--method",
        method,
        "--seed",
        "1",
      );
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`${method} attack on 3-NN: \\d+/30 adversarial`));
    }
    const out = join(dir, "never.csv");
    const bad = await cli(
      "attack",
      "--model",
      model,
      "--train",
      trainCsv,
      "--test",
      testCsv,
      "--method",
      "bogus",
      "--out",
      out,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown --method 'bogus'/);
    const ex = await cli(
      "attack",
      "--model",
      model,
      "--train",
      trainCsv,
      "--test",
      testCsv,
      "--k",
      "3",
      "--method",
      "exact",
      "--out",
      out,
    );
    expect(ex.code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });
});
