// Paper-style comparison tables from the runner's cells: mean ± std per (data set, method), best in bold, average
// rank, and win/tie/loss against a baseline by the paired Wilcoxon signed-rank test.
import type { CellResult, DatasetInfo, ExperimentConfig } from "../eval/runner.js";
import { mean, median, std } from "../eval/stats.js";
import { wilcoxonSignedRank } from "../eval/wilcoxon.js";

/** The `results.json` document written by `robust-metric bench`. */
export interface ResultsDocument {
  version: number;
  config: ExperimentConfig;
  datasets: DatasetInfo[];
  methods: string[];
  cells: CellResult[];
}

/** One (data set, method) entry of a {@link ComparisonTable}. */
export interface TableEntry {
  /** Per-split values (ordered by split). */
  values: number[];
  splits: number[];
  mean: number;
  std: number;
  best: boolean;
  /** Against the baseline: "win" | "tie" | "loss"; undefined for the baseline itself or a missing baseline. */
  outcome?: "win" | "tie" | "loss";
  /** Two-sided Wilcoxon p-value against the baseline. */
  p?: number;
}

/** A comparison table: rows = data sets, columns = methods. */
export interface ComparisonTable {
  title: string;
  datasets: string[];
  methods: string[];
  baseline: string | undefined;
  /** entries[d][m]; undefined where no cell exists. */
  entries: (TableEntry | undefined)[][];
  /** Average rank of each method over the data sets where every method has a value (1 = best). */
  averageRank: number[];
  /** Win/tie/loss counts of each method against the baseline. */
  wtl: { win: number; tie: number; loss: number }[];
}

/** Significance level of the win/tie/loss counts. */
export const SIGNIFICANCE_LEVEL = 0.05;

/**
 * Builds a comparison table of a per-cell quantity. Per data set, the best mean (within 1e−9) is marked; ranks
 * are 1 for the highest mean, ties share the average rank; the average rank is over the data sets where every
 * method has cells. A method wins against the baseline on a data set when the paired (by split) two-sided
 * Wilcoxon signed-rank test gives p < 0.05 and its mean is higher, loses when p < 0.05 and its mean is lower,
 * ties otherwise (with 5 or fewer splits no difference can reach 5%, so everything ties).
 *
 * @param value the quantity of a cell (higher is better), e.g. `(c) => c.accuracy`.
 * @param baseline the method compared against ("lmnn" when present, else the first method).
 * @example
 * comparisonTable(doc, "3-NN accuracy", (c) => c.accuracy).averageRank;
 */
export function comparisonTable(
  doc: ResultsDocument,
  title: string,
  value: (c: CellResult) => number,
  baseline: string | undefined = defaultBaseline(doc.methods),
): ComparisonTable {
  const datasets = doc.datasets.map((d) => d.name);
  const methods = doc.methods;
  const byKey = new Map<string, CellResult[]>();
  for (const c of doc.cells) {
    const k = `${c.dataset}\u0000${c.method}`;
    const list = byKey.get(k) ?? [];
    list.push(c);
    byKey.set(k, list);
  }
  const entries = datasets.map((ds) =>
    methods.map((m): TableEntry | undefined => {
      const cells = (byKey.get(`${ds}\u0000${m}`) ?? []).slice().sort((a, b) => a.split - b.split);
      if (cells.length === 0) return undefined;
      const values = cells.map(value);
      return { values, splits: cells.map((c) => c.split), mean: mean(values), std: std(values), best: false };
    }),
  );
  const b = baseline === undefined ? -1 : methods.indexOf(baseline);
  const wtl = methods.map(() => ({ win: 0, tie: 0, loss: 0 }));
  const rankSums = methods.map(() => 0);
  let ranked = 0;
  for (const row of entries) {
    const present = row.filter((e): e is TableEntry => e !== undefined);
    if (present.length === 0) continue;
    const top = Math.max(...present.map((e) => e.mean));
    for (const e of present) e.best = e.mean >= top - TIE_TOL;
    if (present.length === methods.length) {
      ranked++;
      const ranks = averageRanks(row.map((e) => -e!.mean));
      ranks.forEach((r, m) => {
        rankSums[m] = rankSums[m]! + r;
      });
    }
    const base = b >= 0 ? row[b] : undefined;
    if (!base) continue;
    row.forEach((e, m) => {
      if (!e || m === b) return;
      const bx: number[] = [];
      const ex: number[] = [];
      e.splits.forEach((s, i) => {
        const j = base.splits.indexOf(s);
        if (j >= 0) {
          ex.push(e.values[i]!);
          bx.push(base.values[j]!);
        }
      });
      if (ex.length === 0) return;
      // differences in units of TIE_TOL: accuracies are ratios of counts, and two computed the same way need not
      // subtract to the same double (0.96 − 0.95 ≠ 0.97 − 0.96 in the last bit; a mean over noise repeats is an
      // ulp off the clean accuracy), so rounding makes equal differences tie and equal values give exact zeros
      const diff = ex.map((v, i) => Math.round((v - bx[i]!) / TIE_TOL));
      const p = wilcoxonSignedRank(diff, new Array<number>(diff.length).fill(0)).p;
      const outcome = p < SIGNIFICANCE_LEVEL ? (mean(ex) > mean(bx) ? "win" : "loss") : "tie";
      e.p = p;
      e.outcome = outcome;
      wtl[m]![outcome]++;
    });
  }
  return {
    title,
    datasets,
    methods,
    baseline: b >= 0 ? baseline : undefined,
    entries,
    averageRank: rankSums.map((s) => (ranked > 0 ? s / ranked : Number.NaN)),
    wtl,
  };
}

