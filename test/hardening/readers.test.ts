// Hostile input for the data readers: whatever text or bytes come in, parseCsv and parseJsonData either return a
// data set that is finite and consistent, or throw a RobustMetricError (never another error type, never a hang).
// The reader cases with fixed text and the numeric round trip live in test/data/data.test.ts.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseCsv } from "../../src/data/csv.js";
import type { Dataset } from "../../src/data/dataset.js";
import { parseJsonData } from "../../src/data/json-data.js";
import { RobustMetricError } from "../../src/errors.js";

/** Asserts the invariants of a returned data set; returns a failure description or "" when they hold. */
function inconsistency(ds: Dataset): string {
  const { X, y, classes, featureNames } = ds;
  if (X.rows < 1 || X.cols < 1) return `empty shape ${X.rows}×${X.cols}`;
  if (X.data.length !== X.rows * X.cols) return `data length ${X.data.length} ≠ ${X.rows}×${X.cols}`;
  if (y.length !== X.rows) return `${y.length} labels for ${X.rows} rows`;
  if (featureNames.length !== X.cols) return `${featureNames.length} names for ${X.cols} columns`;
  if (new Set(featureNames).size !== featureNames.length) return "duplicate feature names";
  if (classes.length < 2) return `${classes.length} classes`;
  if (new Set(classes).size !== classes.length) return "duplicate classes";
  for (let i = 0; i < X.data.length; i++) if (!Number.isFinite(X.data[i]!)) return `X.data[${i}] not finite`;
  const used = new Set<number>();
  for (let i = 0; i < y.length; i++) {
    const c = y[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= classes.length) return `y[${i}] = ${c} out of range`;
    used.add(c);
  }
  if (used.size !== classes.length) return "a class without rows";
  return "";
}

type Outcome = { ok: true; ds: Dataset } | { ok: false; error: RobustMetricError };

/** Runs a reader; any error that is not a RobustMetricError BAD_INPUT fails the test with the input quoted. */
function outcome(read: (s: string) => Dataset, text: string): Outcome {
  try {
    const ds = read(text);
    const why = inconsistency(ds);
    if (why) throw new Error(`accepted ${JSON.stringify(text)} but ${why}`);
    return { ok: true, ds };
  } catch (e) {
    if (e instanceof RobustMetricError && e.code === "BAD_INPUT" && e.message.length > 0)
      return { ok: false, error: e };
    throw new Error(`input ${JSON.stringify(text)} threw ${String(e)}`);
  }
}

const utf8 = new TextDecoder("utf-8");

// Tokens that stress the CSV reader: extreme and odd numbers, quoting, unicode, BOMs, empties.
const cellToken = fc.oneof(
  fc.constantFrom(
    "1e308",
    "-1e308",
    "1.7976931348623157e308",
    "1e309",
    "-1e309",
    "1e-320",
    "5e-324",
    "-0",
    "0",
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "0x1F",
    "1_000",
    "１",
    " 3 ",
    '"4"',
    '" 5 "',
    '""',
    '"a""b"',
    '"x,y"',
    '"line\nbreak"',
    '"',
    "é",
    "😀",
    "\u0000",
    "\ufeff",
    "",
    "label",
  ),
  fc.double().map(String),
  fc.string({ maxLength: 6 }),
  fc.string({ unit: "binary", maxLength: 4 }),
);
// Mostly-valid tables (numbers, then a label from a small set) with one hostile token at a random place, so
// that a good share of the inputs is accepted and the success branch of the property is exercised too.
const numberToken = fc.oneof(
  fc.constantFrom("1e308", "-1e308", "1e-320", "5e-324", "-0", "0", " 7 ", '"8"'),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
);
const nearValidRows = fc
  .tuple(
    fc.integer({ min: 1, max: 4 }),
    fc.integer({ min: 2, max: 6 }),
    fc.infiniteStream(numberToken),
    fc.infiniteStream(fc.constantFrom("a", "b", "é", "😀", '"c,d"')),
    fc.option(fc.tuple(fc.nat(7), fc.nat(5), cellToken), { freq: 2 }),
  )
  .map(([p, n, nums, labels, hostile]) => {
    const rows = [[...Array.from({ length: p }, (_, j) => `f${j}`), "label"]];
    for (let i = 0; i < n; i++) {
      const r: string[] = [];
      for (let j = 0; j < p; j++) r.push(nums.next().value);
      r.push(i < 2 ? ["a", "b"][i]! : labels.next().value);
      rows.push(r);
    }
    if (hostile) {
      const [i, j, tok] = hostile;
      const row = rows[i % rows.length]!;
      row[j % row.length] = tok;
    }
    return rows;
  });
