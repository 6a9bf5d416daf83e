import Papa from "papaparse";
import { RobustMetricError } from "../errors.js";
import { type Dataset, encodeLabels } from "./dataset.js";

/** Options of {@link parseCsv}. */
export interface CsvOptions {
  /** The label column: a header name or a 0-based column index. Default: the last column. */
  label?: string | number;
  /** Name of the data set (reports). */
  name?: string;
}

/**
 * Parses a labelled numeric CSV (papaparse): a header row, numeric feature columns, one label column (any
 * text). Accepts a BOM, CRLF, quoted fields, surrounding spaces and trailing empty lines. Row numbers in errors
 * are the line numbers a user sees in an editor (header = line 1).
 *
 * @throws RobustMetricError BAD_INPUT naming line, column and value for: an empty file or a header without
 *   rows, duplicate or empty header names, an unknown label column, a ragged row, an empty, non-numeric, NaN or
 *   infinite feature cell, an empty label, fewer than 2 classes.
 * @example parseCsv("a,b,label\n1,2,x\n3,4,y\n") // X 2×2, classes ["x", "y"]
 */
export function parseCsv(text: string, opts: CsvOptions = {}): Dataset {
  // papaparse guesses one newline style per file; a file that mixes LF, CRLF and CR (concatenated exports)
  // would have lines merged into one field, so all line ends are made LF first.
  const src = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).replace(/\r\n?/g, "\n");
  const parsed = Papa.parse<string[]>(src, { skipEmptyLines: "greedy", newline: "\n" });
  const quoteErr = parsed.errors.find((e) => e.type === "Quotes");
  if (quoteErr) {
    throw new RobustMetricError("BAD_INPUT", `CSV: ${quoteErr.message} at line ${(quoteErr.row ?? 0) + 1}`);
  }
  const rows = parsed.data;
  if (rows.length === 0)
    throw new RobustMetricError("BAD_INPUT", "CSV is empty: expected a header row and data rows");
  const header = rows[0]!.map((h) => h.trim());
  if (rows.length === 1) throw new RobustMetricError("BAD_INPUT", "CSV has a header but no data rows");
  if (header.length < 2) {
    throw new RobustMetricError(
      "BAD_INPUT",
      `CSV header has ${header.length} column; need at least one feature and a label`,
    );
  }
  const seen = new Map<string, number>();
  header.forEach((h, j) => {
    if (h === "") throw new RobustMetricError("BAD_INPUT", `CSV header: column ${j + 1} has an empty name`);
    const prev = seen.get(h);
    if (prev !== undefined) {
      throw new RobustMetricError(
        "BAD_INPUT",
        `CSV header: duplicate column name '${h}' (columns ${prev + 1} and ${j + 1})`,
      );
    }
    seen.set(h, j);
  });
  const labelCol = resolveLabel(header, opts.label);
  const p = header.length - 1;
  const n = rows.length - 1;
  const X = new Float64Array(n * p);
  const labels: string[] = new Array(n);
  const featureNames = header.filter((_, j) => j !== labelCol);
  // papaparse does not report physical line numbers once empty lines are skipped; count them ourselves.
  const lineOf = physicalLines(src, rows.length);
  for (let i = 0; i < n; i++) {
    const r = rows[i + 1]!;
    const line = lineOf[i + 1]!;
    if (r.length !== header.length) {
      throw new RobustMetricError(
        "BAD_INPUT",
        `CSV line ${line}: ${r.length} fields, the header has ${header.length}`,
      );
    }
    let c = 0;
    for (let j = 0; j < r.length; j++) {
      const cell = r[j]!.trim();
      if (j === labelCol) {
        if (cell === "")
          throw new RobustMetricError("BAD_INPUT", `CSV line ${line}, column '${header[j]}': empty label`);
        labels[i] = cell;
        continue;
      }
      if (cell === "")
        throw new RobustMetricError("BAD_INPUT", `CSV line ${line}, column '${header[j]}': empty cell`);
      // decimal notation only: Number() would also read 0x1F, 0b11 and 0o17
      const v = DECIMAL.test(cell) ? Number(cell) : Number.NaN;
      if (!Number.isFinite(v)) {
        const kind = /^[-+]?nan$/i.test(cell)
          ? "NaN is not allowed"
          : /^[-+]?infinity$/i.test(cell) || !Number.isNaN(v)
            ? "infinite values are not allowed"
            : "not a number";
        throw new RobustMetricError(
          "BAD_INPUT",
          `CSV line ${line}, column '${header[j]}': '${cell}' (${kind})`,
        );
      }
      X[i * p + c++] = v;
    }
  }
  const { y, classes } = encodeLabels(labels, `CSV column '${header[labelCol]}'`);
  return {
    X: { rows: n, cols: p, data: X },
    y,
    classes,
    featureNames,
    ...(opts.name ? { name: opts.name } : {}),
  };
}

/** A decimal number as CSV writers produce it (1, -0.5, .5, 5., 1e-320, +3E+8); unambiguous, so no backtracking. */
const DECIMAL = /^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i;

function resolveLabel(header: string[], label: string | number | undefined): number {
  if (label === undefined) return header.length - 1;
  if (typeof label === "number" || /^\d+$/.test(label)) {
    const j = Number(label);
    if (header[j] !== undefined && (typeof label === "number" || !header.includes(label))) return j;
  }
  const j = header.indexOf(String(label));
  if (j < 0)
    throw new RobustMetricError(
      "BAD_INPUT",
      `label column '${label}' not found; columns: ${header.join(", ")}`,
    );
  return j;
}

/** 1-based physical line numbers of the first `count` non-empty records (no embedded newlines assumed in numbers). */
function physicalLines(text: string, count: number): number[] {
  const out: number[] = [];
  const lines = text.split(/\r\n|\n|\r/);
  let inQuote = false;
  let start = -1;
  for (let i = 0; i < lines.length && out.length < count; i++) {
    const l = lines[i]!;
    if (!inQuote && l.trim() === "") continue;
    if (!inQuote) start = i + 1;
    const quotes = (l.match(/"/g) ?? []).length;
    if (quotes % 2 === 1) inQuote = !inQuote;
    if (!inQuote) out.push(start);
  }
  return out;
}
