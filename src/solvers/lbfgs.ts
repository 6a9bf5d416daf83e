import { RobustMetricError } from "../errors.js";

/** Options of {@link lbfgs}. */
export interface LbfgsOptions {
  /** Iteration cap (default 100). */
  maxIterations?: number;
  /** Stop when ‖∇f‖∞ ≤ gradTol (default 1e−6)… */
  gradTol?: number;
  /** …or when the relative decrease of f in one step is below relTol (default 1e−9). */
  relTol?: number;
  /** Number of stored correction pairs (default 10). */
  memory?: number;
  onIteration?: (iteration: number, value: number) => void;
}

/** What {@link lbfgs} returns. */
export interface LbfgsResult {
  x: Float64Array;
  value: number;
  iterations: number;
  converged: boolean;
  /** f(x₀), then f after each iteration. */
  trace: number[];
  message: string;
}

/** max |v_i| (exact in any order); NaN when any entry is NaN, as Math.max would give. */
function maxAbs(v: Float64Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]!);
    if (a > m) m = a;
    else if (Number.isNaN(a)) return Number.NaN;
  }
  return m;
}

const dot = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/** d −= a·y, then (when given) s·d over the updated d. */
function subDot(d: Float64Array, a: number, y: Float64Array, s: Float64Array | undefined): number {
  let acc = 0;
  if (!s) {
    for (let i = 0; i < d.length; i++) d[i]! -= a * y[i]!;
    return acc;
  }
  for (let i = 0; i < d.length; i++) {
    const v = d[i]! - a * y[i]!;
    d[i] = v;
    acc += s[i]! * v;
  }
  return acc;
}

/** d += x·c, then (when given) y·d over the updated d. */
function addDot(d: Float64Array, c: number, x: Float64Array, y: Float64Array | undefined): number {
  let acc = 0;
  if (!y) {
    for (let i = 0; i < d.length; i++) d[i]! += x[i]! * c;
    return acc;
  }
  for (let i = 0; i < d.length; i++) {
    const v = d[i]! + x[i]! * c;
    d[i] = v;
    acc += y[i]! * v;
  }
  return acc;
}

/** d ← d·γ, then (when given) y·d over the scaled d. */
function scaleDot(d: Float64Array, gamma: number, y: Float64Array | undefined): number {
  let acc = 0;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]! * gamma;
    d[i] = v;
    if (y) acc += y[i]! * v;
  }
  return acc;
}

/** d ← −d, then d·g. */
function negateDot(d: Float64Array, g: Float64Array): number {
  let acc = 0;
  for (let i = 0; i < d.length; i++) {
    const v = -d[i]!;
    d[i] = v;
    acc += v * g[i]!;
  }
  return acc;
}

/**
 * Limited-memory BFGS (Nocedal & Wright, Numerical Optimization, 2nd ed., Alg. 7.4 and 7.5) with a line search
 * satisfying the strong Wolfe conditions (c₁ = 1e−4, c₂ = 0.9; bracketing and zoom by safeguarded cubic
 * interpolation, Alg. 3.5/3.6). `f(x, grad)` returns f(x) and writes ∇f(x) into `grad`.
 *
 * @throws RobustMetricError NUMERICAL when f or its gradient is not finite at the start, naming the value.
 * @example
 * const r = lbfgs((x, g) => { g[0] = 2 * (x[0] - 3); return (x[0] - 3) ** 2; }, Float64Array.of(0));
 */
