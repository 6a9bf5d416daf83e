export * from "./csv.js";
export * from "./dataset.js";
export * from "./embedded.js";
export * from "./json-data.js";
export * from "./preprocess.js";
export * from "./rng.js";
export * from "./splits.js";
