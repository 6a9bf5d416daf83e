// The page: controls, the worker conversation and the drawings. No library code runs here; the worker answers.
import {
  arrow,
  axes,
  clear,
  clipToFrame,
  colour,
  el,
  equalFrame,
  type Frame,
  lineChart,
  PALETTE,
  type Series,
} from "./plot";
import type {
  AttackCurveView,
  AttackView,
  DataSpec,
  FitSpec,
  FitView,
  LearnerInfo,
  ParamInfo,
  ParamValue,
  Request,
  Response,
} from "./protocol";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

const ui = {
  data: $<HTMLSelectElement>("data"),
  dataParams: $("data-params"),
  drop: $("drop"),
  file: $<HTMLInputElement>("file"),
  labelCol: $<HTMLInputElement>("label-col"),
  dataInfo: $("data-info"),
  method: $<HTMLSelectElement>("method"),
  methodDoc: $("method-doc"),
  params: $("params"),
  k: $<HTMLInputElement>("k"),
  testSize: $<HTMLInputElement>("test-size"),
  splitSeed: $<HTMLInputElement>("split-seed"),
  seed: $<HTMLInputElement>("seed"),
  preprocess: $<HTMLSelectElement>("preprocess"),
  fit: $<HTMLButtonElement>("fit"),
  stop: $<HTMLButtonElement>("stop"),
  progress: $<HTMLProgressElement>("progress"),
  status: $("status"),
  error: $("error"),
  results: $("results"),
  accuracy: $("accuracy"),
  fitInfo: $("fit-info"),
  exportBtn: $<HTMLButtonElement>("export"),
  embedding: document.getElementById("embedding") as unknown as SVGSVGElement,
  embeddingNote: $("embedding-note"),
  inputFigure: $("input-figure"),
  input: document.getElementById("input") as unknown as SVGSVGElement,
  attack: $("attack"),
  curveCert: document.getElementById("curve-cert") as unknown as SVGSVGElement,
  curveNoise: document.getElementById("curve-noise") as unknown as SVGSVGElement,
  showRadii: $<HTMLInputElement>("show-radii"),
  attackAll: $<HTMLButtonElement>("attack-all"),
  compare: $<HTMLTableElement>("compare"),
};

