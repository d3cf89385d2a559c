// Tensor assertions for tests.
import type { Tensor } from "../../ffi/tensor.ts";

/** Max |a - b| / max(|b|, floor) over all elements; shapes must match. */
export function maxRelError(a: Tensor, b: Tensor, floor = 1e-6): number {
  const sa = a.shape.join(",");
  const sb = b.shape.join(",");
  if (sa !== sb) throw new Error(`shape mismatch: [${sa}] vs [${sb}]`);
  const x = a.toTypedArray();
  const y = b.toTypedArray();
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(Number(x[i]) - Number(y[i])) / Math.max(Math.abs(Number(y[i])), floor);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Asserts a and b agree to `tol` relative error (absolute below `floor`). */
export function assertClose(a: Tensor, b: Tensor, tol = 1e-5, floor = 1e-6, what = ""): void {
  const e = maxRelError(a, b, floor);
  if (!(e <= tol)) {
    throw new Error(`${what ? what + ": " : ""}max relative error ${e} > ${tol}`);
  }
}

/** float32's machine epsilon, 2^-23: twice its unit roundoff u = 2^-24. */
export const EPS_F32 = 2 ** -23;

/**
 * Asserts `out` = a + w (b - a) elementwise within k EPS_F32 (|a| + |w| |b - a|): a forward
 * error bound in the lerp's own scale, so a result near zero (a and w (b - a) cancelling) is
 * held to the rounding of its inputs rather than to its own tiny magnitude. The caller derives k.
 */
export function assertLerpClose(
  out: Tensor,
  a: Tensor,
  b: Tensor,
  w: number,
  k: number,
  what = "",
): void {
  for (const t of [a, b]) {
    if (t.shape.join(",") !== out.shape.join(",")) {
      throw new Error(`${what}: shape mismatch: [${out.shape}] vs [${t.shape}]`);
    }
  }
  const o = out.toTypedArray();
  const x = a.toTypedArray();
  const y = b.toTypedArray();
  let worst = 0;
  let at = -1;
  for (let i = 0; i < o.length; i++) {
    const ai = Number(x[i]);
    const bi = Number(y[i]);
    const exact = ai + w * (bi - ai); // in float64: exact to well below float32's rounding
    const bound = k * EPS_F32 * (Math.abs(ai) + Math.abs(w) * Math.abs(bi - ai));
    const r = Math.abs(Number(o[i]) - exact) / bound;
    if (!(r <= worst)) {
      worst = Number.isNaN(r) ? Infinity : r;
      at = i;
    }
  }
  if (!(worst <= 1)) {
    throw new Error(
      `${what ? what + ": " : ""}element ${at}: ${o[at]} vs a + w (b - a) = ` +
        `${Number(x[at]) + w * (Number(y[at]) - Number(x[at]))} (a ${x[at]}, b ${
          y[at]
        }, w ${w}), ` +
        `${worst.toPrecision(3)} times the bound ${k} eps (|a| + |w| |b - a|)`,
    );
  }
}

/** Asserts equal shape, dtype and identical bytes. */
export function assertBitExact(a: Tensor, b: Tensor, what = ""): void {
  if (a.shape.join(",") !== b.shape.join(",") || a.dtype !== b.dtype) {
    throw new Error(
      `${what}: [${a.shape}] ${a.dtype} vs [${b.shape}] ${b.dtype}`,
    );
  }
  const x = a.toBytes();
  const y = b.toBytes();
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i]) throw new Error(`${what}: bytes differ at ${i}`);
  }
}

/** Normwise relative error: max |a - b| / max |b| (robust to near-zero elements). */
export function normRelError(a: Tensor, b: Tensor): number {
  if (a.shape.join(",") !== b.shape.join(",")) {
    throw new Error(`shape mismatch: [${a.shape}] vs [${b.shape}]`);
  }
  const x = a.toTypedArray();
  const y = b.toTypedArray();
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(Number(x[i]) - Number(y[i]));
    diff = d > diff || Number.isNaN(d) ? (Number.isNaN(d) ? Infinity : d) : diff;
    scale = Math.max(scale, Math.abs(Number(y[i])));
  }
  return scale === 0 ? diff : diff / scale;
}

export function assertNormClose(a: Tensor, b: Tensor, tol: number, what = ""): void {
  const e = normRelError(a, b);
  if (!(e <= tol)) {
    throw new Error(`${what ? what + ": " : ""}normwise relative error ${e} > ${tol}`);
  }
}
