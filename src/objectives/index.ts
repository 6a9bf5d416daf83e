export * from "./aml.js";
export * from "./arml.js";
export { geometricMean, gmmlLoss } from "./gmml.js";
export { LmnnHinge, LmnnPull } from "./lmnn.js";
export { ncaLoss } from "./nca.js";
export * from "./perturbation.js";
