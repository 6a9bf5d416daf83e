export * from "./neighbours.js";
export * from "./pairs.js";
