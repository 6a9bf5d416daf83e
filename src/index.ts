// The public API for Node: the browser-safe core plus file reading and atomic writes.
export * from "./core.js";
export * from "./node/index.js";
