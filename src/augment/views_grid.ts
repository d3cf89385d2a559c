// A picture of an augmentation at work: one row per image, columns original /
// view 1 / view 2 (de-normalised, nearest-neighbour upscaled), as RGBA pixels.
// `deno task preview` writes it as a PNG; the TensorBoard logger shows it at
// the start of a run.
import { tensor } from "../../ffi/creation.ts";
import { interpolate } from "../../ffi/functional.ts";
import { tidy } from "../../ffi/memory.ts";
import type { Generator } from "../../ffi/generator.ts";
import type { Tensor } from "../../ffi/tensor.ts";
import { sizePair } from "./config.ts";
import type { Augment } from "./two_views.ts";

export interface ViewsGrid {
  width: number;
  height: number;
  /** width x height x 4 bytes, row-major RGBA. */
  rgba: Uint8Array;
  rows: number;
}

/**
 * The grid for `images` (uint8 N, C, H, W) with views drawn from `generator`
 * (which advances as a step's would).
 */
export function viewsGrid(images: Tensor, augment: Augment, generator: Generator): ViewsGrid {
  const [outH, outW] = sizePair(augment.config.view1.size);
  const n = images.size(0);
  const c = images.size(1);
  // De-normalised views and the resized original as uint8 (N, C, outH, outW).
  const columns: Uint8Array[] = tidy(() => {
    const [v1, v2] = augment.twoViews(images, generator);
    const denorm = (v: Tensor, mean: number[], std: number[]) => {
      const opts = { shape: [1, c, 1, 1], device: v.device };
      return v.float().mul(tensor(new Float32Array(std), opts)).add(
        tensor(new Float32Array(mean), opts),
      );
    };
    const original = interpolate(images.float().div(255), [outH, outW], {
      mode: "bilinear",
      antialias: true,
    });
    const { view1, view2 } = augment.config;
    return [original, denorm(v1, view1.mean, view1.std), denorm(v2, view2.mean, view2.std)].map(
      (t) =>
        t.mul(255).round().clamp({ min: 0, max: 255 }).to({ dtype: "uint8", device: "cpu" })
          .contiguous().toBytes(),
    );
  });
  // Nearest-neighbour upscale to at least 96 px per cell, with a 4 px gutter.
  const zoom = Math.max(1, Math.ceil(96 / Math.max(outH, outW)));
  const gap = 4;
  const cellW = outW * zoom;
  const cellH = outH * zoom;
  const W = 3 * cellW + 4 * gap;
  const H = n * cellH + (n + 1) * gap;
  const rgba = new Uint8Array(W * H * 4);
  for (let i = 0; i < W * H; i++) rgba.set([0x20, 0x20, 0x20, 0xff], i * 4);
  const plane = outH * outW;
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < 3; col++) {
      const src = columns[col];
      const x0 = gap + col * (cellW + gap);
      const y0 = gap + row * (cellH + gap);
      for (let y = 0; y < cellH; y++) {
        const sy = Math.floor(y / zoom);
        for (let x = 0; x < cellW; x++) {
          const sx = Math.floor(x / zoom);
          const base = row * c * plane + sy * outW + sx;
          const o = ((y0 + y) * W + x0 + x) * 4;
          for (let k = 0; k < 3; k++) rgba[o + k] = src[base + (c === 3 ? k : 0) * plane];
          rgba[o + 3] = 255;
        }
      }
    }
  }
  return { width: W, height: H, rgba, rows: n };
}

/** The grid as PNG bytes (imagescript, loaded on first use: it needs --allow-ffi). */
export async function viewsGridPng(grid: ViewsGrid): Promise<Uint8Array> {
  const { Image } = await import("../../deps/imagescript.ts");
  const img = new Image(grid.width, grid.height);
  img.bitmap.set(grid.rgba);
  return await img.encode();
}
