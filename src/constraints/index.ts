export * from "./neighbours.js";