/** Curve colours: the class palette read backwards, so that the first method is not the first class's colour. */
const SERIES = ["#d55e00", "#0072b2", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", PALETTE[7]!];

/** Hyper-parameters shown directly; the rest of a learner's parameters sit under "more". */
const MAIN_PARAMS = new Set([
  "k",
  "mu",
  "lambda",
  "tau",
  "alpha",
  "beta",
  "t",
  "gamma",
  "maxIter",
  "epochs",
  "lr",
]);

let learners: LearnerInfo[] = [];
let worker: Worker;
let nextId = 1;
let pending: { id: number; kind: Request["type"] } | undefined;
let view: FitView | undefined;
let selected: number | undefined;
let attackView: AttackView | undefined;
/** The attack curve of the fit shown (every test row attacked), once asked for. */
let attackCurve: AttackCurveView | undefined;
let csv: { name: string; text: string } | undefined;
/** The comparable-fits key (data, split, k, preprocessing) of the fit under way and of the one shown. */
let pendingKey = "";
/** False after a Stop until the next fit: the restarted worker no longer holds the fit on show. */
let workerFitted = false;
let lastKey = "";

// ---------------------------------------------------------------- worker

function startWorker(): void {
  worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
  workerFitted = false;
  worker.onmessage = (ev: MessageEvent<Response>) => onMessage(ev.data);
  worker.onerror = (ev) => showError(`worker error: ${ev.message}`);
}

function send(req: Request): void {
  pending = { id: req.id, kind: req.type };
  worker.postMessage(req);
}

function onMessage(m: Response): void {
  if (m.type === "ready") {
    if (learners.length === 0) {
      learners = m.learners;
      buildMethodSelect();
    }
    ui.fit.disabled = false;
    ui.status.textContent = "ready";
    document.body.dataset.ready = "true";
    return;
  }
  if (!pending || m.id !== pending.id) return; // an answer to a request that was superseded
  switch (m.type) {
    case "progress": {
      const frac = m.total > 0 ? Math.min(1, m.done / m.total) : undefined;
      if (frac === undefined) ui.progress.removeAttribute("value");
      else ui.progress.value = frac;
      const obj = m.objective !== undefined ? `, objective ${m.objective.toPrecision(5)}` : "";
      ui.status.textContent =
        m.stage === "fitting"
          ? `fitting: iteration ${m.done}${m.total ? ` of at most ${m.total}` : ""}${obj}`
          : m.stage === "certifying"
            ? `certifying test points: ${m.done} / ${m.total}`
            : m.stage === "attacking"
              ? `attacking test points: ${m.done} / ${m.total}`
              : "accuracy under noise…";
      return;
    }
    case "fitted":
      pending = undefined;
      workerFitted = true;
      lastKey = pendingKey;
      busy(false);
      ui.progress.value = 1;
      ui.status.textContent = `fitted ${m.view.method} in ${m.view.seconds.toFixed(2)} s`;
      showFit(m.view);
      return;
    case "attackedAll":
      pending = undefined;
      attackCurve = m.view;
      ui.attackAll.disabled = false;
      ui.status.textContent = `attacked ${m.view.norms.length} test points (${m.view.attack}) in ${m.view.seconds.toFixed(2)} s`;
      curves(lastKey);
      return;
    case "attacked":
      pending = undefined;
      attackView = m.view;
      showAttack();
      return;
    case "inspected": {
      pending = undefined;
      const s = m.summary;
      ui.dataInfo.textContent = `${s.name}: ${s.n} rows × ${s.p} features, classes ${s.classes
        .map((c, i) => `${c} (${s.counts[i]})`)
        .join(", ")}`;
      hideError();
      return;
    }
    case "error":
      if (pending.kind === "fit") {
        busy(false);
        ui.results.dataset.state = view ? "fitted" : "empty";
      }
      if (pending.kind === "attack") {
        ui.attack.dataset.state = "error";
        ui.attack.textContent = `attack failed: ${m.message}`;
      }
      if (pending.kind === "inspect") ui.dataInfo.textContent = "";
      if (pending.kind === "attackAll") ui.attackAll.disabled = false;
      pending = undefined;
      showError(`${m.code}: ${m.message}`);
      ui.status.textContent = "error";
      return;
  }
}

function busy(on: boolean): void {
  ui.fit.disabled = on;
  ui.stop.disabled = !on;
  if (on) ui.progress.value = 0;
  ui.attackAll.disabled = on || !view || !workerFitted;
}

function showError(msg: string): void {
  ui.error.hidden = false;
  ui.error.textContent = msg;
}

function hideError(): void {
  ui.error.hidden = true;
  ui.error.textContent = "";
}

// ---------------------------------------------------------------- controls

function numberInput(
  id: string,
  label: string,
  value: number,
  attrs: Record<string, string> = {},
): HTMLLabelElement {
  const l = document.createElement("label");
  l.textContent = label;
  const i = document.createElement("input");
  i.type = "number";
  i.id = id;
  i.value = String(value);
  for (const [k, v] of Object.entries(attrs)) i.setAttribute(k, v);
  l.appendChild(i);
  return l;
}

function buildDataParams(): void {
  ui.dataParams.replaceChildren();
  const kind = ui.data.value;
  if (kind === "blobs") {
    ui.dataParams.append(
      numberInput("blobs-n", "points", 300, { min: "6", step: "1" }),
      numberInput("blobs-classes", "classes", 3, { min: "2", max: "10", step: "1" }),
      numberInput("blobs-overlap", "overlap", 1.2, { min: "0.1", step: "0.1" }),
      numberInput("blobs-noise", "noise features", 0, { min: "0", step: "1" }),
      numberInput("blobs-seed", "seed", 1, { step: "1" }),
    );
  } else if (kind === "moons") {
    ui.dataParams.append(
      numberInput("moons-n", "points", 200, { min: "6", step: "1" }),
      numberInput("moons-noise", "noise", 0.15, { min: "0", step: "0.05" }),
      numberInput("moons-seed", "seed", 0, { step: "1" }),
    );
  }
  ui.dataInfo.textContent = kind === "csv" && !csv ? "no CSV loaded yet: drop one above" : "";
  if (kind !== "csv") inspect();
  else if (csv) inspect();
}

const num = (id: string) => Number(($(id) as HTMLInputElement).value);

function dataSpec(): DataSpec {
  switch (ui.data.value) {
    case "blobs":
      return {
        kind: "blobs",
        n: num("blobs-n"),
        classes: num("blobs-classes"),
        overlap: num("blobs-overlap"),
        noiseFeatures: num("blobs-noise"),
        seed: num("blobs-seed"),
      };
    case "moons":
      return { kind: "moons", n: num("moons-n"), noise: num("moons-noise"), seed: num("moons-seed") };
    case "csv": {
      if (!csv) throw new Error("drop a CSV file on the page first");
      const label = ui.labelCol.value.trim();
      return { kind: "csv", name: csv.name, text: csv.text, ...(label ? { label } : {}) };
    }
    default:
      return { kind: "iris" };
  }
}

function inspect(): void {
  if (pending?.kind === "fit") return;
  try {
    send({ type: "inspect", id: nextId++, data: dataSpec() });
  } catch (e) {
    showError((e as Error).message);
  }
}

function buildMethodSelect(): void {
  ui.method.replaceChildren(
    ...learners.map((l) => {
      const o = document.createElement("option");
      o.value = l.name;
      o.textContent = l.name;
      return o;
    }),
  );
  ui.method.value = learners.some((l) => l.name === "lmnn-pl") ? "lmnn-pl" : (learners[0]?.name ?? "");
  buildParams();
}

function paramControl(p: ParamInfo): HTMLLabelElement {
  const l = document.createElement("label");
  l.title = p.doc;
  // the learner's own k (target neighbours) is not the k of the k-NN classifier below
  l.append(p.name === "k" ? "k (targets)" : p.name);
  let input: HTMLInputElement | HTMLSelectElement;
  if (p.type === "boolean") {
    const i = document.createElement("input");
    i.type = "checkbox";
    i.checked = p.default === true;
    input = i;
  } else if (p.choices) {
    const s = document.createElement("select");
    for (const c of p.choices) s.add(new Option(c, c));
    s.value = String(p.default);
    input = s;
  } else {
    const i = document.createElement("input");
    i.type = p.type === "string" ? "text" : "number";
    i.value = String(p.default);
    if (p.type !== "string") i.step = p.type === "int" ? "1" : "any";
    if (p.min !== undefined) i.min = String(p.min);
    if (p.max !== undefined) i.max = String(p.max);
    input = i;
  }
  input.dataset.param = p.name;
  input.dataset.type = p.type;
  l.appendChild(input);
  return l;
}

function buildParams(): void {
  const l = learners.find((x) => x.name === ui.method.value);
  ui.params.replaceChildren();
  if (!l) return;
  ui.methodDoc.textContent = l.description;
  const main = l.params.filter((p) => MAIN_PARAMS.has(p.name));
  const more = l.params.filter((p) => !MAIN_PARAMS.has(p.name));
  ui.params.append(...main.map(paramControl));
  if (more.length) {
    const d = document.createElement("details");
    const s = document.createElement("summary");
    s.textContent = `more parameters (${more.length})`;
    d.append(s, ...more.map(paramControl));
    ui.params.appendChild(d);
  }
  if (l.params.length === 0) ui.params.textContent = "no hyper-parameters";
}

/** The values that differ from the defaults; the library resolves and range-checks them (errors come back). */
function paramValues(): Record<string, ParamValue> {
  const l = learners.find((x) => x.name === ui.method.value);
  const out: Record<string, ParamValue> = {};
  for (const input of ui.params.querySelectorAll<HTMLInputElement | HTMLSelectElement>("[data-param]")) {
    const name = input.dataset.param!;
    const spec = l?.params.find((p) => p.name === name);
    if (!spec) continue;
    let v: ParamValue;
    if (spec.type === "boolean") v = (input as HTMLInputElement).checked;
    else if (spec.type === "string") v = input.value;
    else v = input.value.trim() === "" ? Number.NaN : Number(input.value);
    if (v !== spec.default) out[name] = typeof v === "number" && Number.isNaN(v) ? input.value : v;
  }
  return out;
}

function fit(): void {
  hideError();
  let spec: FitSpec;
  try {
    spec = {
      data: dataSpec(),
      method: ui.method.value,
      params: paramValues(),
      k: Number(ui.k.value),
      testSize: Number(ui.testSize.value),
      splitSeed: Number(ui.splitSeed.value),
      seed: Number(ui.seed.value),
      preprocess: ui.preprocess.value as FitSpec["preprocess"],
    };
  } catch (e) {
    showError((e as Error).message);
    return;
  }
  busy(true);
  const { method: _m, params: _p, seed: _s, ...same } = spec;
  pendingKey = JSON.stringify(same);
  ui.status.textContent = "fitting…";
  ui.results.dataset.state = "fitting";
  send({ type: "fit", id: nextId++, spec });
}

function stop(): void {
  worker.terminate();
  pending = undefined;
  busy(false);
  ui.fit.disabled = true;
  ui.status.textContent = "stopped; restarting the worker…";
  ui.results.dataset.state = view ? "fitted" : "empty";
  startWorker();
}

// ---------------------------------------------------------------- CSV drop

async function loadCsv(file: File): Promise<void> {
  csv = { name: file.name.replace(/\.csv$/i, ""), text: await file.text() };
  ui.data.value = "csv";
  buildDataParams();
}

ui.drop.addEventListener("dragover", (e) => {
  e.preventDefault();
  ui.drop.classList.add("over");
});
ui.drop.addEventListener("dragleave", () => ui.drop.classList.remove("over"));
ui.drop.addEventListener("drop", (e) => {
  e.preventDefault();
  ui.drop.classList.remove("over");
  const f = e.dataTransfer?.files[0];
  if (f) void loadCsv(f);
});
ui.file.addEventListener("change", () => {
  const f = ui.file.files?.[0];
  if (f) void loadCsv(f);
});
ui.labelCol.addEventListener("change", () => {
  if (ui.data.value === "csv" && csv) inspect();
});

// ---------------------------------------------------------------- drawing

const fmt = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : v > 0 ? "∞" : "–");

