import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { iris } from "../../src/data/embedded.js";
import { Preprocessor } from "../../src/data/preprocess.js";
import { pickLabels, randomSplits } from "../../src/eval/evaluate.js";
import { loadModel } from "../../src/learners/model.js";
import { selectRows } from "../../src/linalg/mat.js";
import { KNeighborsClassifier } from "../../src/neighbors/knn.js";
import { cli, tempDir } from "./helpers.js";

const dir = tempDir();
const ds = iris();
const header = [...ds.featureNames, "species"].join(",");
const lines = Array.from({ length: ds.X.rows }, (_, i) =>
  [...ds.X.data.subarray(i * ds.X.cols, (i + 1) * ds.X.cols), ds.classes[ds.y[i]!]].join(","),
);
// every third row is a test row
const trainCsv = join(dir, "train.csv");
const testCsv = join(dir, "test.csv");
const allCsv = join(dir, "iris.csv");
writeFileSync(trainCsv, [header, ...lines.filter((_, i) => i % 3 !== 0)].join("\n"));
writeFileSync(testCsv, [header, ...lines.filter((_, i) => i % 3 === 0)].join("\n"));
writeFileSync(allCsv, [header, ...lines].join("\n"));

describe("robust-metric fit / predict", () => {
  it("fits, writes a valid model file and predicts with it", async () => {
    const out = join(dir, "model.json");
    const r = await cli("fit", "--train", trainCsv, "--method", "euclidean", "--out", out);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/fitted euclidean on 100 rows × 4 features, 3 classes/);
    const model = loadModel(readFileSync(out, "utf8"));
    expect(model.learner).toBe("euclidean");
    expect(model.training).toEqual({ n: 100, classes: ds.classes, featureNames: ds.featureNames });
    const p = await cli("predict", "--model", out, "--train", trainCsv, "--test", testCsv, "--json");
    expect(p.code).toBe(0);
    const doc = JSON.parse(p.stdout);
    expect(doc.n).toBe(50);
    expect(doc.predictions).toHaveLength(50);
    const correct = doc.predictions.filter(
      (q: { label: string; prediction: string }) => q.label === q.prediction,
    );
    expect(doc.accuracy).toBeCloseTo(correct.length / 50, 15);
    // standardized Euclidean 3-NN on iris is well above 85 %
    expect(doc.accuracy).toBeGreaterThan(0.85);
  });

  it("exits 2 with a clear message for bad input, and leaves no output file", async () => {
    const out = join(dir, "never.json");
    const cases: [string[], RegExp][] = [
      [["fit", "--train", join(dir, "missing.csv"), "--out", out], /missing\.csv/],
      [["fit", "--train", dir, "--out", out], /director/],
      [
        ["fit", "--train", trainCsv, "--method", "bogus", "--out", out],
        /unknown method 'bogus'; valid methods: .*euclidean/,
      ],
      [
        ["fit", "--train", trainCsv, "--param", "mu=1", "--out", out],
        /unknown parameter 'mu' for method 'euclidean'/,
      ],
      [["fit", "--train", trainCsv, "--preprocess", "whiten", "--out", out], /whiten/],
      [["fit", "--train", trainCsv], /--out/],
      [["fit", "--train", trainCsv, "--out", join(dir, "no", "such", "dir", "m.json")], /no[/\\]such/],
    ];
    for (const [argv, msg] of cases) {
      const r = await cli(...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stderr, argv.join(" ")).toMatch(msg);
    }
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes(".tmp"))).toEqual([]);
  });

  it("rejects a test file whose columns do not match the model", async () => {
    const out = join(dir, "model2.json");
    expect((await cli("fit", "--train", trainCsv, "--out", out)).code).toBe(0);
    const bad = join(dir, "bad.csv");
    writeFileSync(bad, "a,b,label\n1,2,x\n3,4,y\n");
    const r = await cli("predict", "--model", out, "--train", trainCsv, "--test", bad);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/2 feature columns but the model was trained on 4/);
  });

  it("rejects a corrupt model file naming the field", async () => {
    const out = join(dir, "model3.json");
    expect((await cli("fit", "--train", trainCsv, "--out", out)).code).toBe(0);
    const doc = JSON.parse(readFileSync(out, "utf8"));
    doc.fit.converged = "yes";
    const broken = join(dir, "broken.json");
    writeFileSync(broken, JSON.stringify(doc));
    const r = await cli("predict", "--model", broken, "--train", trainCsv, "--test", testCsv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/fit\.converged/);
    writeFileSync(broken, readFileSync(out, "utf8").slice(0, 200));
    const t = await cli("predict", "--model", broken, "--train", trainCsv, "--test", testCsv);
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(/not valid JSON/);
  });
});

