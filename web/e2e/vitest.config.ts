import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// `npm run test:web` (root) / `npm run test:e2e` (web): the playground's end-to-end test alone.
export default defineConfig({
  root: fileURLToPath(new URL("..", import.meta.url)),
  test: {
    include: ["e2e/**/*.e2e.ts"],
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
