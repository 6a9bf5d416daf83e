// End-to-end test of the playground: build it with Vite, serve the static files on loopback, drive Debian's
// Chromium (headless) with playwright-core, and check what the page shows against the library run here in Node.
// Runs from the root `npm test` (test/web/playground.test.ts imports this file) and from `npm run test:web`.
// Skips, saying why, only when there is no Chromium (or the web package's dependencies are not installed).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  blobs,
  CertificationContext,
  getLearner,
  iris,
  KNeighborsClassifier,
  knnCertifiedRadius,
  loadModel,
  moons,
  Preprocessor,
  parseCsv,
  Rng,
  resolveParams,
  stratifiedSplit,
  subset,
} from "../../src/core.js";

const WEB = fileURLToPath(new URL("..", import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = join(WEB, "test-artifacts");
const VITE_BIN = join(WEB, "node_modules", "vite", "bin", "vite.js");
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const HAVE_DEPS = existsSync(VITE_BIN) && existsSync(join(WEB, "node_modules", "playwright-core"));
const RUN = HAVE_CHROMIUM && HAVE_DEPS;

// The few playwright-core calls used here. Loaded at run time from web/node_modules (the root package does not
// depend on it), so the root typecheck does not need its types.
interface Locator {
  click(): Promise<void>;
  count(): Promise<number>;
  first(): Locator;
  nth(i: number): Locator;
  getAttribute(name: string): Promise<string | null>;
  textContent(): Promise<string | null>;
  boundingBox(): Promise<{ x: number; y: number; width: number; height: number } | null>;
  waitFor(o?: { state?: "attached" | "visible"; timeout?: number }): Promise<void>;
  selectOption(v: string): Promise<unknown>;
  fill(v: string): Promise<void>;
  setInputFiles(f: { name: string; mimeType: string; buffer: Buffer }): Promise<void>;
  dispatchEvent(type: string, init?: Record<string, unknown>): Promise<void>;
}
interface Download {
  path(): Promise<string>;
  suggestedFilename(): string;
}
interface Page {
  goto(url: string): Promise<unknown>;
  evaluateHandle(expression: string): Promise<unknown>;
  locator(selector: string): Locator;
  mouse: { click(x: number, y: number): Promise<void> };
  waitForEvent(e: "download", o?: { timeout?: number }): Promise<Download>;
  screenshot(o: { path: string; fullPage?: boolean }): Promise<unknown>;
  on(e: "pageerror", f: (err: Error) => void): void;
  on(e: "console", f: (msg: { type(): string; text(): string }) => void): void;
  setViewportSize(s: { width: number; height: number }): Promise<void>;
}
interface Context {
  newPage(): Promise<Page>;
  pages(): Page[];
  close(): Promise<void>;
}
interface Playwright {
  chromium: {
    launchPersistentContext(
      dir: string,
      o: { executablePath: string; headless: boolean; args: string[]; acceptDownloads: boolean },
    ): Promise<Context>;
  };
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".wasm": "application/wasm",
};

function serve(root: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const file = normalize(join(root, path === "/" ? "index.html" : path));
    if (!file.startsWith(root + sep) || !existsSync(file)) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      resolve({ server, url: `http://127.0.0.1:${port}/` });
    }),
  );
}

/** The page's protocol, repeated with the library: stratified 70/30 split (seed 0), standardize, fit, 3-NN. */
function libraryAccuracy(method: string): number {
  const ds = iris();
  const split = stratifiedSplit(ds.y, 0.3, new Rng(0));
  const train = subset(ds, split.train);
  const test = subset(ds, split.test);
  const pre = Preprocessor.fit(train.X, "standardize");
  const learner = getLearner(method);
  const fit = learner.fit(pre.apply(train.X), train.y, resolveParams(learner, {}), { rng: new Rng(0) });
  return new KNeighborsClassifier({ k: 3, metric: fit.metric })
    .fit(pre.apply(train.X), train.y, ds.classes.length)
    .score(pre.apply(test.X), test.y);
}

