import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/data/rng.js";
import { fromRows, gemmAtB, type Mat, zeros } from "../../src/linalg/index.js";
import { MahalanobisMetric } from "../../src/metric/mahalanobis.js";

function rand(rows: number, cols: number, rng: Rng): Mat {
  const m = zeros(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal();
  return m;
}
function quad(M: Mat, x: number[], y: number[]): number {
  const p = M.rows;
  let s = 0;
  for (let i = 0; i < p; i++)
    for (let j = 0; j < p; j++) s += (x[i]! - y[i]!) * M.data[i * p + j]! * (x[j]! - y[j]!);
  return s;
}

describe("MahalanobisMetric", () => {
  const rng = new Rng(11);
  const L = rand(3, 4, rng);
  const metric = MahalanobisMetric.fromL(L);
  const M = gemmAtB(L, L);

  it("distance is (x − y)ᵀM(x − y); matrix() = LᵀL; fromM round trip", () => {
    const x = [1, -2, 0.5, 3];
    const y = [0.3, 1, -1, 2];
    expect(metric.distance(x, y, { squared: true })).toBeCloseTo(quad(M, x, y), 12);
    expect(metric.distance(x, y)).toBeCloseTo(Math.sqrt(quad(M, x, y)), 12);
    expect(
      Array.from(metric.matrix().data)
        .map((v, i) => Math.abs(v - M.data[i]!))
        .every((d) => d < 1e-14),
    ).toBe(true);
    const back = MahalanobisMetric.fromM(metric.matrix());
    const Mb = back.matrix();
    for (let i = 0; i < 16; i++) expect(Mb.data[i]).toBeCloseTo(M.data[i]!, 12);
    expect(back.distance(x, y, { squared: true })).toBeCloseTo(quad(M, x, y), 11);
    expect(MahalanobisMetric.identity(4).distance(x, y, { squared: true })).toBeCloseTo(
      x.reduce((s, v, i) => s + (v - y[i]!) ** 2, 0),
      14,
    );
  });

  it("pairwiseSquared equals distance() and is exact far from the origin", () => {
    const A = rand(5, 4, rng);
    const B = rand(7, 4, rng);
    const D = metric.pairwiseSquared(A, B);
    for (let i = 0; i < 5; i++)
      for (let j = 0; j < 7; j++) {
        const a = Array.from(A.data.subarray(i * 4, i * 4 + 4));
        const b = Array.from(B.data.subarray(j * 4, j * 4 + 4));
        expect(D.data[i * 7 + j]).toBeCloseTo(metric.distance(a, b, { squared: true }), 12);
      }
    const s = MahalanobisMetric.fromM(
      fromRows([
        [4, 0],
        [0, 1],
      ]),
    );
    const shifted = 1e8 + 1e-3;
    const gap = shifted - 1e8;
    expect(s.pairwiseSquared(fromRows([[1e8, 5]]), fromRows([[shifted, 5]])).data[0]).toBeCloseTo(
      4 * gap * gap,
      18,
    );
  });

  it("properties: symmetry, d(x, x) = 0, triangle inequality of the unsquared distance", () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const r = new Rng(seed);
        const m = MahalanobisMetric.fromL(rand(2, 3, r));
        const [x, y, z] = [0, 1, 2].map(() => [r.normal(), r.normal(), r.normal()]) as [
          number[],
          number[],
          number[],
        ];
        const dxy = m.distance(x, y);
        return (
          Math.abs(dxy - m.distance(y, x)) < 1e-12 &&
          m.distance(x, x) === 0 &&
          m.distance(x, z) <= dxy + m.distance(y, z) + 1e-12
        );
      }),
      { numRuns: 300 },
    );
  });

  it("transform is X·Lᵀ and checks columns", () => {
    const X = rand(2, 4, rng);
    const T = metric.transform(X);
    expect([T.rows, T.cols]).toEqual([2, 3]);
    let s = 0;
    for (let k = 0; k < 4; k++) s += X.data[k]! * L.data[k]!;
    expect(T.data[0]).toBeCloseTo(s, 14);
    expect(() => metric.transform(zeros(2, 3))).toThrow(/3 columns, the metric expects 4/);
  });

  it("fromM rejects asymmetric, indefinite and non-finite matrices", () => {
    expect(() =>
      MahalanobisMetric.fromM(
        fromRows([
          [1, 0.5],
          [0.4, 1],
        ]),
      ),
    ).toThrow(/not symmetric: M\[0\]\[1\] = 0.5 but M\[1\]\[0\] = 0.4/);
    expect(() =>
      MahalanobisMetric.fromM(
        fromRows([
          [1, 2],
          [2, 1],
        ]),
      ),
    ).toThrow(/not positive semi-definite: smallest eigenvalue -(1|0\.9999)/);
    expect(() =>
      MahalanobisMetric.fromM(
        fromRows([
          [1, Number.NaN],
          [Number.NaN, 1],
        ]),
      ),
    ).toThrow(/non-finite/);
    expect(() => MahalanobisMetric.fromM(zeros(2, 3))).toThrow(/M is 2×3/);
    // rounding-level negative eigenvalues are accepted and clipped
    expect(
      MahalanobisMetric.fromM(
        fromRows([
          [1, 1],
          [1, 1 - 1e-13],
        ]),
      ).p,
    ).toBe(2);
  });

  it("JSON round trip; fromJSON names the bad field", () => {
    const back = MahalanobisMetric.fromJSON(JSON.parse(JSON.stringify(metric.toJSON())));
    expect(Array.from(back.components().data)).toEqual(Array.from(L.data));
    expect(() => MahalanobisMetric.fromJSON({ p: 2, q: 1, L: [[1, "x"]] })).toThrow(
      /metric\.L\[0\]\[1\] is not a finite number/,
    );
    expect(() => MahalanobisMetric.fromJSON({ p: 2, q: 2, L: [[1, 0]] })).toThrow(
      /1 rows but metric\.q is 2/,
    );
    expect(() => MahalanobisMetric.fromJSON({ p: 3, q: 1, L: [[1, 0]] })).toThrow(
      /metric\.L\[0\] has 2 values but metric\.p is 3/,
    );
    expect(() => MahalanobisMetric.fromJSON({ p: 0, q: 1, L: [] })).toThrow(/metric\.p/);
    expect(() => MahalanobisMetric.fromJSON(null)).toThrow(/metric must be an object/);
  });
});
