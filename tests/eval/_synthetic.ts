// Synthetic features with a known answer for the kNN and linear-probe tests.
import { randint, randn, type Tensor, tidy } from "../../mod.ts";

/**
 * `n` samples around the rows of `centres` (C, D) with unit Gaussian noise,
 * labels uniform over the C rows. With `randn([C, D]).mul(10)` as centres the
 * clusters are far apart in angle as well as in distance, so kNN and a linear
 * model both get every sample right. Pass the same centres for train and test.
 */
export function clusters(
  centres: Tensor,
  n: number,
): { x: Tensor; y: Tensor } {
  return tidy(() => {
    const [c, d] = centres.shape;
    const y = randint(0, c, [n]);
    const x = centres.indexSelect(0, y).add(randn([n, d]));
    return { x, y };
  });
}

/** Labels drawn independently of the features: the best any classifier can do is chance. */
export function noise(n: number, dim: number, numClasses: number): { x: Tensor; y: Tensor } {
  return { x: randn([n, dim]), y: randint(0, numClasses, [n]) };
}

/**
 * Half-width of a binomial acceptance band, in percent: `z` standard
 * deviations of the hit rate of `n` independent trials with success `p`.
 */
export function binomialBand(n: number, p: number, z = 4.5): number {
  return (100 * z * Math.sqrt(p * (1 - p) * n)) / n;
}
