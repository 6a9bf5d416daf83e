export * from "./kernel-pool.js";
export * from "./read.js";
