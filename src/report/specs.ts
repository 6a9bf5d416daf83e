// Vega-Lite specifications of the report's figures, built from a results document (plain JSON, browser-safe).
import { mean, median, std } from "../eval/stats.js";
import type { ResultsDocument } from "./tables.js";

/** A Vega-Lite specification (plain JSON object). */
export type VegaLiteSpec = Record<string, unknown>;

/** One figure of the report: a file-name-safe id, a caption and its Vega-Lite spec. */
export interface Figure {
  id: string;
  title: string;
  spec: VegaLiteSpec;
}

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

function groups(
  doc: ResultsDocument,
): { dataset: string; method: string; cells: ResultsDocument["cells"] }[] {
  const out = [];
  for (const d of doc.datasets)
    for (const m of doc.methods) {
      const cells = doc.cells.filter((c) => c.dataset === d.name && c.method === m);
      if (cells.length > 0) out.push({ dataset: d.name, method: m, cells });
    }
  return out;
}

function curveSpec(
  title: string,
  xTitle: string,
  rows: Record<string, unknown>[],
  methods: string[],
  columns: number,
): VegaLiteSpec {
  return {
    $schema: SCHEMA,
    title,
    data: { values: rows },
    columns,
    facet: { field: "dataset", type: "nominal", title: null },
    spec: {
      width: 180,
      height: 130,
      layer: [
        {
          mark: { type: "errorband", opacity: 0.15 },
          encoding: {
            x: { field: "x", type: "quantitative", title: xTitle },
            y: { field: "lo", type: "quantitative", title: "accuracy", scale: { zero: false } },
            y2: { field: "hi" },
            // no `legend: null` here: on a shared scale it removes the merged legend of both layers
            color: { field: "method", type: "nominal", sort: methods, title: "method" },
          },
        },
        {
          mark: { type: "line", point: true },
          encoding: {
            x: { field: "x", type: "quantitative", title: xTitle },
            y: { field: "mean", type: "quantitative", title: "accuracy" },
            color: { field: "method", type: "nominal", sort: methods, title: "method" },
          },
        },
      ],
    },
    resolve: { scale: { x: "independent" } },
    // the merged legend takes the band's 0.15 opacity otherwise: solid symbols keep the colours readable
    config: { legend: { symbolOpacity: 1 } },
  };
}

/** Accuracy under Gaussian noise against σ, one panel per data set (mean ± std over splits as a band). */
export function noiseCurveSpec(doc: ResultsDocument, columns = 4): VegaLiteSpec {
  const rows = groups(doc).flatMap((g) =>
    doc.config.noise.map((s, i) => {
      const v = g.cells.map((c) => c.noise.accuracy[i] ?? Number.NaN);
      const m = mean(v);
      const sd = std(v);
      return { dataset: g.dataset, method: g.method, x: s, mean: m, lo: m - sd, hi: m + sd };
    }),
  );
  return curveSpec("Accuracy under Gaussian noise", "noise σ (× feature std)", rows, doc.methods, columns);
}

/** Certified accuracy against the radius, one panel per data set. */
export function certifiedCurveSpec(doc: ResultsDocument, columns = 4): VegaLiteSpec {
  const rows = groups(doc).flatMap((g) =>
    doc.config.radii.map((r, i) => {
      const v = g.cells.map((c) => c.certified.accuracy[i] ?? Number.NaN);
      const m = mean(v);
      const sd = std(v);
      return { dataset: g.dataset, method: g.method, x: r, mean: m, lo: m - sd, hi: m + sd };
    }),
  );
  const kind = doc.config.k === 1 ? "exact 1-NN" : `${doc.config.k}-NN lower bound`;
  return curveSpec(`Certified accuracy (${kind})`, "radius (l2, preprocessed)", rows, doc.methods, columns);
}

/** Median fit seconds per data set and method, grouped bars on a log scale. */
export function fitTimeSpec(doc: ResultsDocument): VegaLiteSpec {
  const rows = groups(doc).map((g) => ({
    dataset: g.dataset,
    method: g.method,
    seconds: Math.max(1e-5, median(g.cells.map((c) => c.fitSeconds))),
  }));
  // bars on a log scale need an explicit base: the decade below the fastest fit
  const floor = 10 ** Math.floor(Math.log10(Math.min(...rows.map((r) => r.seconds), 1)));
  return {
    $schema: SCHEMA,
    title: "Median fit time",
    data: { values: rows },
    width: { step: 14 },
    height: 200,
    mark: "bar",
    encoding: {
      x: { field: "dataset", type: "nominal", title: null },
      xOffset: { field: "method", type: "nominal", sort: doc.methods },
      y: {
        field: "seconds",
        type: "quantitative",
        scale: { type: "log", domainMin: floor },
        title: "seconds (log)",
      },
      y2: { datum: floor },
      color: { field: "method", type: "nominal", sort: doc.methods },
      tooltip: [{ field: "method" }, { field: "seconds", format: ".4f" }],
    },
  };
}

/**
 * The test points of split 1 of one data set under each learned metric, projected on their first two principal
 * components (the cells' `embedding`), one panel per method.
 */
export function embeddingSpec(
  doc: ResultsDocument,
  dataset = doc.datasets[0]?.name,
): VegaLiteSpec | undefined {
  const cells = doc.cells.filter((c) => c.dataset === dataset && c.split === 1 && c.embedding);
  if (cells.length === 0) return undefined;
  const names = doc.datasets.find((d) => d.name === dataset)?.classNames;
  const rows = cells.flatMap((c) =>
    c.embedding!.x.map((x, i) => {
      const code = c.embedding!.label[i]!;
      return { method: c.method, x, y: c.embedding!.y[i], label: names?.[code] ?? String(code) };
    }),
  );
  return {
    $schema: SCHEMA,
    title: `${dataset}: test points of split 1 under each learned metric (first two principal components)`,
    data: { values: rows },
    columns: 4,
    facet: { field: "method", type: "nominal", sort: doc.methods, title: null },
    spec: {
      width: 160,
      height: 160,
      mark: { type: "circle", size: 14, opacity: 0.8 },
      encoding: {
        x: { field: "x", type: "quantitative", title: "PC 1", axis: { labels: false, ticks: false } },
        y: { field: "y", type: "quantitative", title: "PC 2", axis: { labels: false, ticks: false } },
        color: { field: "label", type: "nominal", title: "class" },
      },
    },
    resolve: { scale: { x: "independent", y: "independent" } },
  };
}

/** Every figure of the report, in order. */
export function reportFigures(doc: ResultsDocument): Figure[] {
  const figs: Figure[] = [];
  if (doc.config.noise.length > 0)
    figs.push({ id: "noise", title: "Accuracy under Gaussian noise", spec: noiseCurveSpec(doc) });
  if (doc.config.radii.length > 0)
    figs.push({ id: "certified", title: "Certified accuracy", spec: certifiedCurveSpec(doc) });
  figs.push({ id: "fit-time", title: "Fit time", spec: fitTimeSpec(doc) });
  const emb = embeddingSpec(doc);
  if (emb) figs.push({ id: "embedding", title: "2-D embedding", spec: emb });
  return figs;
}
