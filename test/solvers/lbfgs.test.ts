import { describe, expect, it } from "vitest";
import { lbfgs } from "../../src/solvers/lbfgs.js";

describe("L-BFGS with a strong-Wolfe line search", () => {
  it("Rosenbrock from (−1.2, 1) to (1, 1)", () => {
    const r = lbfgs(
      (x, g) => {
        const [a, b] = [x[0]!, x[1]!];
        g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
        g[1] = 200 * (b - a * a);
        return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
      },
      Float64Array.of(-1.2, 1),
      { maxIterations: 200, gradTol: 1e-10, relTol: 0 },
    );
    expect(r.converged).toBe(true);
    expect(r.x[0]).toBeCloseTo(1, 8);
    expect(r.x[1]).toBeCloseTo(1, 8);
    for (let t = 1; t < r.trace.length; t++) expect(r.trace[t]!).toBeLessThanOrEqual(r.trace[t - 1]!);
  });

  it("a convex quadratic: the exact minimiser A⁻¹b; badly scaled (condition 1e6) too", () => {
    // f = ½ xᵀAx − bᵀx with A = diag(1, 10, 1e6)
    const A = [1, 10, 1e6];
    const b = [1, 2, 3];
    const r = lbfgs(
      (x, g) => {
        let f = 0;
        for (let i = 0; i < 3; i++) {
          g[i] = A[i]! * x[i]! - b[i]!;
          f += 0.5 * A[i]! * x[i]! ** 2 - b[i]! * x[i]!;
        }
        return f;
      },
      new Float64Array(3),
      { maxIterations: 100, gradTol: 1e-10, relTol: 0 },
    );
    expect(r.converged).toBe(true);
    for (let i = 0; i < 3; i++) expect(r.x[i]).toBeCloseTo(b[i]! / A[i]!, 9);
  });

  it("reports the iteration cap honestly and rejects a non-finite start", () => {
    const r = lbfgs(
      (x, g) => {
        g[0] = 4 * x[0]! ** 3;
        return x[0]! ** 4;
      },
      Float64Array.of(3),
      { maxIterations: 2, relTol: 0, gradTol: 0 },
    );
    expect(r.converged).toBe(false);
    expect(r.iterations).toBe(2);
    expect(r.message).toBe("iteration cap reached");
    expect(() => lbfgs(() => Number.NaN, Float64Array.of(0))).toThrow(/not finite at the start/);
  });
});
