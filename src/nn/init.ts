// Initialisers equal in distribution to torch.nn.init's, drawn from libtorch's
// default generator (seeded by manualSeed).
import { rand, randn } from "../../ffi/creation.ts";
import type { Tensor } from "../../ffi/tensor.ts";
import { tidy } from "../../ffi/memory.ts";

/** U(-bound, bound) of the given shape. */
export function uniform(shape: number[], bound: number): Tensor {
  return tidy(() => rand(shape).mul(2 * bound).sub(bound));
}

/** N(0, std^2). */
export function normal(shape: number[], std: number): Tensor {
  return tidy(() => randn(shape).mul(std));
}

/** fan_in and fan_out of a Linear or Conv weight, as torch.nn.init computes them. */
export function fans(shape: number[]): { fanIn: number; fanOut: number } {
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/**
 * kaiming_uniform_(a=sqrt(5)), PyTorch's default for Linear and Conv weights:
 * U(-b, b) with b = 1/sqrt(fan_in).
 */
export function defaultWeight(shape: number[]): Tensor {
  return uniform(shape, 1 / Math.sqrt(fans(shape).fanIn));
}

/** PyTorch's default bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
export function defaultBias(n: number, fanIn: number): Tensor {
  return uniform([n], fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0);
}

/** kaiming_normal_(mode="fan_out", nonlinearity="relu"): torchvision's ResNet convs. */
export function kaimingNormalFanOut(shape: number[]): Tensor {
  return normal(shape, Math.sqrt(2 / fans(shape).fanOut));
}
