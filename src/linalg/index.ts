export * from "./cholesky.js";
export * from "./distance.js";
export * from "./eigh.js";
export * from "./gemm.js";
export * from "./mat.js";
export * from "./sym.js";
export * from "./syrk.js";