export function lbfgs(
  f: (x: Float64Array, grad: Float64Array) => number,
  x0: Float64Array,
  opts: LbfgsOptions = {},
): LbfgsResult {
  const maxIt = opts.maxIterations ?? 100;
  const gradTol = opts.gradTol ?? 1e-6;
  const relTol = opts.relTol ?? 1e-9;
  const m = opts.memory ?? 10;
  const n = x0.length;
  let x: Float64Array = x0.slice();
  let g: Float64Array = new Float64Array(n);
  let fx = f(x, g);
  if (!Number.isFinite(fx) || !g.every(Number.isFinite)) {
    throw new RobustMetricError(
      "NUMERICAL",
      `L-BFGS: the objective or its gradient is not finite at the start (f = ${fx})`,
    );
  }
  // the stored correction pairs, oldest first, with ρ = 1/sᵀy and sᵀy, yᵀy
  const H: Array<{ s: Float64Array; y: Float64Array; rho: number; sy: number; yy: number }> = [];
  const trace = [fx];
  const d = new Float64Array(n);
  const alpha = new Float64Array(m);
  if (maxAbs(g) <= gradTol)
    return { x, value: fx, iterations: 0, converged: true, trace, message: "gradient below tolerance" };
  for (let it = 1; it <= maxIt; it++) {
    // two-loop recursion: d = −H∇f. Each update of d is fused with the dot product that reads it next (the same
    // operations in the same order as update, then dot: the dot products' one accumulator is the loop's bottleneck)
    const K = H.length;
    d.set(g);
    let a = K ? H[K - 1]!.rho * dot(H[K - 1]!.s, d) : 0;
    for (let k = K - 1; k >= 0; k--) {
      alpha[k] = a;
      const next = subDot(d, a, H[k]!.y, H[k - 1]?.s);
      if (k > 0) a = H[k - 1]!.rho * next;
    }
    // γ = sᵀy / yᵀy of the newest pair
    const gamma = K ? H[K - 1]!.sy / H[K - 1]!.yy : 1 / Math.max(1, Math.sqrt(dot(g, g)));
    const first = scaleDot(d, gamma, H[0]?.y);
    let b = K ? H[0]!.rho * first : 0;
    for (let k = 0; k < K; k++) {
      const next = addDot(d, alpha[k]! - b, H[k]!.s, H[k + 1]?.y);
      if (k + 1 < K) b = H[k + 1]!.rho * next;
    }
    let dg = negateDot(d, g);
    if (!(dg < 0)) {
      // not a descent direction (numerical trouble): restart from steepest descent
      H.length = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i]!;
      dg = dot(d, g);
    }
    const ls = wolfe(f, x, fx, g, d, dg);
    if (!ls) {
      return { x, value: fx, iterations: it - 1, converged: false, trace, message: "line search failed" };
    }
    const s = new Float64Array(n);
    const yv = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = ls.x[i]! - x[i]!;
      yv[i] = ls.g[i]! - g[i]!;
    }
    const sy = dot(s, yv);
    const prev = fx;
    x = ls.x;
    g = ls.g;
    fx = ls.f;
    trace.push(fx);
    opts.onIteration?.(it, fx);
    const yy = dot(yv, yv);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * yy)) {
      if (H.length === m) H.shift();
      H.push({ s, y: yv, rho: 1 / sy, sy, yy });
    }
    if (maxAbs(g) <= gradTol)
      return { x, value: fx, iterations: it, converged: true, trace, message: "gradient below tolerance" };
    if (prev - fx <= relTol * Math.max(1, Math.abs(fx))) {
      return {
        x,
        value: fx,
        iterations: it,
        converged: true,
        trace,
        message: "relative decrease below tolerance",
      };
    }
  }
  return { x, value: fx, iterations: maxIt, converged: false, trace, message: "iteration cap reached" };
}

/** Strong-Wolfe line search along d from x (f0, g0, slope dg0 < 0); undefined if no acceptable step is found. */
function wolfe(
  f: (x: Float64Array, g: Float64Array) => number,
  x: Float64Array,
  f0: number,
  g0: Float64Array,
  d: Float64Array,
  dg0: number,
): { x: Float64Array; f: number; g: Float64Array } | undefined {
  const c1 = 1e-4;
  const c2 = 0.9;
  const n = x.length;
  const eval_ = (a: number): { a: number; x: Float64Array; f: number; g: Float64Array; dg: number } => {
    const xa = new Float64Array(n);
    for (let i = 0; i < n; i++) xa[i] = x[i]! + a * d[i]!;
    const ga = new Float64Array(n);
    const fa = f(xa, ga);
    return { a, x: xa, f: fa, g: ga, dg: dot(ga, d) };
  };
  type P = ReturnType<typeof eval_>;
  const zoom = (lo: P, hi: P): P | undefined => {
    for (let k = 0; k < 30; k++) {
      const a = cubicMin(lo, hi);
      const t = eval_(a);
      if (!Number.isFinite(t.f) || t.f > f0 + c1 * t.a * dg0 || t.f >= lo.f) hi = t;
      else {
        if (Math.abs(t.dg) <= -c2 * dg0) return t;
        if (t.dg * (hi.a - lo.a) >= 0) hi = lo;
        lo = t;
      }
      if (Math.abs(hi.a - lo.a) < 1e-16 * Math.max(1, Math.abs(lo.a))) break;
    }
    return lo.a > 0 && lo.f < f0 ? lo : undefined;
  };
  let prev: P = { a: 0, x, f: f0, g: g0, dg: dg0 };
  let a = 1;
  for (let k = 0; k < 30; k++) {
    const cur = eval_(a);
    if (!Number.isFinite(cur.f) || cur.f > f0 + c1 * a * dg0 || (k > 0 && cur.f >= prev.f))
      return zoom(prev, cur);
    if (Math.abs(cur.dg) <= -c2 * dg0) return cur;
    if (cur.dg >= 0) return zoom(cur, prev);
    prev = cur;
    a *= 2;
  }
  return undefined;
}

/** Minimiser of the cubic through two points with slopes, safeguarded to the inner 80 % of the interval. */
function cubicMin(p: { a: number; f: number; dg: number }, q: { a: number; f: number; dg: number }): number {
  const lo = Math.min(p.a, q.a);
  const hi = Math.max(p.a, q.a);
  let a = (lo + hi) / 2;
  if (Number.isFinite(q.f) && Number.isFinite(q.dg)) {
    const d1 = p.dg + q.dg - (3 * (p.f - q.f)) / (p.a - q.a);
    const disc = d1 * d1 - p.dg * q.dg;
    if (disc >= 0) {
      const d2 = Math.sign(q.a - p.a) * Math.sqrt(disc);
      const c = q.a - (q.a - p.a) * ((q.dg + d2 - d1) / (q.dg - p.dg + 2 * d2));
      if (Number.isFinite(c)) a = c;
    }
  }
  const w = hi - lo;
  return Math.min(hi - 0.1 * w, Math.max(lo + 0.1 * w, a));
}
