// The browser playground's end-to-end test (web/e2e/playground.e2e.ts) runs as part of `npm test`, so that CI counts
// it: it builds web/ with Vite, serves it on loopback and drives headless Chromium. It skips with a message naming
// what is missing when there is no Chromium or web/node_modules is not installed (`npm --prefix web ci`).
import "../../web/e2e/playground.e2e.js";
