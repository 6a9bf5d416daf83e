// Node-only file access (the browser-safe core never imports this).
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import { type CsvOptions, parseCsv } from "../data/csv.js";
import type { Dataset } from "../data/dataset.js";
import { parseJsonData } from "../data/json-data.js";
import { RobustMetricError } from "../errors.js";

/**
 * Reads a whole text file.
 *
 * @throws RobustMetricError IO naming the path: missing, a directory, unreadable.
 */
export function readTextFile(path: string): string {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    throw new RobustMetricError("IO", `cannot read '${path}': no such file`);
  }
  if (st.isDirectory())
    throw new RobustMetricError("IO", `cannot read '${path}': it is a directory, not a file`);
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new RobustMetricError("IO", `cannot read '${path}': ${(e as Error).message}`);
  }
}

/**
 * Reads a labelled data set from a file: `.json` → {X, y} (parseJsonData), anything else → CSV (parseCsv). The
 * data set is named after the file (basename without extension). Parse errors are prefixed with the path.
 *
 * @example readDataset("iris.csv", { label: "species" })
 */
export function readDataset(path: string, opts: CsvOptions = {}): Dataset {
  const text = readTextFile(path);
  const name = opts.name ?? basename(path, extname(path));
  try {
    return extname(path).toLowerCase() === ".json"
      ? parseJsonData(text, { name })
      : parseCsv(text, { ...opts, name });
  } catch (e) {
    if (e instanceof RobustMetricError)
      throw new RobustMetricError(e.code, `${path}: ${e.message}`, { cause: e });
    throw e;
  }
}

/**
 * parseCsv on a string that is either CSV text (it contains a newline) or a path to a CSV file.
 */
export function readCsv(pathOrText: string, opts: CsvOptions = {}): Dataset {
  return /\r|\n/.test(pathOrText) ? parseCsv(pathOrText, opts) : readDataset(pathOrText, opts);
}

/**
 * Writes a file atomically: the content goes to a temporary file in the same directory, is flushed, and is then
 * renamed over the target, so readers see the old file or the whole new one, never a partial one.
 *
 * @throws RobustMetricError IO naming the path (directory missing, not writable); no temporary file is left.
 */
export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "w");
    if (typeof content === "string") writeSync(fd, content);
    else writeSync(fd, content);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      rmSync(tmp, { force: true });
    } catch {
      // the parent is not a folder (ENOTDIR): no temporary file could have been created
    }
    throw new RobustMetricError("IO", `cannot write '${path}': ${(e as Error).message}`);
  }
}
