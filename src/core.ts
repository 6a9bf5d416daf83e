// The browser-safe public API: everything but file access (src/node) and the CLI.
export * from "./data/index.js";
export * from "./errors.js";
export * from "./eval/index.js";
export * from "./eval/runner.js";
export * from "./eval/tuning.js";
export * from "./eval/wilcoxon.js";
export * from "./learners/index.js";
export * from "./learners/model.js";
export * from "./linalg/index.js";
export * from "./linalg/mat.js";
export * from "./metric/index.js";
export * from "./neighbors/index.js";
export * from "./objectives/index.js";
export * from "./report/specs.js";
export * from "./report/tables.js";
export * from "./robust/index.js";