describe("robust-metric eval", () => {
  it("prints exactly one JSON object with the documented fields", async () => {
    const r = await cli("eval", "--data", allCsv, "--methods", "euclidean", "--splits", "4", "--json");
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc).sort()).toEqual(["classes", "d", "dataset", "k", "methods", "n"]);
    expect(doc).toMatchObject({ dataset: "iris", n: 150, d: 4, classes: 3, k: 3 });
    const m = doc.methods[0];
    expect(m.method).toBe("euclidean");
    expect(m.splits).toHaveLength(4);
    const accs = m.splits.map((s: { accuracy: number }) => s.accuracy);
    const mean = accs.reduce((a: number, b: number) => a + b, 0) / 4;
    const sd = Math.sqrt(accs.reduce((a: number, b: number) => a + (b - mean) ** 2, 0) / 3);
    expect(m.accuracy.mean).toBeCloseTo(mean, 14);
    expect(m.accuracy.std).toBeCloseTo(sd, 14);
    for (const s of m.splits) {
      expect(Object.keys(s).sort()).toEqual(["accuracy", "converged", "fitSeconds", "iterations", "split"]);
      // 45 test rows of 150 (30 %)
      expect(Math.round(s.accuracy * 45)).toBeCloseTo(s.accuracy * 45, 9);
    }
  });

  it("is deterministic for a seed and honours a splits file", async () => {
    const a = JSON.parse(
      (await cli("eval", "--data", allCsv, "--splits", "3", "--seed", "7", "--json")).stdout,
    );
    const b = JSON.parse(
      (await cli("eval", "--data", allCsv, "--splits", "3", "--seed", "7", "--json")).stdout,
    );
    expect(a.methods[0].splits.map((s: { accuracy: number }) => s.accuracy)).toEqual(
      b.methods[0].splits.map((s: { accuracy: number }) => s.accuracy),
    );
    const splitsFile = join(dir, "splits.json");
    const test = Array.from({ length: 50 }, (_, i) => 3 * i);
    const train = Array.from({ length: 150 }, (_, i) => i).filter((i) => i % 3 !== 0);
    writeFileSync(splitsFile, JSON.stringify({ splits: [{ train, test }] }));
    const r = JSON.parse((await cli("eval", "--data", allCsv, "--splits-file", splitsFile, "--json")).stdout);
    expect(r.methods[0].splits).toHaveLength(1);
    const acc50 = r.methods[0].splits[0].accuracy * 50;
    expect(Math.abs(acc50 - Math.round(acc50))).toBeLessThan(1e-9);
  });

  it("fits the preprocessing on all rows with --transductive (the LMNN-PL authors' protocol)", async () => {
    const base = [
      "eval",
      "--data",
      allCsv,
      "--splits",
      "3",
      "--preprocess",
      "standardize+unitnorm",
      "--json",
    ];
    const got = JSON.parse((await cli(...base, "--transductive")).stdout).methods[0].splits;
    // recompute split 1 by hand: the same seeded splits, statistics from all 150 rows
    const split = randomSplits(150, 3, 0.3, 0)[0]!;
    const pre = Preprocessor.fit(ds.X, "standardize+unitnorm");
    const knn = new KNeighborsClassifier({ k: 3 }).fit(
      pre.apply(selectRows(ds.X, split.train)),
      pickLabels(ds.y, split.train),
    );
    expect(got[0].accuracy).toBe(
      knn.score(pre.apply(selectRows(ds.X, split.test)), pickLabels(ds.y, split.test)),
    );
  });

  it("exits 2 for unknown methods, parameters and bad options", async () => {
    const cases: [string[], RegExp][] = [
      [["eval", "--data", allCsv, "--methods", "euclidean,nope"], /unknown method 'nope'/],
      [["eval", "--data", allCsv, "--param", "euclidean.x=1"], /unknown parameter 'x'/],
      [["eval", "--data", allCsv, "--param", "lmnnx.k=1"], /not among the methods/],
      [["eval", "--data", allCsv, "--k", "0"], /--k must be an integer ≥ 1/],
      [["eval", "--data", allCsv, "--test-size", "1.5"], /--test-size must be in \(0, 1\)/],
      [["eval", "--data", allCsv, "--k", "200"], /200/],
      [["eval", "--data", allCsv, "--bogus"], /unknown option/],
    ];
    for (const [argv, msg] of cases) {
      const r = await cli(...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stderr, argv.join(" ")).toMatch(msg);
    }
  });
});

describe("robust-metric demo and methods", () => {
  it("demo --json prints one eval object per embedded data set", async () => {
    const r = await cli("demo", "--splits", "2", "--json");
    expect(r.code).toBe(0);
    const docs = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(docs.map((d) => d.dataset)).toEqual(["iris", expect.stringMatching(/blobs/)]);
    for (const d of docs) expect(d.methods.map((m: { method: string }) => m.method)).toContain("euclidean");
  });

  it("methods lists the registry", async () => {
    const r = await cli("methods", "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).map((m: { name: string }) => m.name)).toContain("euclidean");
  });
});
