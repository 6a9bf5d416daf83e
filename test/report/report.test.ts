import { describe, expect, it } from "vitest";
import type { CellResult } from "../../src/eval/runner.js";
import { DEFAULT_CONFIG } from "../../src/eval/runner.js";
import { wilcoxonSignedRank } from "../../src/eval/wilcoxon.js";
import { renderSvg, reportHtml, tableHtml } from "../../src/report/html.js";
import { svgToPng } from "../../src/report/png.js";
import { certifiedCurveSpec, fitTimeSpec, noiseCurveSpec, reportFigures } from "../../src/report/specs.js";
import {
  averageRanks,
  comparisonTable,
  formatMeanStd,
  type ResultsDocument,
  resultsMarkdown,
  tableMarkdown,
} from "../../src/report/tables.js";

/** A synthetic results document: accuracy(ds, method, split) given by `acc`. */
function doc(acc: (ds: string, m: string, s: number) => number, splits = 6): ResultsDocument {
  const methods = ["euclidean", "lmnn", "lmnn-pl"];
  const datasets = ["d1", "d2"];
  const cells: CellResult[] = [];
  for (const ds of datasets)
    for (const m of methods)
      for (let s = 1; s <= splits; s++) {
        const a = acc(ds, m, s);
        cells.push({
          id: `${ds}.${m}.${s}.0`,
          hash: "0",
          key: {} as CellResult["key"],
          dataset: ds,
          method: m,
          split: s,
          nTrain: 70,
          nTest: 30,
          accuracy: a,
          fitSeconds: 0.01 * (methods.indexOf(m) + 1),
          iterations: 10,
          converged: true,
          params: {},
          noise: { levels: [0, 0.1], accuracy: [a, a - 0.1], std: [0, 0] },
          certified: { radii: [0, 0.1], accuracy: [a - 0.05, a - 0.2], exact: false },
          margin: { mean: 0.1, median: 0.1, triplets: 10, satisfied: 8, infinite: 0 },
          ...(s === 1 ? { embedding: { x: [0, 1, 2], y: [1, 0, 1], label: [0, 1, 1] } } : {}),
          warnings: [],
          seconds: 0.02,
        });
      }
  return {
    version: 1,
    config: { ...DEFAULT_CONFIG, methods, nSplits: splits, noise: [0, 0.1], radii: [0, 0.1] },
    datasets: datasets.map((name) => ({ name, n: 100, d: 3, classes: 2, fingerprint: "x" })),
    methods,
    cells,
  };
}

// lmnn-pl beats lmnn on every split of d1 (Wilcoxon exact p = 2/64), loses on every split of d2; euclidean equals
// lmnn on d1 (all differences zero → p = 1) and differs in sign alternately on d2 (not significant).
const base = (s: number) => 0.7 + 0.01 * s;
const D = doc((ds, m, s) => {
  if (m === "lmnn") return base(s);
  if (m === "lmnn-pl") return ds === "d1" ? base(s) + 0.01 * s : base(s) - 0.02;
  return ds === "d1" ? base(s) : base(s) + (s % 2 ? 0.03 : -0.03);
});

