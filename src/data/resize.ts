/**
 * Bilinear resize of uint8 planes, computed the way Pillow's
 * `Image.resize(size, BILINEAR)` does (Pillow's Resample.c): a triangle filter
 * whose support grows with the downscale factor (so downscaling averages all
 * covered pixels, i.e. it antialiases), coefficients in 22-bit fixed point,
 * a horizontal pass rounded to uint8, then a vertical pass. torchvision's
 * `Resize((h, w))` on PIL images calls exactly this, so sizes and values
 * match what a torchvision ImageFolder pipeline sees.
 *
 * With `antialias: false` the filter support stays 1 pixel: plain bilinear
 * interpolation with half-pixel centres (torch `interpolate(...,
 * mode="bilinear", align_corners=False, antialias=False)`), which matches the
 * antialiased result when upscaling.
 */

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

interface Coeffs {
  /** Window size per output pixel. */
  ksize: number;
  /** First input index per output pixel. */
  start: Int32Array;
  /** Number of used taps per output pixel. */
  count: Int32Array;
  /** Fixed-point weights, `ksize` per output pixel. */
  k: Int32Array;
}

function triangle(x: number): number {
  if (x < 0) x = -x;
  return x < 1 ? 1 - x : 0;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear filter. */
function coeffs(inSize: number, outSize: number, antialias: boolean): Coeffs {
  const scale = inSize / outSize;
  const filterscale = antialias && scale > 1 ? scale : 1;
  const support = 1 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const k = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) truncates toward zero; the clamp to 0 makes that equal to floor here.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const v = triangle((x + xmin - center + 0.5) * ss);
      w[x] = v;
      ww += v;
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? w[x] / ww : w[x];
      // Bilinear weights are never negative, so Pillow's negative branch is unused.
      k[xx * ksize + x] = Math.trunc(0.5 + v * ONE);
    }
    start[xx] = xmin;
    count[xx] = xmax;
  }
  return { ksize, start, count, k };
}

function clip8(v: number): number {
  if (v >= ONE * 256) return 255;
  if (v <= 0) return 0;
  return v >> PRECISION_BITS;
}

/**
 * Resizes `planes` planes of `inH x inW` bytes (stored one after another) to
 * `outH x outW` each. Returns a new array of `planes * outH * outW` bytes.
 */
export function resizePlanes(
  src: Uint8Array,
  planes: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
  antialias = true,
): Uint8Array<ArrayBuffer> {
  if (inH === outH && inW === outW) return src.slice(0, planes * inH * inW);
  let cur: Uint8Array<ArrayBuffer> | null = null;
  let curW = inW;
  if (inW !== outW) {
    const c = coeffs(inW, outW, antialias);
    const out = new Uint8Array(planes * inH * outW);
    for (let row = 0; row < planes * inH; row++) {
      const si = row * inW;
      const di = row * outW;
      for (let x = 0; x < outW; x++) {
        const s = c.start[x];
        const n = c.count[x];
        const kb = x * c.ksize;
        let acc = HALF;
        for (let t = 0; t < n; t++) acc += src[si + s + t] * c.k[kb + t];
        out[di + x] = clip8(acc);
      }
    }
    cur = out;
    curW = outW;
  }
  if (inH !== outH) {
    const c = coeffs(inH, outH, antialias);
    const inp = cur ?? src;
    const out = new Uint8Array(planes * outH * curW);
    for (let p = 0; p < planes; p++) {
      const sp = p * inH * curW;
      const dp = p * outH * curW;
      for (let y = 0; y < outH; y++) {
        const s = c.start[y];
        const n = c.count[y];
        const kb = y * c.ksize;
        const di = dp + y * curW;
        for (let x = 0; x < curW; x++) {
          let acc = HALF;
          for (let t = 0; t < n; t++) acc += inp[sp + (s + t) * curW + x] * c.k[kb + t];
          out[di + x] = clip8(acc);
        }
      }
    }
    cur = out;
  }
  return cur!;
}
