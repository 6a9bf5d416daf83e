#!/usr/bin/env node
// The executable behind `robust-metric`: everything lives in main.ts so that tests can call run() in-process.
import { run } from "./main.js";

run(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