describe("comparisonTable", () => {
  const t = comparisonTable(D, "acc", (c) => c.accuracy);
  it("means, stds, bold, W/T/L by Wilcoxon and the average rank", () => {
    expect(t.baseline).toBe("lmnn");
    const e = t.entries[0]![2]!;
    expect(e.p).toBe(2 / 64);
    expect(e.outcome).toBe("win");
    expect(t.entries[1]![2]!.outcome).toBe("loss");
    expect(t.entries[0]![0]!.p).toBe(1);
    expect(t.entries[1]![0]!.outcome).toBe("tie");
    expect(t.wtl).toEqual([
      { win: 0, tie: 2, loss: 0 },
      { win: 0, tie: 0, loss: 0 },
      { win: 1, tie: 0, loss: 1 },
    ]);
    // d1: lmnn-pl best (rank 1), euclidean = lmnn (2.5 each); d2: euclidean = lmnn in mean (the ±0.03 cancel, 1.5
    // each), lmnn-pl last (3)
    expect(t.entries[0]!.map((x) => x!.best)).toEqual([false, false, true]);
    expect(t.entries[1]!.map((x) => x!.best)).toEqual([true, true, false]);
    expect(t.averageRank).toEqual([2, 2, 2]);
    expect(t.entries[0]![1]!.mean).toBeCloseTo(0.735, 12);
    const md = tableMarkdown(t);
    expect(md).toContain(`**${formatMeanStd(t.entries[0]![2]!.mean, t.entries[0]![2]!.std)}** ▲`);
    expect(md).toContain("| W/T/L vs lmnn | 0/2/0 | — | 1/0/1 |");
    expect(tableHtml(t)).toContain("<b>");
  });

  it("W/T/L is not moved by last-bit differences: equal accuracies tie, equal differences share a rank", () => {
    // accuracies c/231: lmnn-pl is lmnn one ulp off on odd splits (a mean over noise repeats can be); euclidean is
    // lmnn ± one test point, differences equal in value that do not subtract to the same double
    const acc = (s: number) => (115 + s) / 231;
    const U = doc((_ds, m, s) => {
      if (m === "lmnn") return acc(s);
      if (m === "lmnn-pl") return s % 2 ? acc(s) + acc(s) * 2 ** -52 : acc(s);
      return (115 + s + (s <= 4 ? 1 : -1)) / 231;
    });
    const diffs = [1, 2, 3, 4, 5, 6].map((s) => (115 + s + (s <= 4 ? 1 : -1)) / 231 - acc(s));
    expect(new Set(diffs.map(Math.abs)).size).toBeGreaterThan(1); // the doubles really differ
    const u = comparisonTable(U, "acc", (c) => c.accuracy);
    expect(u.entries[0]![2]!.p).toBe(1);
    expect(u.entries[0]![0]!.p).toBe(wilcoxonSignedRank([1, 1, 1, 1, -1, -1], [0, 0, 0, 0, 0, 0]).p);
  });

  it("averageRanks shares ranks among ties", () => {
    expect(averageRanks([3, 1, 3, 2])).toEqual([3.5, 1, 3.5, 2]);
  });

  it("results.md has the accuracy, noise and certified tables", () => {
    const md = resultsMarkdown(D);
    expect(md).toContain("### 3-NN test accuracy (%)");
    expect(md).toContain("### accuracy under Gaussian noise σ = 0.1 (%)");
    expect(md).toContain("### certified accuracy at radius 0.1 (%, 3-NN lower bound)");
    expect(md).toContain("### median fit time");
  });
});

describe("figures", () => {
  it("specs carry the per-(data set, method, level) means", () => {
    const spec = noiseCurveSpec(D) as {
      data: { values: { dataset: string; method: string; x: number; mean: number }[] };
    };
    const row = spec.data.values.find((r) => r.dataset === "d1" && r.method === "lmnn" && r.x === 0.1)!;
    expect(row.mean).toBeCloseTo(0.635, 12);
    expect(spec.data.values).toHaveLength(2 * 3 * 2);
    const ft = fitTimeSpec(D) as { data: { values: { seconds: number }[] } };
    expect(ft.data.values.map((v) => v.seconds)).toEqual([0.01, 0.02, 0.03, 0.01, 0.02, 0.03]);
    expect(reportFigures(D).map((f) => f.id)).toEqual(["noise", "certified", "fit-time", "embedding"]);
  });

  it("renders SVG headlessly, a self-contained HTML page and PNG bytes", async () => {
    const svg = await renderSvg(fitTimeSpec(D));
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("lmnn-pl");
    const html = await reportHtml(D);
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect((html.match(/<svg/g) ?? []).length).toBe(4);
    // self-contained: no scripts, no external resources (only the SVG namespace URI)
    expect(html).not.toMatch(/<script|<link|src=|href="http|url\(http/i);
    const png = svgToPng(svg, 1);
    expect(Array.from(png.subarray(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
  }, 30_000);

  it("the curve figures carry a legend naming every method (a band layer's legend: null used to remove it)", async () => {
    for (const spec of [noiseCurveSpec(D), certifiedCurveSpec(D)]) {
      const svg = await renderSvg(spec);
      const legend = svg.slice(svg.indexOf('class="mark-group role-legend"'));
      expect(legend.length).toBeLessThan(svg.length);
      for (const m of D.methods) expect(legend).toContain(`>${m}<`);
    }
  }, 30_000);
});
