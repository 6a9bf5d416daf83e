// Certification and attacks for Mahalanobis k-NN (reference/certification.md; perturbation-loss.md §1).

export * from "./attacks.js";
export * from "./curves.js";
export * from "./exact-1nn.js";
export * from "./knn-bound.js";
export * from "./margins.js";
