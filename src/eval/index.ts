export * from "./evaluate.js";
export * from "./stats.js";