interface Panel {
  svg: SVGSVGElement;
  frame: Frame;
  x: number[];
  y: number[];
}
const panels: Panel[] = [];

function drawPoints(
  svg: SVGSVGElement,
  f: Frame,
  v: FitView,
  x: number[],
  y: number[],
  withRadii: boolean,
): void {
  const gR = el("g", { class: "radii", "clip-path": clipToFrame(svg, f) }, svg);
  const gTrain = el("g", { class: "train-points" }, svg);
  const gTest = el("g", { class: "test-points" }, svg);
  for (let i = 0; i < x.length; i++) {
    const c = colour(v.labels[i]!);
    if (v.isTest[i]) {
      const wrong = v.predictions[i] !== v.labels[i];
      el(
        "circle",
        {
          cx: f.px(x[i]!),
          cy: f.py(y[i]!),
          r: 4.2,
          fill: c,
          class: `pt test${wrong ? " wrong" : ""}${selected === i ? " selected" : ""}`,
          "data-index": i,
        },
        gTest,
      );
      const r = v.radii[i]!;
      if (withRadii && Number.isFinite(r) && r > 0) {
        el(
          "circle",
          {
            cx: f.px(x[i]!),
            cy: f.py(y[i]!),
            r: r * f.unit,
            stroke: c,
            class: `radius${selected === i ? " selected" : ""}`,
            "data-index": i,
          },
          gR,
        );
      }
    } else {
      el("circle", { cx: f.px(x[i]!), cy: f.py(y[i]!), r: 3, stroke: c, class: "pt train" }, gTrain);
    }
  }
}

