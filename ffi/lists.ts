// Fused list calls. A fixed list of tensors is packed once into a native
// handle array (a TensorList); each call then hands the whole list to the
// shim, so the EMA update, zero_grad or an optimizer step costs one FFI
// crossing whatever the model size. src/ holds TensorLists, never pointers.
import * as A from "./args.ts";
import { check } from "./call.ts";
import { TorchError } from "./error.ts";
import { lib } from "./library.ts";
import { handleOf, lifeOf, type Tensor } from "./tensor.ts";

/**
 * The handles of a fixed list of tensors, packed for the shim. It does not own
 * the tensors. It keeps the Tensor objects it was built from and, before every
 * fused call, checks each one (a few JS compares per tensor): a disposed tensor
 * throws a TorchError naming the list and the fix; a tensor whose data was
 * swapped in place (Module.to(), Module.channelsLast()) has its slot re-packed,
 * so the list follows the module's current tensors.
 */
export class TensorList {
  readonly length: number;
  /** What the list holds, for error messages ("the SGD parameter list"). */
  readonly label: string;
  readonly #tensors: readonly Tensor[];
  /** The handle object each slot was packed from (compared by identity). */
  readonly #packed: (Deno.PointerObject | null)[];
  /** The packed handles (at least one slot, as the shim never reads past `length`). */
  readonly #handles: BigUint64Array;
  readonly #item: string;
  readonly #names: readonly string[] | undefined;

  /**
   * `label` names the list in errors and `item` its elements; `names` (same
   * order as `tensors`), when given, name each one:
   * "parameter 3 (conv1.weight) of the SGD parameter list was disposed; ...".
   */
  constructor(
    tensors: readonly Tensor[],
    opts: { label?: string; item?: string; names?: readonly string[] } = {},
  ) {
    this.length = tensors.length;
    this.label = opts.label ?? "a tensor list";
    this.#item = opts.item ?? "tensor";
    this.#tensors = tensors.slice();
    this.#names = opts.names;
    this.#packed = new Array(tensors.length).fill(null);
    this.#handles = new BigUint64Array(Math.max(tensors.length, 1));
    this.sync("TensorList");
  }

  /** The tensors the list was built from (its own array: do not modify). */
  get tensors(): readonly Tensor[] {
    return this.#tensors;
  }

  /**
   * Checks every tensor before `call` hands the list to the shim: throws a
   * TorchError for a disposed one, re-packs the slot of one whose data was
   * swapped and reports it to `onRepack`. Returns the number of re-packed slots.
   */
  sync(call: string, onRepack?: (index: number) => void): number {
    const ts = this.#tensors;
    const packed = this.#packed;
    let changed = 0;
    for (let i = 0; i < ts.length; i++) {
      const h = lifeOf(ts[i]).h;
      if (h === packed[i]) continue;
      if (h === null) throw this.#disposed(call, i);
      packed[i] = h;
      this.#handles[i] = BigInt(Deno.UnsafePointer.value(h));
      changed++;
      onRepack?.(i);
    }
    return changed;
  }

