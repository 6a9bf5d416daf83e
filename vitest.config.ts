import { defineConfig } from "vitest/config";

// CI asks for a machine-readable report (VITEST_JSON=path) so that .ci/run can count passes and failures.
const json = process.env.VITEST_JSON;

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: json ? ["default", ["json", { outputFile: json }]] : ["default"],
  },
});
