// Small hand-drawn SVG plots: a scatter panel with equal axis scales (so distances and certified-radius circles
// keep their shape) and a line chart. No plotting library: the page stays small and every mark is a DOM node the
// e2e test can find.

const NS = "http://www.w3.org/2000/svg";

/** Category colours (colour-blind-friendly Okabe–Ito, then a few more). */
export const PALETTE = [
  "#0072b2",
  "#e69f00",
  "#009e73",
  "#cc79a7",
  "#d55e00",
  "#56b4e9",
  "#f0e442",
  "#7f7f7f",
  "#8c564b",
  "#17becf",
];

export const colour = (c: number): string =>
  PALETTE[((c % PALETTE.length) + PALETTE.length) % PALETTE.length]!;

export function el<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  parent?: Element,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent?.appendChild(e);
  return e;
}

export function clear(svg: SVGSVGElement): void {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
}

/** Linear map of data coordinates to pixels, equal units on both axes, y up. */
export interface Frame {
  px: (x: number) => number;
  py: (y: number) => number;
  /** Pixels per data unit (both axes). */
  unit: number;
  width: number;
  height: number;
  /** Data coordinates of a pixel. */
  inv: (px: number, py: number) => [number, number];
}

const PAD = 28;

function niceTicks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => span / s <= count) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9 * step; t += step) out.push(Number(t.toFixed(10)));
  return out;
}

/** An equal-aspect frame around the points (x, y), at least `extent` wide on each axis. */
export function equalFrame(
  svg: SVGSVGElement,
  xs: number[],
  ys: number[],
  bounds?: { x0: number; x1: number; y0: number; y1: number },
): Frame {
  const width = svg.viewBox.baseVal.width || 420;
  const height = svg.viewBox.baseVal.height || 420;
  let x0 = bounds?.x0 ?? Math.min(...xs);
  let x1 = bounds?.x1 ?? Math.max(...xs);
  let y0 = bounds?.y0 ?? Math.min(...ys);
  let y1 = bounds?.y1 ?? Math.max(...ys);
  if (!bounds) {
    const mx = 0.06 * (x1 - x0 || 1);
    const my = 0.06 * (y1 - y0 || 1);
    x0 -= mx;
    x1 += mx;
    y0 -= my;
    y1 += my;
  }
  const unit = Math.min((width - 2 * PAD) / (x1 - x0 || 1), (height - 2 * PAD) / (y1 - y0 || 1));
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const px = (x: number) => width / 2 + (x - cx) * unit;
  const py = (y: number) => height / 2 - (y - cy) * unit;
  const inv = (a: number, b: number): [number, number] => [
    cx + (a - width / 2) / unit,
    cy - (b - height / 2) / unit,
  ];
  return { px, py, unit, width, height, inv };
}

/** A clip path of the frame's plotting area (radius circles and regions stay inside it); returns its url(). */
export function clipToFrame(svg: SVGSVGElement, f: Frame): string {
  const id = `clip-${svg.id || "plot"}`;
  if (svg.querySelector(`#${id}`)) return `url(#${id})`;
  const defs = el("defs", {}, svg);
  const cp = el("clipPath", { id }, defs);
  el("rect", { x: PAD, y: PAD, width: f.width - 2 * PAD, height: f.height - 2 * PAD }, cp);
  return `url(#${id})`;
}

/** Light axes with ticks for a frame. */
export function axes(svg: SVGSVGElement, f: Frame, xLabel: string, yLabel: string): void {
  const g = el("g", { class: "axes" }, svg);
  const [dx0, dy0] = f.inv(PAD, f.height - PAD);
  const [dx1, dy1] = f.inv(f.width - PAD, PAD);
  el("rect", { x: PAD, y: PAD, width: f.width - 2 * PAD, height: f.height - 2 * PAD, class: "frame" }, g);
  for (const t of niceTicks(dx0, dx1, 6)) {
    el("line", { x1: f.px(t), x2: f.px(t), y1: f.height - PAD, y2: f.height - PAD + 4, class: "tick" }, g);
    el(
      "text",
      { x: f.px(t), y: f.height - PAD + 14, class: "ticklabel", "text-anchor": "middle" },
      g,
    ).textContent = String(t);
  }
  for (const t of niceTicks(dy0, dy1, 6)) {
    el("line", { x1: PAD - 4, x2: PAD, y1: f.py(t), y2: f.py(t), class: "tick" }, g);
    el("text", { x: PAD - 6, y: f.py(t) + 3, class: "ticklabel", "text-anchor": "end" }, g).textContent =
      String(t);
  }
  el(
    "text",
    { x: f.width / 2, y: f.height - 2, class: "axislabel", "text-anchor": "middle" },
    g,
  ).textContent = xLabel;
  el(
    "text",
    {
      x: 10,
      y: f.height / 2,
      class: "axislabel",
      "text-anchor": "middle",
      transform: `rotate(-90 10 ${f.height / 2})`,
    },
    g,
  ).textContent = yLabel;
}

