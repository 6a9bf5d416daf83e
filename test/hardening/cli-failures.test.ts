// CLI failure modes, one test each, through the real entry point (run(argv) via test/cli/helpers.ts): bad input
// exits 2 with a message naming the offending file, row, column or value, never a stack trace, and leaves no
// output file and no temporary file behind. Cases already in test/cli/cli.test.ts are not repeated here.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { iris } from "../../src/data/embedded.js";
import { cli, tempDir } from "../cli/helpers.js";

const dir = tempDir();
const ds = iris();
const header = [...ds.featureNames, "species"].join(",");
const rows = Array.from({ length: ds.X.rows }, (_, i) =>
  [...ds.X.data.subarray(i * 4, i * 4 + 4), ds.classes[ds.y[i]!]].join(","),
);
const trainCsv = join(dir, "train.csv");
const testCsv = join(dir, "test.csv");
const model = join(dir, "model.json");
writeFileSync(trainCsv, `${[header, ...rows.filter((_, i) => i % 3 !== 0)].join("\n")}\n`);
writeFileSync(testCsv, `${[header, ...rows.filter((_, i) => i % 3 === 0)].join("\n")}\n`);

beforeAll(async () => {
  const r = await cli("fit", "--train", trainCsv, "--method", "euclidean", "--out", model);
  expect(r.code).toBe(0);
});

/** Every file under the test folder (recursive), to check that a failed command left nothing behind. */
function listing(): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).map(String).sort();
}

/**
 * Runs the CLI, expects exit code 2, a one-line "error: …" message matching every pattern (and no stack trace),
 * and no new file anywhere in the test folder.
 */
async function rejects(argv: string[], ...patterns: RegExp[]): Promise<string> {
  const before = listing();
  const r = await cli(...argv);
  expect(r.code, `${argv.join(" ")}\n${r.stderr}`).toBe(2);
  for (const p of patterns) expect(r.stderr, argv.join(" ")).toMatch(p);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(listing(), "files left behind").toEqual(before);
  return r.stderr;
}

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

describe("input files", () => {
  it("missing training file: names the path", async () => {
    await rejects(
      ["fit", "--train", join(dir, "nope.csv"), "--out", join(dir, "m.json")],
      /cannot read '.*nope\.csv': no such file/,
    );
  });

  it("missing model file (predict): names the path", async () => {
    await rejects(
      ["predict", "--model", join(dir, "nope.json"), "--train", trainCsv, "--test", testCsv],
      /nope\.json.*no such file/,
    );
  });

  it.skipIf(isRoot)("unreadable training file (chmod 000): names the path and the reason", async () => {
    const locked = join(dir, "locked.csv");
    writeFileSync(locked, readFileSync(trainCsv));
    chmodSync(locked, 0o000);
    try {
      await rejects(
        ["fit", "--train", locked, "--out", join(dir, "m.json")],
        /cannot read '.*locked\.csv'.*(EACCES|permission)/i,
      );
    } finally {
      chmodSync(locked, 0o644);
    }
  });
  it.runIf(isRoot)(
    "skipped: unreadable file (chmod 000) — running as root, where permissions do not bite",
    () => {},
  );

  it("a directory given as the training file", async () => {
    await rejects(["fit", "--train", dir, "--out", join(dir, "m.json")], /it is a directory, not a file/);
  });

  it("a directory given as the model file (predict)", async () => {
    await rejects(
      ["predict", "--model", dir, "--train", trainCsv, "--test", testCsv],
      /cannot read '.*': it is a directory/,
    );
  });

  it("an empty training file", async () => {
    const empty = join(dir, "empty.csv");
    writeFileSync(empty, "");
    await rejects(["fit", "--train", empty, "--out", join(dir, "m.json")], /empty\.csv: CSV is empty/);
  });

  it("a binary file (PNG header bytes) as the training file: names the file and what is wrong", async () => {
    const bin = join(dir, "binary.csv");
    writeFileSync(
      bin,
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x2c, 0xff, 0x0a, 0x01, 0x2c, 0x02]),
    );
    await rejects(["fit", "--train", bin, "--out", join(dir, "m.json")], /binary\.csv: CSV/);
  });

  it("a CSV given as the model file: not valid JSON, naming the file", async () => {
    await rejects(
      ["predict", "--model", trainCsv, "--train", trainCsv, "--test", testCsv],
      /model file is not valid JSON/,
    );
  });

  it("a non-numeric cell: names the file, line, column and value", async () => {
    const bad = join(dir, "cell.csv");
    writeFileSync(bad, `${header}\n5.1,3.5,1.4,0.2,setosa\n4.9,three,1.4,0.2,setosa\n6,3,4,1,versicolor\n`);
    await rejects(
      ["fit", "--train", bad, "--out", join(dir, "m.json")],
      /cell\.csv: CSV line 3, column 'sepal.?width.*': 'three' \(not a number\)/i,
    );
  });

  it("a value that overflows (1e309) in the test file of predict: names line, column and value", async () => {
    const bad = join(dir, "inf.csv");
    writeFileSync(bad, `${header}\n5.1,3.5,1.4,0.2,setosa\n1e309,3,4,1,versicolor\n`);
    await rejects(
      ["predict", "--model", model, "--train", trainCsv, "--test", bad],
      /inf\.csv: CSV line 3, column .*'1e309' \(infinite values are not allowed\)/,
    );
  });
});