  #disposed(call: string, i: number): TorchError {
    const name = this.#names?.[i];
    return new TorchError(
      call,
      `${this.#item} ${i}${
        name !== undefined ? ` (${name})` : ""
      } of ${this.label} was disposed; ` +
        "a list follows its tensors through Module.to() and channelsLast(), but not a tensor " +
        "that was freed or replaced: rebuild the model/optimizer after replacing it, or keep() the tensor",
    );
  }

  /** @internal the checked, packed handles, for the list calls in ffi/ (this file, distributed.ts). */
  static handles(list: TensorList, call: string): BigUint64Array {
    list.sync(call);
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

function perParam(
  what: string,
  a: Uint8Array | BigInt64Array | Float64Array,
  n: number,
): void {
  if (a.length < n) {
    throw new TypeError(`${what}: ${a.length} per-parameter entries for ${n} tensors`);
  }
}

/** `dst[i] += weight * (src[i] - dst[i])` for every pair, without autograd. */
export function lerpList(dst: TensorList, src: TensorList, weight: number): void {
  const n = sameLength("lerpList", [dst, src]);
  check("tt_lerp_list", lib.tt_lerp_list(H(dst, "lerpList"), H(src, "lerpList"), n, weight));
}

/**
 * `dst[i].lerp_(src[i], weight)` for every pair, without autograd, with the
 * weight a one-element tensor (on the tensors' device, cast to each dst's
 * dtype): the EMA update of a captured step, whose rate the host writes with
 * fillScalars between replays, with no device sync.
 */
export function lerpListTensor(dst: TensorList, src: TensorList, weight: Tensor): void {
  A.tensor("lerpListTensor(dst, src, weight)", "weight", weight);
  const n = sameLength("lerpListTensor", [dst, src]);
  check(
    "tt_lerp_list_tensor",
    lib.tt_lerp_list_tensor(
      H(dst, "lerpListTensor"),
      H(src, "lerpListTensor"),
      n,
      handleOf(weight),
    ),
  );
}

/**
 * `list[i].fill_(values[i])` for every tensor, without autograd, in one FFI
 * call and with no device sync: the per-step scalars a captured step reads
 * (each group's lr, the EMA rate), written between replays.
 */
export function fillScalars(list: TensorList, values: Float64Array): void {
  if (!(values instanceof Float64Array)) {
    throw A.typeError("fillScalars(list, values)", "values", "a Float64Array", values);
  }
  perParam("fillScalars", values, list.length);
  check("tt_fill_scalars", lib.tt_fill_scalars(H(list, "fillScalars"), values, list.length));
}

/**
 * Reads one-element tensors back into `out` (`out[i] = list[i].item()`) in one
 * FFI call; a device sync per tensor, so for state dicts and logs, not steps.
 * Returns `out`.
 */
export function readScalars(list: TensorList, out: Float64Array): Float64Array {
  if (!(out instanceof Float64Array)) {
    throw A.typeError("readScalars(list, out)", "out", "a Float64Array", out);
  }
  perParam("readScalars", out, list.length);
  check("tt_read_scalars", lib.tt_read_scalars(H(list, "readScalars"), out, list.length));
  return out;
}

/** `dst[i].copy_(src[i])` for every pair, without autograd. */
export function copyList(dst: TensorList, src: TensorList): void {
  const n = sameLength("copyList", [dst, src]);
  check("tt_copy_list", lib.tt_copy_list(H(dst, "copyList"), H(src, "copyList"), n));
}

/** Drops (setToNone) or zeroes every tensor's gradient. */
export function zeroGradList(list: TensorList, setToNone: boolean): void {
  check(
    "tt_zero_grad_list",
    lib.tt_zero_grad_list(H(list, "zeroGradList"), list.length, setToNone ? 1 : 0),
  );
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
      H(params, "sgdStep"),
      H(bufs, "sgdStep"),
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
      H(params, "adamwStep"),
      H(expAvg, "adamwStep"),
      H(expAvgSq, "adamwStep"),
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
      H(params, "larsStep"),
      H(bufs, "larsStep"),
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

// ---- capturable steps: lr is a 0-dim float32 tensor on the parameters' device ----

/** sgdStep with the lr a device tensor (no host read of a device value). */
export function sgdStepCapturable(
  params: TensorList,
  bufs: TensorList,
  inited: Uint8Array,
  lr: Tensor,
  o: { momentum: number; dampening: number; weightDecay: number; nesterov: boolean },
): void {
  const n = sameLength("sgdStepCapturable", [params, bufs]);
  perParam("sgdStepCapturable", inited, n);
  check(
    "tt_sgd_step_capturable",
    lib.tt_sgd_step_capturable(
      H(params, "sgdStepCapturable"),
      H(bufs, "sgdStepCapturable"),
      inited,
      n,
      handleOf(lr),
      o.momentum,
      o.dampening,
      o.weightDecay,
      o.nesterov ? 1 : 0,
    ),
  );
}

/**
 * adamwStep with the lr a device tensor and each parameter's step count a
 * 0-dim float32 device tensor, incremented and used on the device.
 */
export function adamwStepCapturable(
  params: TensorList,
  expAvg: TensorList,
  expAvgSq: TensorList,
  steps: TensorList,
  lr: Tensor,
  o: { beta1: number; beta2: number; eps: number; weightDecay: number },
): void {
  const n = sameLength("adamwStepCapturable", [params, expAvg, expAvgSq, steps]);
  check(
    "tt_adamw_step_capturable",
    lib.tt_adamw_step_capturable(
      H(params, "adamwStepCapturable"),
      H(expAvg, "adamwStepCapturable"),
      H(expAvgSq, "adamwStepCapturable"),
      H(steps, "adamwStepCapturable"),
      n,
      handleOf(lr),
      o.beta1,
      o.beta2,
      o.eps,
      o.weightDecay,
    ),
  );
}

/** larsStep with the lr a device tensor (no host read of a device value). */
export function larsStepCapturable(
  params: TensorList,
  bufs: TensorList,
  exclude: Uint8Array,
  lr: Tensor,
  o: { momentum: number; weightDecay: number; trustCoefficient: number; nesterov: boolean },
): void {
  const n = sameLength("larsStepCapturable", [params, bufs]);
  perParam("larsStepCapturable", exclude, n);
  check(
    "tt_lars_step_capturable",
    lib.tt_lars_step_capturable(
      H(params, "larsStepCapturable"),
      H(bufs, "larsStepCapturable"),
      exclude,
      n,
      handleOf(lr),
      o.momentum,
      o.weightDecay,
      o.trustCoefficient,
      o.nesterov ? 1 : 0,
    ),
  );
}