/** An arrow from (x0, y0) to (x1, y1) in data coordinates; the marker is defined once per svg. */
export function arrow(
  svg: SVGSVGElement,
  f: Frame,
  from: [number, number],
  to: [number, number],
  cls: string,
): void {
  if (!svg.querySelector("#arrowhead")) {
    const defs = el("defs", {}, svg);
    const m = el(
      "marker",
      {
        id: "arrowhead",
        viewBox: "0 0 10 10",
        refX: 9,
        refY: 5,
        markerWidth: 7,
        markerHeight: 7,
        orient: "auto",
      },
      defs,
    );
    el("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }, m);
  }
  el(
    "line",
    {
      x1: f.px(from[0]),
      y1: f.py(from[1]),
      x2: f.px(to[0]),
      y2: f.py(to[1]),
      class: cls,
      "marker-end": "url(#arrowhead)",
    },
    svg,
  );
}

export interface Series {
  name: string;
  x: number[];
  y: number[];
  colour: string;
  /** Draw as a step function (certified accuracy is right-continuous). */
  step?: boolean;
  /** Dashed (bounds from attacks). */
  dash?: boolean;
}

/** A line chart with y in [0, 1]. */
export function lineChart(svg: SVGSVGElement, series: Series[], xLabel: string, yLabel: string): void {
  clear(svg);
  const width = svg.viewBox.baseVal.width || 420;
  const height = svg.viewBox.baseVal.height || 260;
  const L = 44;
  const R = 12;
  const T = 12;
  const B = 34;
  const xMax = Math.max(1e-9, ...series.flatMap((s) => s.x));
  const px = (x: number) => L + (x / xMax) * (width - L - R);
  const py = (y: number) => height - B - y * (height - T - B);
  const g = el("g", { class: "axes" }, svg);
  el("rect", { x: L, y: T, width: width - L - R, height: height - T - B, class: "frame" }, g);
  for (const t of niceTicks(0, xMax, 6)) {
    el("line", { x1: px(t), x2: px(t), y1: height - B, y2: height - B + 4, class: "tick" }, g);
    el("text", { x: px(t), y: height - B + 14, class: "ticklabel", "text-anchor": "middle" }, g).textContent =
      String(t);
  }
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    el("line", { x1: L, x2: width - R, y1: py(t), y2: py(t), class: "gridline" }, g);
    el("text", { x: L - 6, y: py(t) + 3, class: "ticklabel", "text-anchor": "end" }, g).textContent =
      t.toFixed(2);
  }
  el(
    "text",
    { x: (L + width - R) / 2, y: height - 4, class: "axislabel", "text-anchor": "middle" },
    g,
  ).textContent = xLabel;
  el(
    "text",
    {
      x: 12,
      y: (T + height - B) / 2,
      class: "axislabel",
      "text-anchor": "middle",
      transform: `rotate(-90 12 ${(T + height - B) / 2})`,
    },
    g,
  ).textContent = yLabel;
  if (series.length)
    el(
      "rect",
      { x: width - R - 156, y: T + 3, width: 152, height: 14 * series.length + 4, class: "legendbox" },
      svg,
    );
  series.forEach((s, si) => {
    let d = "";
    s.x.forEach((x, i) => {
      const y = s.y[i]!;
      if (i === 0) d += `M${px(x)},${py(y)}`;
      else if (s.step) d += `H${px(x)}V${py(y)}`;
      else d += `L${px(x)},${py(y)}`;
    });
    el(
      "path",
      {
        d,
        class: `series${s.dash ? " dashed" : ""}`,
        stroke: s.colour,
        "data-series": s.name,
        "data-y": s.y.join(" "),
      },
      svg,
    );
    const ly = T + 12 + 14 * si;
    el(
      "line",
      { x1: width - R - 130, x2: width - R - 112, y1: ly, y2: ly, stroke: s.colour, class: "legendline" },
      svg,
    );
    el("text", { x: width - R - 122, y: ly + 4, class: "legend" }, svg).textContent = s.name;
  });
}