describe.skipIf(!RUN)("web playground in headless Chromium", () => {
  let tmp = "";
  let server: Server | undefined;
  let url = "";
  let context: Context | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "rm-playground-"));
    const out = join(tmp, "dist");
    const build = spawnSync(
      process.execPath,
      [VITE_BIN, "build", "--outDir", out, "--emptyOutDir", "--logLevel", "warn"],
      {
        cwd: WEB,
        encoding: "utf8",
      },
    );
    if (build.status !== 0) throw new Error(`vite build failed:\n${build.stdout}\n${build.stderr}`);
    ({ server, url } = await serve(out));
    const require = createRequire(join(WEB, "package.json"));
    const pw = (await import(pathToFileURL(require.resolve("playwright-core")).href)) as Playwright;
    context = await pw.chromium.launchPersistentContext(join(tmp, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      acceptDownloads: true,
      // the flags Chromium needs on a closed network as root (see /work/.library/env/machines/node.md)
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    page = context.pages()[0] ?? (await context.newPage());
    await page.setViewportSize({ width: 1400, height: 1300 });
    page.on("pageerror", (e) => pageErrors.push(e.message));
    await page.goto(url);
    await page.locator("body[data-ready='true']").waitFor({ state: "attached", timeout: 30_000 });
  });

  afterAll(async () => {
    await context?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("fits LMNN-PL on iris with the library's accuracy, attacks a clicked test point, exports the model", async () => {
    await page.locator("#data").selectOption("iris");
    await page.locator("#method").selectOption("lmnn-pl");
    await page.locator("#fit").click();
    await page.locator("#results[data-state='fitted']").waitFor({ state: "attached", timeout: 90_000 });

    const expected = libraryAccuracy("lmnn-pl");
    const shown = await page.locator("#accuracy").getAttribute("data-value");
    expect(Number(shown)).toBe(expected);
    expect(await page.locator("#accuracy").textContent()).toBe(`${(100 * expected).toFixed(2)}%`);
    expect(await page.locator("#compare tbody tr").count()).toBe(1);
    // iris: 45 test points (15 per class) drawn filled in the embedding, 105 training points hollow
    expect(await page.locator("#embedding circle.pt.test").count()).toBe(45);
    expect(await page.locator("#embedding circle.pt.train").count()).toBe(105);

    // click the first correctly classified test point: the closest adversarial example appears with an arrow
    const target = page.locator("#embedding circle.pt.test:not(.wrong)").first();
    const index = await target.getAttribute("data-index");
    const box = await target.boundingBox();
    if (!box) throw new Error("the test point has no bounding box");
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.locator("#attack[data-state='found']").waitFor({ state: "attached", timeout: 60_000 });
    expect(await page.locator("#embedding circle.pt.selected").getAttribute("data-index")).toBe(index);
    expect(await page.locator("#embedding line.adv-arrow").count()).toBe(1);
    expect(await page.locator("#embedding circle.adv").count()).toBe(1);
    const text = (await page.locator("#attack").textContent()) ?? "";
    expect(text).toContain("closest adversarial example");
    // soundness as displayed: the certified radius never exceeds the norm of a verified adversarial example
    const norm = Number(/‖δ‖₂ = ([0-9.]+)/.exec(text)?.[1]);
    const radius = Number(/certified radius ([0-9.]+)/.exec(text)?.[1]);
    expect(norm).toBeGreaterThan(0);
    expect(radius).toBeLessThanOrEqual(norm);

    // every test point attacked: the empirical robust accuracy never falls below the certified accuracy
    await page.locator("#attack-all").click();
    const attackPath = page.locator("#curve-cert path[data-series='lmnn-pl: greedy attack']");
    await attackPath.waitFor({ state: "attached", timeout: 90_000 });
    const certified = (
      (await page.locator("#curve-cert path[data-series='lmnn-pl']").getAttribute("data-y")) ?? ""
    )
      .split(" ")
      .map(Number);
    const attacked = ((await attackPath.getAttribute("data-y")) ?? "").split(" ").map(Number);
    expect(attacked.length).toBe(certified.length);
    expect(certified.length).toBeGreaterThan(10);
    attacked.forEach((v, j) => expect(v).toBeGreaterThanOrEqual(certified[j]!));
    expect(attacked[0]).toBe(expected);
    expect(certified[0]).toBe(expected);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "playground-iris-lmnn-pl.png"), fullPage: true });

    // the exported model is the CLI's model file and reproduces the accuracy
    const download = page.waitForEvent("download", { timeout: 30_000 });
    await page.locator("#export").click();
    const file = await (await download).path();
    const model = loadModel(readFileSync(file, "utf8"));
    expect(model.learner).toBe("lmnn-pl");
    const ds = iris();
    const split = stratifiedSplit(ds.y, 0.3, new Rng(0));
    const train = subset(ds, split.train);
    const test = subset(ds, split.test);
    const acc = new KNeighborsClassifier({ k: 3, metric: model.metric })
      .fit(model.preprocessor.apply(train.X), train.y, ds.classes.length)
      .score(model.preprocessor.apply(test.X), test.y);
    expect(acc).toBe(expected);
    expect(pageErrors).toEqual([]);
  });

  it("on 2-D half-moons with 1-NN: k-NN regions, the library's certified radii as circles, the exact attack", async () => {
    await page.locator("#data").selectOption("moons");
    await page.locator("#method").selectOption("euclidean");
    await page.locator("#k").fill("1");
    await page.locator("#fit").click();
    await page.locator("#results[data-state='fitted']").waitFor({ state: "attached", timeout: 90_000 });
    // the page's defaults: 200 points, noise 0.15, seed 0; same split and preprocessing as above
    const ds = moons({ n: 200, noise: 0.15, seed: 0 });
    const split = stratifiedSplit(ds.y, 0.3, new Rng(0));
    const train = subset(ds, split.train);
    const pre = Preprocessor.fit(train.X, "standardize");
    const knn = new KNeighborsClassifier({ k: 1 }).fit(pre.apply(train.X), train.y, 2);
    const ctx = CertificationContext.fromClassifier(knn);
    const Xall = pre.apply(ds.X);
    const radius = (row: number) =>
      knnCertifiedRadius(ctx, Xall.data.subarray(2 * row, 2 * row + 2), ds.y[row]!, 1).radius;
    const positive = Array.from(split.test).filter(
      (row) => radius(row) > 0 && Number.isFinite(radius(row)),
    ).length;
    expect(await page.locator("#input-figure").getAttribute("hidden")).toBeNull();
    expect(await page.locator("#input .regions rect").count()).toBeGreaterThan(90);
    expect(await page.locator("#input circle.radius").count()).toBe(positive);

    const target = page.locator("#input circle.pt.test:not(.wrong)").nth(3);
    const index = Number(await target.getAttribute("data-index"));
    const box = await target.boundingBox();
    if (!box) throw new Error("the test point has no bounding box");
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.locator("#attack[data-state='found']").waitFor({ state: "attached", timeout: 60_000 });
    expect(Number(await page.locator("#input circle.pt.selected").getAttribute("data-index"))).toBe(index);
    expect(await page.locator("#input line.adv-arrow").count()).toBe(1);
    const text = (await page.locator("#attack").textContent()) ?? "";
    expect(text).toContain("exact 1-NN");
    expect(text).toContain(`certified radius ${radius(index).toFixed(4)}`);
    const norm = Number(/‖δ‖₂ = ([0-9.]+)/.exec(text)?.[1]);
    expect(norm).toBeGreaterThanOrEqual(Number(radius(index).toFixed(4)) - 1e-4);
    await page.screenshot({ path: join(ARTIFACTS, "playground-moons-1nn.png"), fullPage: true });
  });

  it("shows the CLI's message for a bad CSV, then fits a CSV dropped on the page", async () => {
    const bad = "a,b,label\n1,2,x\n3,oops,y\n";
    let message = "";
    try {
      parseCsv(bad, { name: "bad" });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).not.toBe("");
    await page
      .locator("#file")
      .setInputFiles({ name: "bad.csv", mimeType: "text/csv", buffer: Buffer.from(bad) });
    await page.locator("#error:not([hidden])").waitFor({ state: "attached", timeout: 30_000 });
    expect(await page.locator("#error").textContent()).toBe(`BAD_INPUT: ${message}`);

    // a good CSV dropped on the drop zone (a real drop event carrying a File) is read and fitted like the others
    const b = blobs({ n: 60, classes: 2, d: 2, overlap: 1.5, seed: 3 });
    const lines = ["u,v,kind"];
    for (let i = 0; i < b.X.rows; i++)
      lines.push(`${b.X.data[2 * i]},${b.X.data[2 * i + 1]},${b.y[i] ? "yes" : "no"}`);
    const good = `${lines.join("\n")}\n`;
    const transfer = await page.evaluateHandle(
      `(() => { const t = new DataTransfer(); t.items.add(new File([${JSON.stringify(good)}], "good.csv", { type: "text/csv" })); return t; })()`,
    );
    await page.locator("#drop").dispatchEvent("drop", { dataTransfer: transfer });
    await page.locator("#error[hidden]").waitFor({ state: "attached", timeout: 30_000 });
    expect(await page.locator("#data-info").textContent()).toBe(
      "good: 60 rows × 2 features, classes no (30), yes (30)",
    );
    await page.locator("#method").selectOption("euclidean");
    await page.locator("#k").fill("3");
    await page.locator("#fit").click();
    await page.locator("#results[data-state='fitted']").waitFor({ state: "attached", timeout: 90_000 });
    const ds = parseCsv(good, { name: "good" });
    const split = stratifiedSplit(ds.y, 0.3, new Rng(0));
    const train = subset(ds, split.train);
    const test = subset(ds, split.test);
    const pre = Preprocessor.fit(train.X, "standardize");
    const expected = new KNeighborsClassifier({ k: 3 })
      .fit(pre.apply(train.X), train.y, ds.classes.length)
      .score(pre.apply(test.X), test.y);
    expect(Number(await page.locator("#accuracy").getAttribute("data-value"))).toBe(expected);
  });

  it("shows progress while a long fit runs in the worker, and Stop ends it", async () => {
    await page.locator("#data").selectOption("iris");
    await page.locator("#method").selectOption("arml");
    await page.locator("input[data-param='epochs']").fill("200000");
    await page.locator("#fit").click();
    // the page keeps updating while the worker fits: the status and the progress bar move
    let status = "";
    for (let t = 0; t < 300 && !/iteration [1-9]\d* of at most 200000/.test(status); t++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await page.locator("#status").textContent()) ?? "";
    }
    expect(status).toMatch(/^fitting: iteration [1-9]\d* of at most 200000, objective /);
    expect(Number(await page.locator("#progress").getAttribute("value"))).toBeGreaterThan(0);
    expect(await page.locator("#results").getAttribute("data-state")).toBe("fitting");
    await page.locator("#stop").click();
    await page.locator("#fit:not([disabled])").waitFor({ state: "attached", timeout: 30_000 });
    expect(await page.locator("#status").textContent()).toMatch(/stopped|ready/);
    expect(await page.locator("#results").getAttribute("data-state")).toBe("fitted");
  });
});

describe.skipIf(RUN)("web playground in headless Chromium", () => {
  it(`skipped: ${!HAVE_CHROMIUM ? `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)` : "web/node_modules missing (npm --prefix web ci)"}`, () => {});
});
