// Splits named parameters into a decayed group and an excluded one (biases and
// normalisation parameters: no weight decay, no LARS adaptation), as BYOL does.
import type { Tensor } from "../../ffi/tensor.ts";
import type { ParamGroup } from "./optimizer.ts";

/** Default exclusion: biases and normalisation weights, i.e. every tensor of at most 1 dim. */
export function isBiasOrNorm(name: string, p: Tensor): boolean {
  return p.ndim <= 1 || name === "bias" || name.endsWith(".bias");
}

/** Options any optimizer's group may carry (LARS reads `lars`, the others ignore it). */
export interface ExcludedGroupOptions {
  weightDecay: number;
  lars: boolean;
}

/**
 * `[decayed, excluded]` parameter groups from `namedParameters()`: the second
 * holds what `exclude` matches, with `weightDecay: 0` and `lars: false`. Both
 * carry names, in the order given. Works for SGD, AdamW and LARS.
 */
export function decayParamGroups(
  named: readonly (readonly [string, Tensor])[],
  { exclude = isBiasOrNorm }: { exclude?: (name: string, p: Tensor) => boolean } = {},
): [ParamGroup<ExcludedGroupOptions>, ParamGroup<ExcludedGroupOptions>] {
  const decayed: ParamGroup<ExcludedGroupOptions> = { params: [], names: [] };
  const excluded: ParamGroup<ExcludedGroupOptions> = {
    params: [],
    names: [],
    weightDecay: 0,
    lars: false,
  };
  for (const [name, p] of named) {
    const g = exclude(name, p) ? excluded : decayed;
    g.params.push(p);
    g.names!.push(name);
  }
  return [decayed, excluded];
}
