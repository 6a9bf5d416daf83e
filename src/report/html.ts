// The self-contained HTML report: tables and figures, the figures rendered to inline SVG by Vega's headless View
// (no canvas, no network, no scripts in the page).
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { type Figure, reportFigures, type VegaLiteSpec } from "./specs.js";
import {
  allTables,
  type ComparisonTable,
  fitTimeMarkdown,
  formatMeanStd,
  marginMarkdown,
  type ResultsDocument,
} from "./tables.js";

/**
 * Renders a Vega-Lite spec to an SVG string with Vega's headless View (renderer "none"; text widths are Vega's
 * estimates, since there is no canvas to measure them).
 *
 * @example
 * const svg = await renderSvg({ data: { values: [{ a: 1 }] }, mark: "point", encoding: { x: { field: "a", type: "quantitative" } } });
 */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const vg = compile(spec as unknown as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(vg), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A figure with its rendered SVG. */
export interface RenderedFigure extends Figure {
  svg: string;
}

/** Renders every figure of {@link reportFigures}. */
export async function renderFigures(doc: ResultsDocument): Promise<RenderedFigure[]> {
  const out: RenderedFigure[] = [];
  for (const f of reportFigures(doc)) out.push({ ...f, svg: await renderSvg(f.spec) });
  return out;
}

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A comparison table as an HTML table (same numbers and marks as the markdown one). */
export function tableHtml(t: ComparisonTable): string {
  const head = `<tr><th>data set</th>${t.methods.map((m) => `<th>${esc(m)}</th>`).join("")}</tr>`;
  const rows = t.datasets.map((ds, d) => {
    const cells = t.entries[d]!.map((e) => {
      if (!e) return "<td>–</td>";
      const s = formatMeanStd(e.mean, e.std);
      const mark = e.outcome === "win" ? " ▲" : e.outcome === "loss" ? " ▼" : "";
      const title = e.p !== undefined ? ` title="Wilcoxon p = ${e.p.toPrecision(3)}"` : "";
      return `<td${title}>${e.best ? `<b>${s}</b>` : s}${mark}</td>`;
    });
    return `<tr><th>${esc(ds)}</th>${cells.join("")}</tr>`;
  });
  const rank = `<tr class="sum"><th>average rank</th>${t.averageRank
    .map((r) => `<td>${Number.isNaN(r) ? "–" : r.toFixed(2)}</td>`)
    .join("")}</tr>`;
  const wtl = t.baseline
    ? `<tr class="sum"><th>W/T/L vs ${esc(t.baseline)}</th>${t.methods
        .map(
          (m, i) =>
            `<td>${m === t.baseline ? "—" : `${t.wtl[i]!.win}/${t.wtl[i]!.tie}/${t.wtl[i]!.loss}`}</td>`,
        )
        .join("")}</tr>`
    : "";
  return `<h3>${esc(t.title)}</h3>\n<table>${head}${rows.join("")}${rank}${wtl}</table>`;
}

function mdTableHtml(md: string): string {
  const lines = md.split("\n");
  const title = lines[0]!.replace(/^### /, "");
  const rows = lines.filter((l) => l.startsWith("|") && !l.startsWith("|---"));
  const cells = (l: string) =>
    l
      .split("|")
      .slice(1, -1)
      .map((c) => c.trim());
  const [head, ...body] = rows;
  return `<h3>${esc(title)}</h3>\n<table><tr>${cells(head ?? "")
    .map((c) => `<th>${esc(c)}</th>`)
    .join("")}</tr>${body
    .map((r) => {
      const [first, ...rest] = cells(r);
      return `<tr><th>${esc(first ?? "")}</th>${rest.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`;
    })
    .join("")}</table>`;
}

const STYLE = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:13px}th,td{border:1px solid #ddd;padding:3px 8px}
td{text-align:right;font-variant-numeric:tabular-nums}tr.sum td,tr.sum th{background:#f6f6f6}
figure{margin:1em 0 2em}figcaption{color:#555;font-size:13px}details{margin:1em 0}code{background:#f3f3f3;padding:0 3px}`;

/**
 * The whole report as one HTML string: protocol, the accuracy, noise and certified tables, fit times, margins, and
 * the figures as inline SVG. No external resources: it opens offline.
 *
 * @example
 * writeFileAtomic("report.html", await reportHtml(doc));
 */
export async function reportHtml(doc: ResultsDocument, figures?: RenderedFigure[]): Promise<string> {
  const figs = figures ?? (await renderFigures(doc));
  const c = doc.config;
  const tables = allTables(doc);
  const [acc, ...rest] = tables;
  const tune = c.tune.candidates > 0 ? `cv${c.tune.folds}:${c.tune.candidates}` : "none (defaults)";
  const parts = [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8"><title>robust-metric results</title>',
    `<style>${STYLE}</style></head><body>`,
    "<h1>robust-metric: results</h1>",
    `<p>Methods: ${esc(doc.methods.join(", "))}. Data sets: ${doc.datasets
      .map((d) => `${esc(d.name)} (${d.n}×${d.d}, ${d.classes} classes)`)
      .join(", ")}.</p>`,
    `<p>Protocol: ${c.nSplits} random splits, test size ${c.testSize}, seed ${c.seed}; preprocessing ${esc(c.preprocess)} fitted on ${c.transductive ? "all rows (transductive)" : "the training part"}; ${c.k}-NN; tuning ${tune}. Mean ± std (%) over splits; best in bold; ▲/▼ significant win/loss against the baseline (paired Wilcoxon signed-rank, 5%).</p>`,
    acc ? tableHtml(acc) : "",
    ...figs.map(
      (f) => `<figure id="fig-${esc(f.id)}">${f.svg}<figcaption>${esc(f.title)}</figcaption></figure>`,
    ),
    "<details><summary>Accuracy under noise and certified accuracy, per level</summary>",
    ...rest.map(tableHtml),
    "</details>",
    mdTableHtml(fitTimeMarkdown(doc)),
    mdTableHtml(marginMarkdown(doc)),
    "</body></html>",
  ];
  return `${parts.join("\n")}\n`;
}
