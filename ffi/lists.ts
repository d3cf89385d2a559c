// Fused list calls. A fixed list of tensors is packed once into a native
// handle array (a TensorList); each call then hands the whole list to the
// shim, so the EMA update, zero_grad or an optimizer step costs one FFI
// crossing whatever the model size. src/ holds TensorLists, never pointers.
import { check, handleArray } from "./call.ts";
import { lib } from "./library.ts";
import type { Tensor } from "./tensor.ts";

/**
 * The handles of a fixed list of tensors, packed for the shim. It does not own
 * the tensors: its holder must keep them alive (and unreplaced) while it uses it.
 */
export class TensorList {
  readonly length: number;
  /** The packed handles (at least one slot, as the shim never reads past `length`). */
  readonly #handles: BigUint64Array;

  constructor(tensors: readonly Tensor[]) {
    this.length = tensors.length;
    this.#handles = handleArray(tensors.map((t) => t.handle));
  }

  /** @internal the packed handles, for the calls in this file. */
  static handles(list: TensorList): BigUint64Array {
    return list.#handles;
  }
}

const H = TensorList.handles;

function sameLength(what: string, lists: TensorList[]): number {
  const n = lists[0].length;
  for (const l of lists) {
    if (l.length !== n) {
      throw new TypeError(
        `${what}: tensor lists of different lengths (${lists.map((x) => x.length)})`,
      );
    }
  }
  return n;
}

function perParam(what: string, a: Uint8Array | BigInt64Array, n: number): void {
  if (a.length < n) {
    throw new TypeError(`${what}: ${a.length} per-parameter entries for ${n} tensors`);
  }
}

/** `dst[i] += weight * (src[i] - dst[i])` for every pair, without autograd. */
export function lerpList(dst: TensorList, src: TensorList, weight: number): void {
  const n = sameLength("lerpList", [dst, src]);
  check("tt_lerp_list", lib.tt_lerp_list(H(dst), H(src), n, weight));
}

/** `dst[i].copy_(src[i])` for every pair, without autograd. */
export function copyList(dst: TensorList, src: TensorList): void {
  const n = sameLength("copyList", [dst, src]);
  check("tt_copy_list", lib.tt_copy_list(H(dst), H(src), n));
}

/** Drops (setToNone) or zeroes every tensor's gradient. */
export function zeroGradList(list: TensorList, setToNone: boolean): void {
  check("tt_zero_grad_list", lib.tt_zero_grad_list(H(list), list.length, setToNone ? 1 : 0));
}

/** torch.optim.SGD's step over a list; `inited[i]` marks a started momentum buffer. */
export function sgdStep(
  params: TensorList,
  bufs: TensorList,
  inited: Uint8Array,
  o: { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean },
): void {
  const n = sameLength("sgdStep", [params, bufs]);
  perParam("sgdStep", inited, n);
  check(
    "tt_sgd_step",
    lib.tt_sgd_step(
      H(params),
      H(bufs),
      inited,
      n,
      o.lr,
      o.momentum,
      o.dampening,
      o.weightDecay,
      o.nesterov ? 1 : 0,
    ),
  );
}

/** torch.optim.AdamW's step over a list; the shim increments each `steps[i]`. */
export function adamwStep(
  params: TensorList,
  expAvg: TensorList,
  expAvgSq: TensorList,
  steps: BigInt64Array,
  o: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number },
): void {
  const n = sameLength("adamwStep", [params, expAvg, expAvgSq]);
  perParam("adamwStep", steps, n);
  check(
    "tt_adamw_step",
    lib.tt_adamw_step(
      H(params),
      H(expAvg),
      H(expAvgSq),
      steps,
      n,
      o.lr,
      o.beta1,
      o.beta2,
      o.eps,
      o.weightDecay,
    ),
  );
}

/** BYOL's LARS step over a list; `exclude[i] = 1` skips decay and adaptation. */
export function larsStep(
  params: TensorList,
  bufs: TensorList,
  exclude: Uint8Array,
  o: {
    lr: number;
    momentum: number;
    weightDecay: number;
    trustCoefficient: number;
    nesterov: boolean;
  },
): void {
  const n = sameLength("larsStep", [params, bufs]);
  perParam("larsStep", exclude, n);
  check(
    "tt_lars_step",
    lib.tt_lars_step(
      H(params),
      H(bufs),
      exclude,
      n,
      o.lr,
      o.momentum,
      o.weightDecay,
      o.trustCoefficient,
      o.nesterov ? 1 : 0,
    ),
  );
}