/** "lmnn" when it is among the methods (the papers' baseline), else the first method. */
export function defaultBaseline(methods: string[]): string | undefined {
  return methods.includes("lmnn") ? "lmnn" : methods[0];
}

/**
 * Tolerance under which two means count as equal (bold, ranks): accuracies are multiples of 1/n_test, so real
 * differences are far larger, while the same accuracy reached through different sums can differ in the last bit.
 */
export const TIE_TOL = 1e-9;

/** Ranks of values, ascending (1 = smallest); values within {@link TIE_TOL} of the first of a run share its average rank. */
export function averageRanks(values: number[]): number[] {
  const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Array<number>(values.length).fill(0);
  for (let s = 0; s < order.length; ) {
    let e = s + 1;
    while (e < order.length && values[order[e]!]! - values[order[s]!]! <= TIE_TOL) e++;
    for (let q = s; q < e; q++) ranks[order[q]!] = (s + 1 + e) / 2;
    s = e;
  }
  return ranks;
}

/** "85.23 ± 1.20" for fractions (percent, two decimals); the format results.md uses. */
export function formatMeanStd(m: number, s: number): string {
  return `${(100 * m).toFixed(2)} ± ${(100 * s).toFixed(2)}`;
}

/**
 * A comparison table as markdown: one row per data set (best in bold, ▲/▼ after a significant win/loss against
 * the baseline), then the average rank and the W/T/L row.
 */
export function tableMarkdown(t: ComparisonTable): string {
  const head = `| data set | ${t.methods.join(" | ")} |`;
  const sep = `|---|${t.methods.map(() => "---:").join("|")}|`;
  const rows = t.datasets.map((ds, d) => {
    const cells = t.entries[d]!.map((e) => {
      if (!e) return "–";
      const s = formatMeanStd(e.mean, e.std);
      const mark = e.outcome === "win" ? " ▲" : e.outcome === "loss" ? " ▼" : "";
      return (e.best ? `**${s}**` : s) + mark;
    });
    return `| ${ds} | ${cells.join(" | ")} |`;
  });
  const rank = `| average rank | ${t.averageRank.map((r) => (Number.isNaN(r) ? "–" : r.toFixed(2))).join(" | ")} |`;
  const wtl = t.baseline
    ? `| W/T/L vs ${t.baseline} | ${t.methods
        .map((m, i) => (m === t.baseline ? "—" : `${t.wtl[i]!.win}/${t.wtl[i]!.tie}/${t.wtl[i]!.loss}`))
        .join(" | ")} |`
    : undefined;
  return [`### ${t.title}`, "", head, sep, ...rows, rank, ...(wtl ? [wtl] : [])].join("\n");
}