describe("files that do not match the model", () => {
  it("wrong column count in the training file of predict", async () => {
    const three = join(dir, "three.csv");
    writeFileSync(three, "a,b,c,label\n1,2,3,x\n4,5,6,y\n");
    await rejects(
      ["predict", "--model", model, "--train", three, "--test", testCsv],
      /three\.csv has 3 feature columns but the model was trained on 4/,
    );
  });

  it("same count, other column names in the test file (certify)", async () => {
    const renamed = join(dir, "renamed.csv");
    writeFileSync(renamed, `a,b,c,d,species\n${[...rows.slice(0, 3), ...rows.slice(50, 53)].join("\n")}\n`);
    await rejects(
      ["certify", "--model", model, "--train", trainCsv, "--test", renamed],
      /renamed\.csv: feature column 1 is 'a', the model expects '/,
    );
  });

  it("wrong column count in the test file of attack, with --out: no adversarial file written", async () => {
    const five = join(dir, "five.csv");
    writeFileSync(five, "a,b,c,d,e,label\n1,2,3,4,5,x\n6,7,8,9,0,y\n");
    const out = join(dir, "adv.csv");
    await rejects(
      ["attack", "--model", model, "--train", trainCsv, "--test", five, "--out", out],
      /five\.csv has 5 feature columns but the model was trained on 4/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it("a JSON data file whose features are unnamed (x1…x4) against a model trained on named columns", async () => {
    const json = join(dir, "data.json");
    writeFileSync(
      json,
      JSON.stringify({
        X: [
          [1, 2, 3, 4],
          [5, 6, 7, 8],
        ],
        y: ["setosa", "virginica"],
      }),
    );
    await rejects(
      ["predict", "--model", model, "--train", trainCsv, "--test", json],
      /data\.json: feature column 1 is 'x1', the model expects/,
    );
  });
});

describe("data at the edge of float64 and hostile model values", () => {
  it("a training file spanning ±1.5e308 fits (standardize) and predicts end to end: exit 0, finite model", async () => {
    const big = join(dir, "big.csv");
    writeFileSync(
      big,
      "a,b,label\n1e308,1,x\n1e308,2,y\n-1e308,3,x\n-1e308,4,y\n1.5e308,5,x\n-1.2e308,6,y\n",
    );
    const out = join(dir, "big-model.json");
    for (const method of ["euclidean", "itml", "nca"]) {
      const r = await cli("fit", "--train", big, "--method", method, "--out", out);
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(readFileSync(out, "utf8"));
      const values = [...doc.metric.L.flat(), ...doc.preprocessing.mean, ...doc.preprocessing.scale];
      // JSON.stringify writes NaN and Infinity as null: a finite file has only numbers
      expect(
        values.every((v: unknown) => typeof v === "number" && Number.isFinite(v)),
        method,
      ).toBe(true);
      const p = await cli("predict", "--model", out, "--train", big, "--test", big, "--k", "1", "--json");
      expect(p.code, p.stderr).toBe(0);
      // 1-NN on its own training rows: each point is its own neighbour
      expect(JSON.parse(p.stdout).accuracy, method).toBe(1);
    }
  });

  it("a model whose preprocessing scale is 5e-324 (valid positive, absurd): exit 2 naming row, column and value", async () => {
    const doc = JSON.parse(readFileSync(model, "utf8"));
    doc.preprocessing.scale[0] = 5e-324;
    const tiny = join(dir, "tiny-scale.json");
    writeFileSync(tiny, JSON.stringify(doc));
    for (const cmd of ["predict", "certify", "attack"]) {
      await rejects(
        [cmd, "--model", tiny, "--train", trainCsv, "--test", testCsv],
        /preprocessing: row 0, column 0: .*scale 5e-324 is not a finite number/,
      );
    }
  });

  it("neighbours labelled with a class the model never saw (predict --train): names the file, row and label", async () => {
    const other = join(dir, "other-classes.csv");
    writeFileSync(other, `${header}\n${rows[0]}\n5.9,3.0,5.1,1.8,unknown-iris\n${rows[60]}\n`);
    await rejects(
      ["predict", "--model", model, "--train", other, "--test", testCsv],
      /other-classes\.csv: data row 2 has label 'unknown-iris', not a class of the model \(setosa, versicolor, virginica\)/,
    );
  });

  it("a model whose L has entries of 1e300 (squared distances overflow): exit 2 naming the query row", async () => {
    const doc = JSON.parse(readFileSync(model, "utf8"));
    doc.metric.L = doc.metric.L.map((r: number[]) => r.map((v) => v * 1e300));
    const huge = join(dir, "huge-L.json");
    writeFileSync(huge, JSON.stringify(doc));
    for (const cmd of ["predict", "certify"]) {
      await rejects(
        [cmd, "--model", huge, "--train", trainCsv, "--test", testCsv],
        /k-NN: query row 0 has a squared distance Infinity to a neighbour \(beyond float64\)/,
      );
    }
  });
});

describe("degenerate data through the CLI", () => {
  it("certify and attack when every training point is the same: bounds are 0 or Infinity, never NaN", async () => {
    const same = join(dir, "same.csv");
    const row = rows[0]!.split(",").slice(0, 4).join(",");
    writeFileSync(
      same,
      `${header}\n${["setosa", "versicolor", "setosa", "versicolor"].map((c) => `${row},${c}`).join("\n")}\n`,
    );
    const c = await cli("certify", "--model", model, "--train", same, "--test", same, "--k", "1", "--json");
    expect(c.code, c.stderr).toBe(0);
    const cert = JSON.parse(c.stdout);
    // the tie rule predicts one class for all; no perturbation changes a prediction among identical neighbours
    for (const pt of cert.points) expect([0, "Infinity"]).toContain(pt.lowerBound);
    expect(c.stdout).not.toMatch(/null|NaN/);
    const a = await cli("attack", "--model", model, "--train", same, "--test", same, "--k", "1", "--json");
    expect(a.code, a.stderr).toBe(0);
    for (const pt of JSON.parse(a.stdout).points) {
      // no adversarial example exists exactly when the bound is Infinity
      expect(pt.adversarialPrediction === null).toBe(pt.norm === "Infinity");
    }
  });

  it("eval where a training split misses a class (a one-member class): exit 2 naming the learner's need", async () => {
    const one = join(dir, "one-member.csv");
    // the one y row lands in the test part of one of the 3 seeded 70/30 splits
    writeFileSync(one, "a,b,label\n1,2,x\n2,3,y\n3,1,x\n4,4,x\n5,5,x\n6,6,x\n7,7,x\n8,8,x\n9,9,x\n10,10,x\n");
    await rejects(
      ["eval", "--data", one, "--methods", "aml", "--splits", "3", "--json"],
      /AML needs at least two classes \(dissimilar pairs\), got 1 class among 7 rows/,
    );
  });
});

describe("label column", () => {
  it("--label naming a column that is absent (fit): lists the columns", async () => {
    await rejects(
      ["fit", "--train", trainCsv, "--label", "class", "--out", join(dir, "m.json")],
      /label column 'class' not found; columns: .*species/,
    );
  });

  it("--label absent in predict: names the column and the file", async () => {
    await rejects(
      ["predict", "--model", model, "--train", trainCsv, "--test", testCsv, "--label", "kind"],
      /train\.csv: label column 'kind' not found/,
    );
  });

  it("a file without a label column (only features, the last one numeric) gives one class per value, rejected", async () => {
    const nolabel = join(dir, "nolabel.csv");
    writeFileSync(nolabel, "a,b\n1,2\n3,2\n");
    await rejects(["fit", "--train", nolabel, "--out", join(dir, "m.json")], /column 'b'.*1 class \('2'\)/);
  });
});

describe("methods and parameters", () => {
  it("unknown method (fit): the message lists the valid ones", async () => {
    await rejects(
      ["fit", "--train", trainCsv, "--method", "svm", "--out", join(dir, "m.json")],
      /unknown method 'svm'; valid methods: .*euclidean.*lmnn/,
    );
  });

  it("unknown method (bench): the message lists the valid ones, no output folder", async () => {
    const out = join(dir, "bench-bad-method");
    await rejects(
      ["bench", "--methods", "euclidean,svm", "--splits", "1", "--out", out, "--quiet"],
      /unknown method 'svm'; valid methods: .*lmnn/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it("unknown parameter of lmnn: lists the valid ones", async () => {
    await rejects(
      ["fit", "--train", trainCsv, "--method", "lmnn", "--param", "gamma=1", "--out", join(dir, "m.json")],
      /unknown parameter 'gamma' for method 'lmnn'; valid parameters: k, mu, maxIter/,
    );
  });

  it("an in-range but absurd ARML learning rate (lr=1e300): a numerical failure naming the epoch and lr, exit 2", async () => {
    await rejects(
      [
        "fit",
        "--train",
        trainCsv,
        "--method",
        "arml",
        "--param",
        "lr=1e300",
        "--param",
        "epochs=3",
        "--out",
        join(dir, "m.json"),
      ],
      /error: numerical failure: ARML loss is NaN at epoch 2: the Adam steps diverged \(lr = 1e\+300/,
    );
  });

  it("an in-range but absurd LMNN-PL margin (tau=1e300): a numerical failure, exit 2, no stack trace", async () => {
    await rejects(
      [
        "fit",
        "--train",
        trainCsv,
        "--method",
        "lmnn-pl",
        "--param",
        "tau=1e300",
        "--out",
        join(dir, "m.json"),
      ],
      /error: numerical failure: the perturbation loss is Infinity/,
    );
  });

  it.each([
    ["k=0", /k = 0 is out of range \[1, inf\]/],
    ["mu=1.5", /mu = 1.5 is out of range \[0, 1\]/],
    ["mu=-0.1", /mu = -0.1 is out of range/],
    ["maxIter=2.5", /maxIter must be an integer, got 2.5/],
    ["mu=abc", /mu must be a finite number, got 'abc'/],
    ["mu=Infinity", /mu must be a finite number, got 'Infinity'/],
    ["k", /--param 'k' must look like method\.name=value/],
  ])("out-of-range or malformed lmnn parameter %s: names it and its range", async (param, msg) => {
    await rejects(
      ["fit", "--train", trainCsv, "--method", "lmnn", "--param", param, "--out", join(dir, "m.json")],
      msg,
    );
  });

  const optionCases: [string[], RegExp][] = [
    [
      ["predict", "--model", model, "--train", trainCsv, "--test", testCsv, "--k", "0"],
      /--k must be an integer ≥ 1, got '0'/,
    ],
    [
      ["predict", "--model", model, "--train", trainCsv, "--test", testCsv, "--k", "2.5"],
      /--k must be an integer ≥ 1, got '2.5'/,
    ],
    [["predict", "--model", model, "--train", trainCsv, "--test", testCsv, "--k", "1000"], /1000/],
    [["fit", "--train", trainCsv, "--seed", "x", "--out", join(dir, "m.json")], /--seed must be an integer/],
    [
      ["fit", "--train", trainCsv, "--preprocess", "pca", "--out", join(dir, "m.json")],
      /unknown preprocessing 'pca'; valid: none, standardize/,
    ],
    [["eval", "--data", trainCsv, "--splits", "0"], /--splits must be an integer ≥ 1, got '0'/],
    [["eval", "--data", trainCsv, "--test-size", "0"], /--test-size must be in \(0, 1\), got '0'/],
    [["certify", "--model", model, "--train", trainCsv, "--test", testCsv, "--radii", "-1"], /radii|-1/],
    [
      ["attack", "--model", model, "--train", trainCsv, "--test", testCsv, "--method", "fgsm"],
      /unknown --method 'fgsm'; valid: /,
    ],
    [
      ["bench", "--splits", "0", "--out", join(dir, "b0"), "--quiet"],
      /--splits must be an integer ≥ 1, got '0'/,
    ],
    [
      ["bench", "--noise", "0.1,-2", "--out", join(dir, "b1"), "--quiet"],
      /--noise must be a comma-separated list of numbers ≥ 0, got '0.1,-2'/,
    ],
    [["bench", "--tune", "cv1:3", "--out", join(dir, "b2"), "--quiet"], /tune|cv1/],
  ];
  for (const [argv, msg] of optionCases) {
    // the title without the temporary paths, so that it is stable
    const shown = argv.filter((a) => !a.startsWith(dir)).join(" ");
    it(`out-of-range option (${shown}): names the option and the value`, async () => {
      await rejects(argv, msg);
    });
  }
});

describe("output paths that cannot be written", () => {
  it("fit --out under a directory that does not exist: names the path, no temporary file", async () => {
    await rejects(
      ["fit", "--train", trainCsv, "--out", join(dir, "no-such-dir", "m.json")],
      /cannot write '.*no-such-dir[/\\]m\.json'/,
    );
  });

  it("fit --out under a regular file (ENOTDIR)", async () => {
    await rejects(
      ["fit", "--train", trainCsv, "--out", join(trainCsv, "m.json")],
      /cannot write '.*train\.csv[/\\]m\.json'/,
    );
  });

  it("fit --out naming an existing directory: the directory is left as it was", async () => {
    const target = join(dir, "a-directory");
    mkdirSync(target, { recursive: true });
    await rejects(["fit", "--train", trainCsv, "--out", target], /cannot write '.*a-directory'/);
    expect(readdirSync(target)).toEqual([]);
  });

  it("attack --out under a regular file: nothing written, the model untouched", async () => {
    const before = readFileSync(model, "utf8");
    await rejects(
      ["attack", "--model", model, "--train", trainCsv, "--test", testCsv, "--out", join(model, "adv.csv")],
      /cannot write '.*model\.json[/\\]adv\.csv'/,
    );
    expect(readFileSync(model, "utf8")).toBe(before);
  });

  it("bench --out under a regular file: names the folder", async () => {
    await rejects(
      ["bench", "--splits", "1", "--methods", "euclidean", "--out", join(trainCsv, "bench"), "--quiet"],
      /cannot create '.*train\.csv[/\\]bench[/\\]cells'/,
    );
  });
});