function drawRegions(svg: SVGSVGElement, f: Frame, g: NonNullable<FitView["input"]>["grid"]): void {
  const group = el("g", { class: "regions", opacity: 0.16, "clip-path": clipToFrame(svg, f) }, svg);
  const w = (g.x1 - g.x0) / g.nx;
  const h = (g.y1 - g.y0) / g.ny;
  for (let r = 0; r < g.ny; r++) {
    // one rect per run of equal class along the row keeps the DOM small
    let c0 = 0;
    for (let c = 1; c <= g.nx; c++) {
      const cls = g.classes[r * g.nx + c0]!;
      if (c < g.nx && g.classes[r * g.nx + c] === cls) continue;
      el(
        "rect",
        {
          x: f.px(g.x0 + c0 * w),
          y: f.py(g.y0 + (r + 1) * h),
          width: (c - c0) * w * f.unit + 0.5,
          height: h * f.unit + 0.5,
          fill: colour(cls),
        },
        group,
      );
      c0 = c;
    }
  }
}

function draw(): void {
  const v = view;
  if (!v) return;
  panels.length = 0;
  clear(ui.embedding);
  const fe = equalFrame(ui.embedding, v.embedding.x, v.embedding.y);
  axes(ui.embedding, fe, "axis 1", "axis 2");
  drawPoints(ui.embedding, fe, v, v.embedding.x, v.embedding.y, false);
  panels.push({ svg: ui.embedding, frame: fe, x: v.embedding.x, y: v.embedding.y });
  ui.embeddingNote.textContent = `(${v.embeddingNote})`;
  clear(ui.input);
  ui.inputFigure.hidden = !v.input;
  if (v.input) {
    const g = v.input.grid;
    const fi = equalFrame(ui.input, v.input.x, v.input.y, { x0: g.x0, x1: g.x1, y0: g.y0, y1: g.y1 });
    drawRegions(ui.input, fi, g);
    axes(ui.input, fi, v.data.featureNames[0] ?? "x1", v.data.featureNames[1] ?? "x2");
    drawPoints(ui.input, fi, v, v.input.x, v.input.y, ui.showRadii.checked);
    panels.push({ svg: ui.input, frame: fi, x: v.input.x, y: v.input.y });
  }
  drawAttack();
}

