// The learner registry: every public method registers itself here (one line per learner), so that the
// library, `fit --method` and `eval --methods` all see the same set.
import { aml } from "./aml.js";
import { arml } from "./arml.js";
import { euclidean } from "./euclidean.js";
import { gmml } from "./gmml.js";
import { itml } from "./itml.js";
import { lmnn } from "./lmnn.js";
import { lmnnPl } from "./lmnn-pl.js";
import { nca } from "./nca.js";
import { ncaPl } from "./nca-pl.js";
import { registerLearner } from "./registry.js";

registerLearner(euclidean);
registerLearner(lmnn);
registerLearner(gmml);
registerLearner(itml);
registerLearner(nca);
registerLearner(lmnnPl);
registerLearner(ncaPl);
registerLearner(aml);
registerLearner(arml);

export { aml, amlPairs, fitAmlScatters } from "./aml.js";
export { type ArmlTripletSample, arml, armlTriplets } from "./arml.js";
export { euclidean } from "./euclidean.js";
export { gmml } from "./gmml.js";
export { itml } from "./itml.js";
export { lmnn } from "./lmnn.js";
export { fitLmnnPl, type LmnnPlFit, lmnnPl } from "./lmnn-pl.js";
export { parseLmnnPlReference, reproduceLmnnPlSplit } from "./lmnn-pl-reference.js";
export { nca } from "./nca.js";
export { ncaPl } from "./nca-pl.js";
export { getLearner, learnerNames, registerLearner, resolveParams } from "./registry.js";
export type { FitOptions, FitResult, Learner, ParamSpec, ParamValues } from "./types.js";
