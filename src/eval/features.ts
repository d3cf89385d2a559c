// Frozen-encoder feature extraction for the kNN monitor and the linear probe.
import { empty } from "../../ffi/creation.ts";
import { perChannel } from "../augment/two_views.ts";
import { type Device, deviceCode } from "../../ffi/device.ts";
import type { Tensor } from "../../ffi/tensor.ts";
import { tidy } from "../../ffi/memory.ts";
import { noGrad } from "../../ffi/runtime.ts";

export interface ExtractOptions {
  /** Images per forward pass (default 512). */
  batchSize?: number;
  /** Per-channel mean and std applied after scaling pixels to [0, 1]. */
  normalize: { mean: number[]; std: number[] };
  /**
   * Where `forward` runs and the features go (default: the images' device);
   * images elsewhere (on the host, a mapped cache) are sent one batch at a time.
   */
  device?: Device | string;
}

/**
 * Runs `forward` over `images` in batches and returns float32 (N, D) features
 * on `opts.device` (default the images' device).
 *
 * `images` is uint8 (N, C, H, W) (scaled by 1/255), or floating point already
 * in [0, 1]. Each batch runs under noGrad in its own tidy scope, so memory
 * stays at one batch's activations. The caller puts the encoder in eval mode
 * (BatchNorm must use its running statistics here).
 */
export function extractFeatures(
  forward: (x: Tensor) => Tensor,
  images: Tensor,
  opts: ExtractOptions,
): Tensor {
  const batchSize = opts.batchSize ?? 512;
  if (!(Number.isInteger(batchSize) && batchSize > 0)) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  }
  const shape = images.shape;
  if (shape.length !== 4) {
    throw new TypeError(`images must be (N, C, H, W), got [${shape}]`);
  }
  const [n, c] = shape;
  const { mean, std } = opts.normalize;
  if (mean.length !== c || std.length !== c) {
    throw new RangeError(
      `normalize needs ${c} means and stds, got ${mean.length} and ${std.length}`,
    );
  }
  if (std.some((s) => !(s > 0))) throw new RangeError(`std must be positive, got [${std}]`);
  const device = opts.device ?? images.device;
  // "cuda" and "cuda:0" are one device: no copy between them.
  const moved = deviceCode(device) !== deviceCode(images.device);
  const scale = images.dtype === "uint8" ? 1 / 255 : 1;
  // (x * scale - mean) / std == x * (scale / std) + (-mean / std): one mul, one add.
  // Filled on the device (perChannel): the online probe's image features run
  // inside a step captured in a CUDA graph, where a host copy cannot.
  using mul = perChannel(std.map((s) => scale / s), { device });
  using add = perChannel(mean.map((m, i) => -m / std[i]), { device });

  const rows = (start: number, len: number): Tensor =>
    moved ? images.narrow(0, start, len).to({ device }) : images.narrow(0, start, len);
  const batch = (start: number, len: number): Tensor =>
    forward(rows(start, len).float().mul(mul).add(add)).flatten(1);
  // The first batch tells the feature width; the result is then allocated once
  // (in the caller's scope) and every batch writes its rows into it.
  const len0 = Math.min(batchSize, n);
  if (len0 === 0) throw new RangeError("images holds no images");
  const first = tidy(() => noGrad(() => batch(0, len0)));
  const out = empty([n, first.size(1)], { device });
  try {
    noGrad(() => out.narrow(0, 0, len0).copy_(first).dispose());
    first.dispose();
    for (let start = len0; start < n; start += batchSize) {
      const len = Math.min(batchSize, n - start);
      tidy(() => {
        noGrad(() => out.narrow(0, start, len).copy_(batch(start, len)));
      });
    }
  } catch (e) {
    first[Symbol.dispose]();
    out.dispose();
    throw e;
  }
  return out;
}
