// The learner registry: every public method registers itself here (one line per learner), so that the
// library, `fit --method` and `eval --methods` all see the same set.
import { euclidean } from "./euclidean.js";
import { registerLearner } from "./registry.js";

registerLearner(euclidean);

export { euclidean } from "./euclidean.js";
export { getLearner, learnerNames, registerLearner, resolveParams } from "./registry.js";
export type { FitOptions, FitResult, Learner, ParamSpec, ParamValues } from "./types.js";