function drawAttack(): void {
  const a = attackView;
  for (const p of panels) p.svg.querySelectorAll(".adv, .adv-arrow").forEach((n) => n.remove());
  if (!a?.found || !view) return;
  const i = a.index;
  const e = panels[0];
  if (e && a.embedding) {
    arrow(e.svg, e.frame, [e.x[i]!, e.y[i]!], a.embedding, "adv-arrow");
    el(
      "circle",
      { cx: e.frame.px(a.embedding[0]), cy: e.frame.py(a.embedding[1]), r: 4.5, class: "adv" },
      e.svg,
    );
  }
  const inp = panels[1];
  if (inp && a.adversarial && a.adversarial.length === 2) {
    const to: [number, number] = [a.adversarial[0]!, a.adversarial[1]!];
    arrow(inp.svg, inp.frame, [inp.x[i]!, inp.y[i]!], to, "adv-arrow");
    el("circle", { cx: inp.frame.px(to[0]), cy: inp.frame.py(to[1]), r: 4.5, class: "adv" }, inp.svg);
  }
}

function showAttack(): void {
  const a = attackView;
  const v = view;
  if (!a || !v) return;
  const cls = (c: number) => v.data.classes[c] ?? `#${c}`;
  const row = `test row ${a.index + 1} (class ${cls(a.label)}, predicted ${cls(a.prediction)})`;
  if (a.prediction !== a.label) {
    ui.attack.dataset.state = "misclassified";
    ui.attack.textContent = `${row}: already misclassified, so its adversarial perturbation is 0.`;
  } else if (a.found) {
    ui.attack.dataset.state = "found";
    ui.attack.textContent =
      `${row}: closest adversarial example found by the ${a.attack === "exact" ? "exact 1-NN" : "QP-greedy k-NN"} attack ` +
      `at ‖δ‖₂ = ${fmt(a.norm, 4)} (predicted ${cls(a.adversarialPrediction)}); certified radius ${fmt(a.certifiedRadius, 4)} ` +
      `(no perturbation smaller than that can change the prediction). ${(a.seconds * 1000).toFixed(0)} ms.`;
  } else {
    ui.attack.dataset.state = "none-found";
    ui.attack.textContent = `${row}: the attack found no adversarial example (certified radius ${fmt(a.certifiedRadius, 4)}).`;
  }
  draw();
}

