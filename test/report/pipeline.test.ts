// The proof: the whole bench pipeline end to end on two small embedded data sets (written as CSV files, so
// the file path of the CLI is exercised and nothing depends on ../shared), 2 splits, a tiny candidate set.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Dataset } from "../../src/data/dataset.js";
import { blobs, moons } from "../../src/data/embedded.js";
import { mean, std } from "../../src/eval/stats.js";
import { formatMeanStd, type ResultsDocument } from "../../src/report/tables.js";
import { cli, tempDir } from "../cli/helpers.js";

function toCsv(ds: Dataset): string {
  const lines = [[...ds.featureNames, "label"].join(",")];
  for (let i = 0; i < ds.X.rows; i++) {
    const row = Array.from(ds.X.data.subarray(i * ds.X.cols, (i + 1) * ds.X.cols), (v) => v.toPrecision(17));
    lines.push([...row, ds.classes[ds.y[i]!]!].join(","));
  }
  return `${lines.join("\n")}\n`;
}

/** The rows of the markdown table under `### <title…>`: data set → cell strings. */
function mdTable(md: string, titleStart: string): Map<string, string[]> {
  const start = md.indexOf(`### ${titleStart}`);
  expect(start).toBeGreaterThanOrEqual(0);
  const lines = md.slice(start).split("\n").slice(2);
  const out = new Map<string, string[]>();
  for (const line of lines) {
    if (!line.startsWith("|")) break;
    const cells = line
      .split("|")
      .slice(1, -1)
      .map((s) => s.trim());
    out.set(cells[0]!, cells.slice(1));
  }
  return out;
}