/** All tables of a results document: accuracy, accuracy under each noise level, certified accuracy per radius. */
export function allTables(doc: ResultsDocument): ComparisonTable[] {
  const k = doc.config.k;
  const tables = [comparisonTable(doc, `${k}-NN test accuracy (%)`, (c) => c.accuracy)];
  doc.config.noise.forEach((s, i) => {
    tables.push(
      comparisonTable(
        doc,
        `accuracy under Gaussian noise σ = ${s} (%)`,
        (c) => c.noise.accuracy[i] ?? Number.NaN,
      ),
    );
  });
  doc.config.radii.forEach((r, i) => {
    tables.push(
      comparisonTable(
        doc,
        `certified accuracy at radius ${r} (%, ${k === 1 ? "exact 1-NN" : `${k}-NN lower bound`})`,
        (c) => c.certified.accuracy[i] ?? Number.NaN,
      ),
    );
  });
  return tables;
}

/** Median fit seconds, iterations and converged counts per (data set, method), as markdown. */
export function fitTimeMarkdown(doc: ResultsDocument): string {
  const head = `| data set | ${doc.methods.join(" | ")} |`;
  const sep = `|---|${doc.methods.map(() => "---:").join("|")}|`;
  const rows = doc.datasets.map((d) => {
    const cells = doc.methods.map((m) => {
      const cs = doc.cells.filter((c) => c.dataset === d.name && c.method === m);
      if (cs.length === 0) return "–";
      const conv = cs.filter((c) => c.converged).length;
      return `${median(cs.map((c) => c.fitSeconds)).toFixed(3)} s (${conv}/${cs.length})`;
    });
    return `| ${d.name} | ${cells.join(" | ")} |`;
  });
  return ["### median fit time (converged / cells)", "", head, sep, ...rows].join("\n");
}

/** Mean adversarial margin of the training triplets per (data set, method), as markdown. */
export function marginMarkdown(doc: ResultsDocument): string {
  const t = comparisonTable(doc, "", (c) => c.margin.mean);
  const head = `| data set | ${doc.methods.join(" | ")} |`;
  const sep = `|---|${doc.methods.map(() => "---:").join("|")}|`;
  const rows = t.datasets.map(
    (ds, d) => `| ${ds} | ${t.entries[d]!.map((e) => (e ? e.mean.toFixed(4) : "–")).join(" | ")} |`,
  );
  return [
    "### mean adversarial margin of the training triplets (preprocessed units)",
    "",
    head,
    sep,
    ...rows,
  ].join("\n");
}

/** The whole results.md: configuration, then every table. */
export function resultsMarkdown(doc: ResultsDocument): string {
  const c = doc.config;
  const tune = c.tune.candidates > 0 ? `cv${c.tune.folds}:${c.tune.candidates}` : "none (defaults)";
  const lines = [
    "# Results",
    "",
    `Methods: ${doc.methods.join(", ")}. Data sets: ${doc.datasets.map((d) => `${d.name} (${d.n}×${d.d}, ${d.classes} classes)`).join(", ")}.`,
    "",
    `Protocol: ${c.nSplits} random splits, test size ${c.testSize}, seed ${c.seed}; preprocessing ${c.preprocess} fitted on ${c.transductive ? "all rows (transductive)" : "the training part"}; ${c.k}-NN; tuning ${tune}; noise levels ${c.noise.join(", ")} (× feature std, ${c.noiseRepeats} repeats); radii ${c.radii.join(", ")} (Euclidean, preprocessed space).`,
    "",
    `Mean ± std over splits (std with N − 1). Best per row in **bold**. ▲/▼: significantly better/worse than the baseline by a paired two-sided Wilcoxon signed-rank test at ${SIGNIFICANCE_LEVEL * 100}% (W/T/L counts these per data set).`,
    "",
  ];
  for (const t of allTables(doc)) lines.push(tableMarkdown(t), "");
  lines.push(fitTimeMarkdown(doc), "", marginMarkdown(doc), "");
  return lines.join("\n");
}
