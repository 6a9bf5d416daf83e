import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseCsv } from "../../src/data/csv.js";
import { blobs, iris, moons } from "../../src/data/embedded.js";
import { parseJsonData } from "../../src/data/json-data.js";
import { Preprocessor, parsePreprocessKind } from "../../src/data/preprocess.js";
import { Rng } from "../../src/data/rng.js";
import { kFold, parseSplitsFile, randomSplit, stratifiedSplit, trainCount } from "../../src/data/splits.js";
import { RobustMetricError } from "../../src/errors.js";
import { fromRows } from "../../src/linalg/mat.js";
import { readDataset } from "../../src/node/read.js";

const shared = fileURLToPath(new URL("../../../shared/", import.meta.url));
const hasShared = existsSync(`${shared}datasets/MANIFEST.md`);

function errorOf(fn: () => unknown): RobustMetricError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RobustMetricError);
    return e as RobustMetricError;
  }
  throw new Error("expected an error");
}

describe("parseCsv", () => {
  it("reads features, labels, names; BOM, CRLF, quotes, spaces and trailing blank lines", () => {
    const ds = parseCsv('\ufeff"a", b ,label\r\n1, 2.5 ,"x"\r\n-3e2,4,y\r\n\r\n\n');
    expect(ds.featureNames).toEqual(["a", "b"]);
    expect(Array.from(ds.X.data)).toEqual([1, 2.5, -300, 4]);
    expect(ds.classes).toEqual(["x", "y"]);
    expect(Array.from(ds.y)).toEqual([0, 1]);
  });

  it("label column by name or index; numeric labels sorted numerically", () => {
    const ds = parseCsv("cls,a,b\n10,1,2\n9,3,4\n10,5,6\n", { label: "cls" });
    expect(ds.featureNames).toEqual(["a", "b"]);
    expect(ds.classes).toEqual(["9", "10"]);
    expect(Array.from(ds.y)).toEqual([1, 0, 1]);
    expect(parseCsv("cls,a\nu,1\nv,2\n", { label: 0 }).classes).toEqual(["u", "v"]);
  });

  it.each([
    ["", /empty/],
    ["a,label\n", /no data rows/],
    ["a,a,label\n1,2,x\n3,4,y\n", /duplicate column name 'a' \(columns 1 and 2\)/],
    ["a,b,label\n1,2,x\n3,y\n", /line 3: 2 fields, the header has 3/],
    ["a,b,label\n1,2,x\n3,abc,y\n", /line 3, column 'b': 'abc' \(not a number\)/],
    ["a,b,label\n1,NaN,x\n3,4,y\n", /line 2, column 'b': 'NaN' \(NaN is not allowed\)/],
    ["a,b,label\n1,Infinity,x\n3,4,y\n", /line 2, column 'b': 'Infinity' \(infinite values/],
    ["a,b,label\n1,,x\n3,4,y\n", /line 2, column 'b': empty cell/],
    ["a,b,label\n1,2,x\n\n3,4,\n", /line 4, column 'label': empty label/],
    ["a,b,label\n1,2,x\n3,4,x\n", /1 class \('x'\); at least 2/],
    [",b,label\n1,2,x\n3,4,y\n", /column 1 has an empty name/],
  ])("rejects %j", (text, msg) => {
    const e = errorOf(() => parseCsv(text));
    expect(e.code).toBe("BAD_INPUT");
    expect(e.message).toMatch(msg);
  });

  it("rejects an unknown label column, listing the columns", () => {
    expect(errorOf(() => parseCsv("a,b\n1,x\n2,y\n", { label: "cls" })).message).toMatch(
      /label column 'cls' not found; columns: a, b/,
    );
  });

  it("round-trips random numeric tables (fast-check)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.double({ noNaN: true, noDefaultInfinity: true }),
            fc.double({ noNaN: true, noDefaultInfinity: true }),
            fc.boolean(),
          ),
          {
            minLength: 2,
            maxLength: 30,
          },
        ),
        (rows) => {
          const withBoth = [...rows, [0, 0, true] as const, [0, 0, false] as const];
          const text = `f1,f2,label\n${withBoth.map(([a, b, c]) => `${a},${b},${c ? "yes" : "no"}`).join("\n")}\n`;
          const ds = parseCsv(text);
          return withBoth.every(
            ([a, b, c], i) =>
              ds.X.data[2 * i] === a &&
              ds.X.data[2 * i + 1] === b &&
              ds.classes[ds.y[i]!] === (c ? "yes" : "no"),
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("parseJsonData", () => {
  it("reads {X, y} and ignores other fields", () => {
    const ds = parseJsonData('{"X": [[0, 1], [2, 3], [4, 5]], "y": [1, 0, 1], "splits": []}');
    expect(ds.X.rows).toBe(3);
    expect(ds.classes).toEqual(["0", "1"]);
    expect(Array.from(ds.y)).toEqual([1, 0, 1]);
  });
  it.each([
    ["{", /not valid JSON/],
    ['{"y": [0, 1]}', /field 'X'/],
    ['{"X": [[1], [2]], "y": [0]}', /2 rows but y has 1/],
    ['{"X": [[1, 2], [3]], "y": [0, 1]}', /X\[1\] has 1 values/],
    ['{"X": [[1, "a"], [3, 4]], "y": [0, 1]}', /X\[0\]\[1\] is not a finite number/],
    ['{"X": [[1], [2]], "y": [0, null]}', /y\[1\]/],
    ['{"X": [[1], [2]], "y": [0, 0]}', /at least 2/],
  ])("rejects %s", (text, msg) => {
    expect(errorOf(() => parseJsonData(text)).message).toMatch(msg);
  });
});

describe("Preprocessor", () => {
  const X = fromRows([
    [1, 10, 5],
    [2, 20, 5],
    [3, 60, 5],
    [6, 30, 5],
  ]);
  it("standardize: mean 0, population std 1, constant feature scale 1; unit norm rows", () => {
    const pre = Preprocessor.fit(X, "standardize");
    const Z = pre.apply(X);
    for (let j = 0; j < 2; j++) {
      let m = 0;
      let v = 0;
      for (let i = 0; i < 4; i++) m += Z.data[i * 3 + j]! / 4;
      for (let i = 0; i < 4; i++) v += (Z.data[i * 3 + j]! - m) ** 2 / 4;
      expect(Math.abs(m)).toBeLessThan(1e-15);
      expect(v).toBeCloseTo(1, 14);
    }
    for (let i = 0; i < 4; i++) expect(Z.data[i * 3 + 2]).toBe(0);
    const U = Preprocessor.fit(X, "standardize+unitnorm").apply(X);
    for (let i = 0; i < 4; i++)
      expect(Math.hypot(U.data[i * 3]!, U.data[i * 3 + 1]!, U.data[i * 3 + 2]!)).toBeCloseTo(1, 14);
    const zero = Preprocessor.fit(X, "unitnorm").apply(fromRows([[0, 0, 0]]));
    expect(Array.from(zero.data)).toEqual([0, 0, 0]);
  });
  it("applies training statistics to new rows and round-trips through JSON", () => {
    const pre = Preprocessor.fit(X, "standardize");
    const back = Preprocessor.fromJSON(JSON.parse(JSON.stringify(pre.toJSON())));
    const T = fromRows([[3, 30, 7]]);
    expect(Array.from(back.apply(T).data)).toEqual(Array.from(pre.apply(T).data));
    expect(pre.apply(T).data[0]).toBeCloseTo((3 - 3) / Math.sqrt(3.5), 14);
  });
  it("names the bad field and rejects wrong widths and kinds", () => {
    expect(() => Preprocessor.fromJSON({ kind: "standardize", p: 2, mean: [0, 0], scale: [1, 0] })).toThrow(
      /scale\[1\] must be a positive/,
    );
    expect(() => Preprocessor.fromJSON({ kind: "whiten", p: 2 })).toThrow(/kind must be one of/);
    expect(() => Preprocessor.fit(X, "standardize").apply(fromRows([[1, 2]]))).toThrow(
      /fitted on 3 features, data has 2/,
    );
    expect(() => parsePreprocessKind("pca")).toThrow(
      /valid: none, standardize, unitnorm, standardize\+unitnorm/,
    );
  });
});

describe("splits", () => {
  it("randomSplit: 690 rows at 30 % → 482 / 208 (as the LMNN-PL authors), disjoint, sorted, seeded", () => {
    expect(trainCount(690, 0.3)).toBe(482);
    const s = randomSplit(690, 0.3, new Rng(3));
    expect(s.train.length).toBe(482);
    expect(s.test.length).toBe(208);
    const all = new Set([...s.train, ...s.test]);
    expect(all.size).toBe(690);
    expect(Array.from(s.train)).toEqual(Array.from(s.train).sort((a, b) => a - b));
    expect(Array.from(randomSplit(690, 0.3, new Rng(3)).test)).toEqual(Array.from(s.test));
    expect(Array.from(randomSplit(690, 0.3, new Rng(4)).test)).not.toEqual(Array.from(s.test));
  });
  it("stratifiedSplit keeps class proportions; kFold partitions", () => {
    const y = iris().y;
    const s = stratifiedSplit(y, 0.3, new Rng(0));
    for (let c = 0; c < 3; c++) expect(Array.from(s.train).filter((i) => y[i] === c).length).toBe(35);
    const folds = kFold(150, 5, new Rng(0), { stratify: y });
    const seen = new Int32Array(150);
    for (const f of folds) {
      expect(f.test.length).toBe(30);
      expect(f.train.length).toBe(120);
      for (const i of f.test) seen[i]!++;
      for (let c = 0; c < 3; c++) expect(Array.from(f.test).filter((i) => y[i] === c).length).toBe(10);
    }
    expect(Array.from(seen).every((v) => v === 1)).toBe(true);
    const plain = kFold(11, 3, new Rng(1));
    expect(plain.map((f) => f.test.length).sort()).toEqual([3, 4, 4]);
  });
  it("splits files: order kept, indices validated", () => {
    const s = parseSplitsFile('{"splits": [{"train": [3, 0, 2], "test": [1]}]}', 4);
    expect(Array.from(s[0]!.train)).toEqual([3, 0, 2]);
    expect(() => parseSplitsFile('{"splits": [{"train": [0, 5], "test": [1]}]}', 4)).toThrow(
      /split 1: train index 5 is not a row of 0..3/,
    );
    expect(() => parseSplitsFile('{"splits": [{"train": [0, 1], "test": [1]}]}', 4)).toThrow(
      /row 1 is in both train and test/,
    );
    expect(() => parseSplitsFile('{"splits": []}')).toThrow(/at least one split/);
  });
});

describe("embedded data and Rng", () => {
  it("iris is 150 × 4 with 50 per class", () => {
    const ds = iris();
    expect([ds.X.rows, ds.X.cols]).toEqual([150, 4]);
    expect(ds.classes).toEqual(["setosa", "versicolor", "virginica"]);
    for (let c = 0; c < 3; c++) expect(Array.from(ds.y).filter((v) => v === c).length).toBe(50);
    expect(Array.from(ds.X.data.subarray(0, 4))).toEqual([5.1, 3.5, 1.4, 0.2]);
  });
  it("generators are seeded: same seed, same bits; other seed, other data", () => {
    expect(Array.from(blobs({ seed: 5 }).X.data)).toEqual(Array.from(blobs({ seed: 5 }).X.data));
    expect(Array.from(blobs({ seed: 5 }).X.data)).not.toEqual(Array.from(blobs({ seed: 6 }).X.data));
    const m = moons({ n: 101, noise: 0 });
    expect(m.X.rows).toBe(101);
    for (let i = 0; i < 101; i += 2)
      expect(Math.hypot(m.X.data[2 * i]!, m.X.data[2 * i + 1]!)).toBeCloseTo(1, 12);
    expect(() => blobs({ classes: 1 })).toThrow(/classes must be an integer ≥ 2/);
  });
  it("Rng: uniform in [0, 1), normal moments, ints in range, fork reproducible", () => {
    const r = new Rng(42);
    let s = 0;
    let s2 = 0;
    const N = 20000;
    for (let i = 0; i < N; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    expect(Math.abs(s / N)).toBeLessThan(0.03);
    expect(Math.abs(s2 / N - 1)).toBeLessThan(0.05);
    for (let i = 0; i < 1000; i++) {
      const u = r.uniform();
      expect(u >= 0 && u < 1).toBe(true);
      const k = r.int(-2, 3);
      expect(k >= -2 && k <= 3 && Number.isInteger(k)).toBe(true);
    }
    const a = new Rng(7).fork();
    const b = new Rng(7).fork();
    expect(a.uniform()).toBe(b.uniform());
    expect(() => new Rng(1.5)).toThrow(/integer/);
  });
});

describe.skipIf(!hasShared)("shared data sets (../shared/datasets)", () => {
  it.each([
    ["iris", 150, 4, 3],
    ["wine", 178, 13, 3],
    ["australian", 690, 14, 2],
    ["ecoli", 336, 7, 8],
  ])("%s.csv has the MANIFEST's shape", (name, n, d, c) => {
    const ds = readDataset(`${shared}datasets/${name}.csv`);
    expect([ds.X.rows, ds.X.cols, ds.classes.length]).toEqual([n, d, c]);
    expect(ds.name).toBe(name);
  });
  it("reads the LMNN-PL reference JSON and the frozen iris splits", () => {
    const ds = parseJsonData(readFileSync(`${shared}reference/lmnnpl-australian.json`, "utf8"));
    expect([ds.X.rows, ds.X.cols]).toEqual([690, 14]);
    const splits = parseSplitsFile(readFileSync(`${shared}splits/iris-10x70-30.json`, "utf8"), 150);
    expect(splits).toHaveLength(10);
    expect(splits[0]!.train.length).toBe(105);
  });
});
if (!hasShared) console.warn(`skipping shared-data tests: ${shared}datasets/MANIFEST.md is missing`);