describe("bench end to end", () => {
  const dir = tempDir();
  const a = join(dir, "blobs.csv");
  const b = join(dir, "moons.csv");
  writeFileSync(a, toCsv(blobs({ n: 60, classes: 3, d: 2, overlap: 1.3, noiseFeatures: 1, seed: 2 })));
  writeFileSync(b, toCsv(moons({ n: 50, noise: 0.25, seed: 3 })));
  const out = join(dir, "results");
  const base = [
    "bench",
    "--suite",
    `${a},${b}`,
    "--splits",
    "2",
    "--tune",
    "cv5:2",
    "--noise",
    "0,0.3",
    "--noise-repeats",
    "2",
    "--radii",
    "0,0.1",
    "--param",
    "lmnn.maxIter=40",
    "--param",
    "lmnn-pl.maxIter=40",
    "--out",
    out,
    "--quiet",
  ];
  const cellsDir = join(out, "cells");
  const mtimes = () => new Map(readdirSync(cellsDir).map((f) => [f, statSync(join(cellsDir, f)).mtimeMs]));

  it("runs, writes one file per cell, results.json and results.md whose numbers match the cells", async () => {
    const r = await cli(...base, "--methods", "euclidean,lmnn,lmnn-pl");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("12 cells computed, 0 reused");
    expect(readdirSync(cellsDir).filter((f) => f.endsWith(".json"))).toHaveLength(12);
    const doc = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as ResultsDocument;
    expect(doc.datasets.map((d) => d.name)).toEqual(["blobs", "moons"]);
    expect(doc.cells).toHaveLength(12);
    // tuned methods have a 2-candidate CV record, euclidean none
    for (const c of doc.cells) {
      if (c.method === "euclidean") expect(c.tuning).toBeUndefined();
      else expect(c.tuning!.cvAccuracy).toHaveLength(2);
    }
    const md = readFileSync(join(out, "results.md"), "utf8");
    const acc = mdTable(md, "3-NN test accuracy");
    const noisy = mdTable(md, "accuracy under Gaussian noise σ = 0.3");
    const cert = mdTable(md, "certified accuracy at radius 0.1");
    for (const ds of ["blobs", "moons"]) {
      const means: number[] = [];
      doc.methods.forEach((m, j) => {
        const cells = doc.cells
          .filter((c) => c.dataset === ds && c.method === m)
          .sort((x, y) => x.split - y.split);
        expect(cells.map((c) => c.split)).toEqual([1, 2]);
        const v = cells.map((c) => c.accuracy);
        means.push(mean(v));
        expect(acc.get(ds)![j]!.replace(/\*\*/g, "")).toBe(formatMeanStd(mean(v), std(v)));
        const vn = cells.map((c) => c.noise.accuracy[1]!);
        expect(noisy.get(ds)![j]!.replace(/\*\*/g, "")).toBe(formatMeanStd(mean(vn), std(vn)));
        const vc = cells.map((c) => c.certified.accuracy[1]!);
        expect(cert.get(ds)![j]!.replace(/\*\*/g, "")).toBe(formatMeanStd(mean(vc), std(vc)));
      });
      // best in bold: exactly the methods with the top mean
      const top = Math.max(...means);
      acc.get(ds)!.forEach((s, j) => expect(s.startsWith("**")).toBe(means[j]! >= top - 1e-9));
    }
    // two splits can never be significant: all ties against lmnn
    expect(acc.get("W/T/L vs lmnn")).toEqual(["0/2/0", "—", "0/2/0"]);
    const ranks = acc.get("average rank")!.map(Number);
    expect(ranks.reduce((s, x) => s + x, 0)).toBeCloseTo(6, 10); // 1 + 2 + 3 per data set
  }, 120_000);

  it("a rerun skips every cell and rewrites the same results", async () => {
    const before = mtimes();
    const json = readFileSync(join(out, "results.json"), "utf8");
    const html = join(dir, "report", "report.html");
    const r = await cli(...base, "--methods", "euclidean,lmnn,lmnn-pl", "--report", html, "--png");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("0 cells computed, 12 reused");
    expect(mtimes()).toEqual(before);
    expect(readFileSync(join(out, "results.json"), "utf8")).toBe(json);
    // the report: inline SVG figures and the same table numbers; PNG files next to the results
    const page = readFileSync(html, "utf8");
    expect((page.match(/<svg/g) ?? []).length).toBe(4);
    const md = readFileSync(join(out, "results.md"), "utf8");
    for (const cell of mdTable(md, "3-NN test accuracy").get("moons")!)
      expect(page).toContain(cell.replace(/\*\*/g, ""));
    for (const f of ["noise", "certified", "fit-time", "embedding"])
      expect(statSync(join(out, "figures", `${f}.png`)).size).toBeGreaterThan(1000);
  }, 60_000);

  it("a changed method list computes only the new cells; a changed parameter only that method's", async () => {
    const before = mtimes();
    const r = await cli(...base, "--methods", "euclidean,lmnn,lmnn-pl,gmml");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("4 cells computed, 12 reused");
    const after = mtimes();
    for (const [f, t] of before) expect(after.get(f)).toBe(t);
    expect([...after.keys()].filter((f) => !before.has(f)).every((f) => f.includes(".gmml."))).toBe(true);
    const doc = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as ResultsDocument;
    expect(doc.methods).toEqual(["euclidean", "lmnn", "lmnn-pl", "gmml"]);
    const changed = base.map((x) => (x === "lmnn.maxIter=40" ? "lmnn.maxIter=41" : x));
    const r2 = await cli(...changed, "--methods", "euclidean,lmnn,lmnn-pl");
    expect(r2.stdout).toContain("4 cells computed, 8 reused");
    const fresh = [...mtimes().keys()].filter((f) => !after.has(f));
    expect(fresh).toHaveLength(4);
    expect(fresh.every((f) => f.includes(".lmnn."))).toBe(true);
  }, 120_000);

  it("bad options exit with code 2 and a clear message", async () => {
    const r = await cli("bench", "--suite", "nosuch", "--out", join(dir, "x"), "--quiet");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown suite 'nosuch'/);
    const t = await cli("bench", "--suite", a, "--tune", "cv5", "--out", join(dir, "x"), "--quiet");
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(/--tune must be/);
  });
});

describe("demo showcase", () => {
  const dir = tempDir();
  it("prints the comparison table and writes report.html with the same accuracies", async () => {
    const r = await cli("demo", "--splits", "2", "--out", dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/iris\s+lmnn-pl\s+\d+\.\d ± \d+\.\d/);
    const doc = JSON.parse(readFileSync(join(dir, "results.json"), "utf8")) as ResultsDocument;
    expect(doc.methods).toEqual(["euclidean", "lmnn", "lmnn-pl", "aml"]);
    const page = readFileSync(join(dir, "report.html"), "utf8");
    const iris = doc.cells.filter((c) => c.dataset === "iris" && c.method === "lmnn").map((c) => c.accuracy);
    expect(page).toContain(formatMeanStd(mean(iris), std(iris)));
    expect((page.match(/<svg/g) ?? []).length).toBe(4);
  }, 60_000);
});

describe("suites", () => {
  it("--only selects data sets of a suite and names the unknown ones", async () => {
    const { resolveSuite } = await import("../../src/cli/bench.js");
    expect(resolveSuite("embedded", ".", "iris").map((d) => d.name)).toEqual(["iris"]);
    expect(() => resolveSuite("uci16", "/nonexistent", "nosuch")).toThrow(/nosuch not in the suite/);
    expect(() => resolveSuite("uci16", "/nonexistent", "iris")).toThrow(/missing \/nonexistent\/iris\.csv/);
  });
});