function select(index: number): void {
  if (!view || pending?.kind === "fit" || pending?.kind === "attackAll") return;
  if (!workerFitted) {
    ui.attack.dataset.state = "none";
    ui.attack.textContent = "The worker was restarted after Stop: press Fit again to attack points.";
    return;
  }
  selected = index;
  attackView = undefined;
  ui.attack.dataset.state = "running";
  ui.attack.textContent = `attacking test row ${index + 1}…`;
  draw();
  send({ type: "attack", id: nextId++, index });
}

/** A click selects the test point nearest to it (within 20 px), so tiny dots need no precise aim. */
function onPanelClick(ev: MouseEvent): void {
  const svg = ev.currentTarget as SVGSVGElement;
  const p = panels.find((x) => x.svg === svg);
  if (!p || !view) return;
  const pt = svg.createSVGPoint();
  pt.x = ev.clientX;
  pt.y = ev.clientY;
  const m = svg.getScreenCTM();
  if (!m) return;
  const loc = pt.matrixTransform(m.inverse());
  let best = -1;
  let bestD = 20 * 20;
  for (let i = 0; i < p.x.length; i++) {
    if (!view.isTest[i]) continue;
    const d = (p.frame.px(p.x[i]!) - loc.x) ** 2 + (p.frame.py(p.y[i]!) - loc.y) ** 2;
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  if (best >= 0) select(best);
}
ui.embedding.addEventListener("click", onPanelClick);
ui.input.addEventListener("click", onPanelClick);

/** Fits whose curves are comparable with the current one: same data, split and k (the latest fit per method). */
const history: { key: string; view: FitView }[] = [];

function curves(key: string): void {
  const same = new Map<string, FitView>();
  for (const h of history) if (h.key === key) same.set(h.view.method, h.view);
  const shown = [...same.values()].slice(-6);
  const cert: Series[] = shown.map((h, j) => ({
    name: h.method,
    x: h.certified.radii,
    y: h.certified.accuracy,
    colour: SERIES[j % SERIES.length]!,
    step: true,
  }));
  const a = attackCurve;
  const own = a && view && a.method === view.method ? shown.indexOf(view) : -1;
  if (a && own >= 0) {
    cert.push({
      name: `${a.method}: ${a.attack} attack`,
      x: a.radii,
      y: a.accuracy,
      colour: SERIES[own % SERIES.length]!,
      step: true,
      dash: true,
    });
  }
  lineChart(ui.curveCert, cert, "radius ε (ℓ₂, after preprocessing)", "accuracy within ε");
  lineChart(
    ui.curveNoise,
    shown.map((h, j) => ({
      name: h.method,
      x: h.noise.levels,
      y: h.noise.accuracy,
      colour: SERIES[j % SERIES.length]!,
    })),
    "noise level σ",
    "accuracy",
  );
}

interface CompareRow {
  data: string;
  method: string;
  k: number;
  accuracy: number;
  medianRadius: number;
  cert01: number;
  noise05: number;
  iterations: number;
  converged: boolean;
  seconds: number;
}
const compareRows: CompareRow[] = [];

function addCompareRow(v: FitView): void {
  const radii = v.radii.filter((_, i) => v.isTest[i]).sort((a, b) => a - b);
  const median = radii[Math.floor((radii.length - 1) / 2)] ?? Number.NaN;
  const cert01 = radii.filter((r) => r > 0.1).length / radii.length;
  const li = v.noise.levels.findIndex((l) => Math.abs(l - 0.5) < 1e-9);
  compareRows.push({
    data: v.data.name,
    method: v.method,
    k: v.k,
    accuracy: v.accuracy,
    medianRadius: median,
    cert01,
    noise05: li >= 0 ? v.noise.accuracy[li]! : Number.NaN,
    iterations: v.iterations,
    converged: v.converged,
    seconds: v.seconds,
  });
  const body = ui.compare.tBodies[0]!;
  body.replaceChildren(
    ...compareRows.map((r, j) => {
      const tr = document.createElement("tr");
      if (j === compareRows.length - 1) tr.className = "current";
      for (const cell of [
        r.data,
        r.method,
        String(r.k),
        fmt(r.accuracy, 4),
        fmt(r.medianRadius, 3),
        fmt(r.cert01, 3),
        fmt(r.noise05, 3),
        String(r.iterations),
        r.converged ? "yes" : "no",
        r.seconds.toFixed(2),
      ]) {
        const td = document.createElement("td");
        td.textContent = cell;
        tr.appendChild(td);
      }
      return tr;
    }),
  );
}

function showFit(v: FitView): void {
  view = v;
  selected = undefined;
  attackView = undefined;
  ui.results.dataset.state = "fitted";
  ui.accuracy.textContent = `${(100 * v.accuracy).toFixed(2)}%`;
  ui.accuracy.dataset.value = String(v.accuracy);
  ui.fitInfo.textContent =
    `${v.method} on ${v.data.name} (${v.nTrain} training / ${v.nTest} test rows, ${v.data.p} features), ${v.k}-NN: ` +
    `${v.iterations} iterations, ${v.converged ? "converged" : "NOT converged"}, ${v.seconds.toFixed(2)} s` +
    (v.warnings.length ? `. Warnings: ${v.warnings.join("; ")}` : "");
  ui.exportBtn.disabled = false;
  ui.attackAll.disabled = false;
  attackCurve = undefined;
  ui.attack.dataset.state = "none";
  ui.attack.textContent = "No point selected: click a test point (filled dot).";
  draw();
  history.push({ key: lastKey, view: v });
  curves(lastKey);
  addCompareRow(v);
}

ui.exportBtn.addEventListener("click", () => {
  if (!view) return;
  const blob = new Blob([view.model], { type: "application/json" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `${view.method}-${view.data.name}.model.json`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
});

ui.data.addEventListener("change", buildDataParams);
ui.showRadii.addEventListener("change", draw);
ui.dataParams.addEventListener("change", inspect);
ui.method.addEventListener("change", buildParams);
ui.fit.addEventListener("click", fit);
ui.attackAll.addEventListener("click", () => {
  if (!view || !workerFitted || pending?.kind === "fit") return;
  ui.attackAll.disabled = true;
  ui.status.textContent = "attacking test points…";
  send({ type: "attackAll", id: nextId++ });
});
ui.stop.addEventListener("click", stop);

startWorker();
buildDataParams();
