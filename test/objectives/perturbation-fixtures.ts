// Fixtures of reference/perturbation-loss.md used by several test files (spec values, not computed here).
import { fromRows } from "../../src/linalg/mat.js";

/** §8.2 tiny fixture: six 2-D points, two classes, k = 2 targets, v = 2 impostors. */
export const TINY_X = fromRows([
  [0, 0],
  [1, 0.2],
  [0.3, 0.9],
  [1.2, 1.1],
  [2, 0.4],
  [0.8, 1.6],
]);
export const TINY_Y = Int32Array.from([0, 0, 0, 1, 1, 1]);

/** §4: the 24 triplets (i, j, l) of the tiny fixture in the authors' order, 1-based as printed. */
const TRIPLETS_1BASED = [
  [1, 3, 4],
  [1, 3, 6],
  [1, 2, 4],
  [1, 2, 6],
  [2, 3, 4],
  [2, 3, 5],
  [2, 1, 4],
  [2, 1, 5],
  [3, 1, 6],
  [3, 1, 4],
  [3, 2, 6],
  [3, 2, 4],
  [4, 6, 3],
  [4, 6, 2],
  [4, 5, 3],
  [4, 5, 2],
  [5, 4, 2],
  [5, 4, 3],
  [5, 6, 2],
  [5, 6, 3],
  [6, 4, 3],
  [6, 4, 2],
  [6, 5, 3],
  [6, 5, 2],
];
export const TINY_TRIPLETS = {
  anchor: Int32Array.from(TRIPLETS_1BASED, (t) => t[0]! - 1),
  target: Int32Array.from(TRIPLETS_1BASED, (t) => t[1]! - 1),
  impostor: Int32Array.from(TRIPLETS_1BASED, (t) => t[2]! - 1),
};

/** The second fixed state of §8.2 (also the §1.4 matrix). */
export const TINY_M2 = fromRows([
  [1.5, 0.3],
  [0.3, 0.8],
]);

/** §8.2 settings. */
export const TINY_SETTINGS = { k: 2, v: 2, mu: 0.5, lambda: 2, tau: 0.3 };

/** §8.2 reference values at the two fixed states: F, symmetrised gradient, violated / PL-active / hinge-active. */
export const TINY_STATES = [
  {
    F: 1.2112700600671,
    G: [
      [0.310628961552394, -0.449514260562911],
      [-0.449514260562911, 0.40270437177812],
    ],
    violated: 12,
    plActive: 6,
    hingeActive: 18,
  },
  {
    F: 1.03375013536359,
    G: [
      [0.382257218929429, -0.440049436671439],
      [-0.440049436671439, 0.371351667007575],
    ],
    violated: 6,
    plActive: 9,
    hingeActive: 16,
  },
];
