export { MahalanobisMetric } from "./mahalanobis.js";
