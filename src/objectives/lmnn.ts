// The two LMNN terms (Weinberger & Saul, "Distance Metric Learning for Large Margin Nearest Neighbor
// Classification", JMLR 10, 2009, eq. 11–13) as terms over a triplet set evaluated by the shared TripletEngine:
// each term adds ∂F/∂d²_M(pair) to the engine's pair weights, and the engine turns those into the p×p gradient
// Σ w_ab C_ab in one Laplacian product (C_ab = (x_a − x_b)(x_a − x_b)ᵀ, ∂d²_M(a, b)/∂M = C_ab).
import { RobustMetricError } from "../errors.js";
import type { TripletEngine, TripletTerm } from "./perturbation.js";

/**
 * Pull term, eq. 12: weight · Σ_{(i,j) target pairs} d²_M(x_i, x_j), over the engine's extra pairs (the target
 * pairs given to its constructor). Gradient weight · Σ C_ij.
 *
 * @example new LmnnPull(mu / nPairs)
 */
export class LmnnPull implements TripletTerm {
  readonly name = "pull";
  readonly needsQ = false;
  constructor(readonly weight: number) {
    if (!(weight >= 0)) throw new RobustMetricError("BAD_INPUT", `pull weight must be ≥ 0, got ${weight}`);
  }

  accumulate(engine: TripletEngine, withGradient: boolean): number {
    const pairs = engine.extraPairs;
    let s = 0;
    for (let t = 0; t < pairs.length; t++) {
      const q = pairs[t]!;
      s += engine.dist[q]!;
      if (withGradient) engine.pairWeight[q]! += this.weight;
    }
    return this.weight * s;
  }
}

/**
 * Push term with unit margin, eq. 13: weight · Σ_{(i,j,l)} [1 + d²_M(x_i, x_j) − d²_M(x_i, x_l)]_+
 * = weight · Σ [margin − DM]_+. Gradient weight · Σ_{DM < margin} (C_ij − C_il). `active` counts the triplets
 * inside the hinge at the last evaluation.
 */
export class LmnnHinge implements TripletTerm {
  readonly name = "hinge";
  readonly needsQ = false;
  active = 0;
  constructor(
    readonly weight: number,
    readonly margin = 1,
  ) {
    if (!(weight >= 0)) throw new RobustMetricError("BAD_INPUT", `hinge weight must be ≥ 0, got ${weight}`);
  }

  accumulate(engine: TripletEngine, withGradient: boolean): number {
    // the engine's hinge kernel (wasm SIMD when available): Σ [margin − DM]_+ and the pair weights
    const sum = engine.kernels.hinge(this.margin, this.weight, withGradient);
    this.active = engine.kernels.buffers.counts[0]!;
    return this.weight * sum;
  }
}