const csvLike = fc
  .record({
    bom: fc.boolean(),
    sep: fc.constantFrom(",", ",", ",", ";", "\t", ", "),
    eol: fc.constantFrom("\n", "\r\n", "\r"),
    rows: fc.oneof(
      fc.array(fc.array(cellToken, { minLength: 0, maxLength: 5 }), { minLength: 0, maxLength: 7 }),
      nearValidRows,
    ),
    blankAt: fc.array(fc.nat(8), { maxLength: 3 }),
  })
  .map(({ bom, sep, eol, rows, blankAt }) => {
    const lines = rows.map((r) => r.join(sep));
    for (const b of blankAt) lines.splice(Math.min(b, lines.length), 0, b % 2 ? "" : "   ");
    return (bom ? "\ufeff" : "") + lines.join(eol);
  });

describe("parseCsv on hostile text (fast-check)", () => {
  it("arbitrary unicode strings: a consistent finite data set or a RobustMetricError", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 120 }), (s) => {
        outcome(parseCsv, s);
      }),
      { numRuns: 400 },
    );
  });

  it("arbitrary bytes decoded as UTF-8 (invalid sequences become U+FFFD)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        outcome(parseCsv, utf8.decode(bytes));
      }),
      { numRuns: 400 },
    );
  });

  it("CSV-shaped text: quoting, BOM, CRLF/CR, separators, empty lines, extreme numbers", () => {
    let accepted = 0;
    fc.assert(
      fc.property(csvLike, (s) => {
        if (outcome(parseCsv, s).ok) accepted++;
      }),
      { numRuns: 1500 },
    );
    // the generator must also produce files the reader accepts, or the property says nothing about them
    expect(accepted).toBeGreaterThan(0);
  });

  it("the label column option with arbitrary names and indices never crashes", () => {
    fc.assert(
      fc.property(
        csvLike,
        fc.oneof(
          fc.string({ maxLength: 5 }),
          fc.integer({ min: -3, max: 8 }),
          fc.constantFrom("0", "1", "-1"),
        ),
        (s, label) => {
          outcome((t) => parseCsv(t, { label }), s);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("valid files with extreme numbers, BOM, CRLF, quotes, spaces and empty lines read back exactly", () => {
    const num = fc.oneof(
      fc.constantFrom("1e308", "-1e308", "1e-320", "5e-324", "-0", "0", "-1.7976931348623157e308"),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(num, num, fc.constantFrom("é", "😀 b", "x,y", 'q"q', "1", "-0")), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.boolean(),
        fc.constantFrom("\n", "\r\n"),
        fc.boolean(),
        fc.boolean(),
        (rows, bom, eol, quote, blank) => {
          const all = [...rows, ["1", "2", "other"] as [string, string, string]];
          const q = (s: string) => (quote || /[",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
          // spaces around unquoted values only: a quote after a space is a literal character in CSV
          const pad = quote ? "" : " ";
          const body = all.map(([a, b, c]) => `${q(a)},${pad}${q(b)}${pad},${q(c)}`);
          const lines = ["α,β,label", ...body.flatMap((l) => (blank ? [l, ""] : [l]))];
          const ds = parseCsv((bom ? "\ufeff" : "") + lines.join(eol) + eol);
          expect(inconsistency(ds)).toBe("");
          expect(ds.featureNames).toEqual(["α", "β"]);
          expect(ds.X.rows).toBe(all.length);
          all.forEach(([a, b, c], i) => {
            // Object.is: -0 stays -0, 1e-320 stays subnormal
            expect(Object.is(ds.X.data[2 * i], Number(a))).toBe(true);
            expect(Object.is(ds.X.data[2 * i + 1], Number(b))).toBe(true);
            expect(ds.classes[ds.y[i]!]).toBe(c);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it("mixed line endings (LF, CRLF, CR in one file): one row per non-empty line, none merged", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -99, max: 99 }), fc.constantFrom("a", "b")), {
          minLength: 1,
          maxLength: 10,
        }),
        fc.infiniteStream(fc.constantFrom("\n", "\r\n", "\r", "\n\n", "\r\n\r\n")),
        (rows, eols) => {
          const all: [number, string][] = [...rows, [0, "a"], [1, "b"]];
          let text = `v,label${eols.next().value}`;
          for (const [v, l] of all) text += `${v},${l}${eols.next().value}`;
          const ds = parseCsv(text);
          expect(ds.X.rows).toBe(all.length);
          expect(Array.from(ds.X.data)).toEqual(all.map(([v]) => v));
          expect(ds.classes).toEqual(["a", "b"]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a CRLF file with one bare LF line does not swallow that line into a label", () => {
    const ds = parseCsv("a,label\r\n1,x\n2,y\r\n3,y\r\n");
    expect(Array.from(ds.X.data)).toEqual([1, 2, 3]);
    expect(ds.classes).toEqual(["x", "y"]);
  });

  it.each([
    ["0x1F", "hexadecimal"],
    ["0b11", "binary"],
    ["0o17", "octal"],
    ["1_000", "digit separators"],
  ])("rejects the non-decimal numeral %s (%s) instead of reading it as a number", (cell) => {
    const r = outcome(parseCsv, `a,label\n${cell},x\n2,y\n`);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(`line 2, column 'a': '${cell}' (not a number)`);
  });

  it("a 200 000-digit cell (valid, or with a bad last character) is read or rejected without backtracking", () => {
    const digits = "9".repeat(200_000);
    expect(outcome(parseCsv, `a,label\n${digits}.5x,x\n2,y\n`).ok).toBe(false);
    // 10^200000 overflows to Infinity: rejected as infinite, naming the cell
    const r = outcome(parseCsv, `a,label\n${digits},x\n2,y\n`);
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.error.message).toMatch(/line 2, column 'a': '9{10}.*\(infinite values are not allowed\)/);
  });

  it("accepts every decimal spelling JavaScript and CSV writers produce: .5, 5., +3, 1E3, 1e+3, -0.0", () => {
    const ds = parseCsv("a,label\n.5,x\n5.,y\n+3,x\n1E3,y\n1e+3,x\n-0.0,y\n");
    expect(Array.from(ds.X.data)).toEqual([0.5, 5, 3, 1000, 1000, -0]);
    expect(Object.is(ds.X.data[5], -0)).toBe(true);
  });

  it.each([
    ["1e309 (overflows to Infinity)", "a,label\n1e309,x\n1,y\n", /line 2, column 'a': '1e309' \(infinite/],
    ["-1e309", "a,label\n1,x\n-1e309,y\n", /line 3, column 'a': '-1e309' \(infinite/],
    ["an unterminated quote", 'a,label\n"1,x\n2,y\n', /Quote|quote/],
    ["a lone BOM", "\ufeff", /empty/],
    ["only empty lines", "\r\n\r\n  \n", /empty/],
    ["a NUL byte in a number", "a,label\n1\u0000,x\n2,y\n", /line 2, column 'a'/],
    ["a full-width digit", "a,label\n１,x\n2,y\n", /line 2, column 'a': '１' \(not a number\)/],
  ])("names the line, column and value: %s", (_what, text, msg) => {
    const r = outcome(parseCsv, text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(msg);
  });
});

// JSON documents close to the expected {X, y} shape, with values of every JSON type in every position.
const jsonValue = fc.oneof(
  fc.constantFrom(0, -0, 1, 1e308, -1e308, 5e-324, 1e-320, 0.5, "1", "", "a", null, true, false, [], {}),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const jsonRow = fc.oneof(
  fc.array(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), jsonValue), {
    minLength: 0,
    maxLength: 3,
  }),
  jsonValue,
);
const nearMissDoc = fc
  .record(
    {
      X: fc.oneof(fc.array(jsonRow, { maxLength: 5 }), jsonValue),
      y: fc.oneof(
        fc.array(fc.oneof(fc.constantFrom(0, 1, 2, "a", "b"), jsonValue), { maxLength: 5 }),
        jsonValue,
      ),
      featureNames: fc.oneof(fc.array(fc.oneof(fc.string({ maxLength: 3 }), jsonValue), { maxLength: 3 })),
    },
    { requiredKeys: [] },
  )
  .map((d) => JSON.stringify(d));
// valid documents with extreme values, with one field or cell replaced by an arbitrary JSON value
const finite = fc.oneof(
  fc.constantFrom(1e308, -1e308, 5e-324, 1e-320, -0),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const mutatedValidDoc = fc
  .tuple(
    fc.array(fc.tuple(finite, finite), { minLength: 2, maxLength: 6 }),
    fc.option(fc.tuple(fc.constantFrom("X", "y", "featureNames", "cell", "row"), fc.nat(6), jsonValue), {
      freq: 2,
    }),
  )
  .map(([rows, mutation]) => {
    const doc: Record<string, unknown> = {
      X: rows,
      y: rows.map((_, i) => (i % 2 ? "b" : 0)),
      featureNames: ["u", "v"],
    };
    if (mutation) {
      const [where, i, v] = mutation;
      if (where === "cell") (rows[i % rows.length] as unknown[])[i % 2] = v;
      else if (where === "row") (rows as unknown[])[i % rows.length] = v;
      else doc[where] = v;
    }
    return JSON.stringify(doc);
  });
const jsonDoc = fc.oneof(nearMissDoc, mutatedValidDoc);

describe("parseJsonData on hostile text (fast-check)", () => {
  it("arbitrary unicode strings", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 120 }), (s) => {
        outcome(parseJsonData, s);
      }),
      { numRuns: 400 },
    );
  });

  it("arbitrary bytes decoded as UTF-8, with and without a BOM", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, bom) => {
        outcome(parseJsonData, (bom ? "\ufeff" : "") + utf8.decode(bytes));
      }),
      { numRuns: 400 },
    );
  });

  it("arbitrary JSON values (fc.json) and near-miss {X, y, featureNames} documents", () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(fc.json(), jsonDoc), (s) => {
        if (outcome(parseJsonData, s).ok) accepted++;
      }),
      { numRuns: 1500 },
    );
    expect(accepted).toBeGreaterThan(0);
  });

  it("truncations of a valid document are all rejected with BAD_INPUT, never accepted half-read", () => {
    const text =
      '\ufeff{"X": [[1e308, -0], [1e-320, 2], [3, 4]], "y": ["a", "b", 1], "featureNames": ["u", "v"]}';
    const ds = outcome(parseJsonData, text);
    expect(ds.ok).toBe(true);
    for (let cut = 0; cut < text.length - 1; cut++) {
      expect(outcome(parseJsonData, text.slice(0, cut)).ok, `cut at ${cut}`).toBe(false);
    }
  });

  it("keeps extreme values exactly (1e308, −0, subnormal 1e−320) and rejects 1e400 naming the cell", () => {
    const ds = parseJsonData('{"X": [[1e308, -0], [1e-320, 2]], "y": [0, 1]}');
    expect(Object.is(ds.X.data[1], -0)).toBe(true);
    expect(ds.X.data[0]).toBe(1e308);
    expect(ds.X.data[2]).toBe(1e-320);
    expect(() => parseJsonData('{"X": [[1, 2], [1e400, 2]], "y": [0, 1]}')).toThrow(
      /X\[1\]\[0\] is not a finite number: null/,
    );
  });

  it("deeply nested arrays are rejected without a stack overflow", () => {
    const deep = `{"X": ${"[".repeat(100_000)}${"]".repeat(100_000)}, "y": [0, 1]}`;
    const r = outcome(parseJsonData, deep);
    expect(r.ok).toBe(false);
  });
});
