// Module: named parameters, buffers and children with PyTorch's dotted
// state_dict names, train()/eval(), stateDict()/loadStateDict(). Modules are
// written over functional ops (ffi/functional.ts), as TorchSharp's are.
import { assignData, type Tensor } from "../../ffi/tensor.ts";
import * as A from "../../ffi/args.ts";
import { type Device, deviceCode } from "../../ffi/device.ts";
import { dtypeInfo, type DTypeName } from "../../ffi/dtype.ts";
import { keep } from "../../ffi/memory.ts";
import { noGrad } from "../../ffi/runtime.ts";

/** Raised by loadStateDict with every missing, unexpected and mis-shaped key. */
export class StateDictError extends Error {
  constructor(
    message: string,
    readonly missing: string[],
    readonly unexpected: string[],
    readonly mismatched: string[],
  ) {
    super(message);
    this.name = "StateDictError";
  }
}

/** A re-pointable parameter or buffer of a module (see Module.tensorSlots). */
export interface TensorSlot {
  readonly name: string;
  readonly kind: "parameter" | "buffer";
  get(): Tensor;
  /** Points the slot at `t`; returns the tensor it held. */
  set(t: Tensor): Tensor;
}

export abstract class Module {
  /** True in training mode (BatchNorm uses batch statistics and updates its running ones). */
  training = true;
  #params = new Map<string, Tensor | null>();
  #buffers = new Map<string, Tensor | null>();
  #children = new Map<string, Module>();

  abstract forward(x: Tensor): Tensor;

  /** Registers a trainable tensor under `name`; it is kept alive past tidy scopes. */
  protected registerParameter(name: string, t: Tensor | null): Tensor {
    if (t !== null) {
      keep(t);
      if (!t.requiresGrad) t.requiresGrad_(true);
    }
    this.#params.set(name, t);
    return t!;
  }

  /** Registers a non-trainable state tensor (running statistics). */
  protected registerBuffer(name: string, t: Tensor | null): Tensor {
    if (t !== null) keep(t);
    this.#buffers.set(name, t);
    return t!;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    this.#children.set(name, m);
    return m;
  }

  /** The parameter registered as `name` on this module (not its children). */
  protected param(name: string): Tensor | null {
    return this.#params.get(name) ?? null;
  }

  protected buffer(name: string): Tensor | null {
    return this.#buffers.get(name) ?? null;
  }

  namedChildren(): [string, Module][] {
    return [...this.#children.entries()];
  }

  children(): Module[] {
    return [...this.#children.values()];
  }

  /** This module and every descendant, with dotted names ("" for this one). */
  namedModules(prefix = ""): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, c] of this.#children) out.push(...c.namedModules(join(prefix, n)));
    return out;
  }

  namedParameters(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, t] of this.#params) if (t !== null) out.push([join(prefix, n), t]);
    for (const [n, c] of this.#children) out.push(...c.namedParameters(join(prefix, n)));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, t] of this.#buffers) if (t !== null) out.push([join(prefix, n), t]);
    for (const [n, c] of this.#children) out.push(...c.namedBuffers(join(prefix, n)));
    return out;
  }

  buffers(): Tensor[] {
    return this.namedBuffers().map(([, t]) => t);
  }

  /** Number of trainable scalars. */
  numParameters(): number {
    let n = 0;
    for (const t of this.parameters()) n += t.numel;
    return n;
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * Parameters and buffers by PyTorch's dotted names, in PyTorch's order (each
   * module's parameters, then its buffers, then its children). The tensors are
   * the module's own: read them, copy them, do not dispose them.
   */
  stateDict(prefix = ""): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [n, t] of this.#params) if (t !== null) out[join(prefix, n)] = t;
    for (const [n, t] of this.#buffers) if (t !== null) out[join(prefix, n)] = t;
    for (const [n, c] of this.#children) Object.assign(out, c.stateDict(join(prefix, n)));
    return out;
  }

  /**
   * Copies values from `dict` into this module's tensors (handles never
   * change, so optimizers built over the parameters stay valid). With `strict`
   * (default) every key must match in name and shape; otherwise only the
   * matching keys load. Values are converted to each tensor's dtype and device.
   */
  loadStateDict(
    dict: Record<string, Tensor>,
    opts: { strict?: boolean } = {},
  ): { missing: string[]; unexpected: string[] } {
    const strict = opts.strict ?? true;
    const own = this.stateDict();
    const missing = Object.keys(own).filter((k) => !(k in dict));
    const unexpected = Object.keys(dict).filter((k) => !(k in own));
    const mismatched: string[] = [];
    for (const [k, t] of Object.entries(own)) {
      const src = dict[k];
      if (src === undefined) continue;
      const a = t.shape.join(", ");
      const b = src.shape.join(", ");
      if (a !== b) mismatched.push(`${k}: expected [${a}], got [${b}]`);
    }
    if (mismatched.length > 0 || (strict && (missing.length > 0 || unexpected.length > 0))) {
      const parts: string[] = [];
      if (missing.length) parts.push(`missing keys: ${list(missing)}`);
      if (unexpected.length) parts.push(`unexpected keys: ${list(unexpected)}`);
      if (mismatched.length) parts.push(`shape mismatch: ${list(mismatched)}`);
      throw new StateDictError(
        `loadStateDict into ${this.constructor.name} (${this.numParameters()} parameters): ` +
          parts.join("; ") +
          (strict && !mismatched.length
            ? ". Pass { strict: false } to load the matching keys"
            : ""),
        missing,
        unexpected,
        mismatched,
      );
    }
    noGrad(() => {
      for (const [k, t] of Object.entries(own)) {
        const src = dict[k];
        if (src !== undefined) t.copy_(src);
      }
    });
    return { missing, unexpected };
  }

  /**
   * Moves (and optionally casts) every parameter and buffer, as PyTorch's
   * `module.to()`: each tensor keeps its identity and takes the moved data in
   * place (`param.data = moved`), so optimizers, BYOL's EMA lists and other
   * holders keep following it; requiresGrad is preserved. Tensors already on
   * `device` in the wanted dtype are left alone. `dtype` casts floating tensors only.
   */
  to(device: Device | string, dtype?: DTypeName): this {
    A.device("Module.to(device, dtype)", "device", device);
    A.optDtype("Module.to(device, dtype)", "dtype", dtype);
    for (const [, m] of this.namedModules()) m.#apply((t) => moveTensor(t, device, dtype));
    return this;
  }

  /**
   * Stores every 4-D parameter and buffer channels-last (NHWC in memory), the
   * layout cuDNN and oneDNN convolutions run fastest in. Like to(), it swaps
   * each tensor's data in place, so holders of the tensors keep following them;
   * tensors already channels-last are left alone.
   */
  channelsLast(): this {
    for (const [, m] of this.namedModules()) m.#apply(channelsLastTensor);
    return this;
  }

  #apply(fn: (t: Tensor) => void): void {
    for (const t of this.#params.values()) if (t !== null) fn(t);
    for (const t of this.#buffers.values()) if (t !== null) fn(t);
  }

  /**
   * Every parameter and buffer as a slot that can be re-pointed at another
   * tensor of the same shape without copying. BYOL's target network runs the
   * online modules over its own tensors this way (a functional call, as
   * torch.func.functional_call), so no deep copy of a user's module class is needed.
   */
  tensorSlots(prefix = ""): TensorSlot[] {
    const out: TensorSlot[] = [];
    for (const [n, t] of this.#params) {
      if (t !== null) out.push(this.#slot(join(prefix, n), "parameter", n));
    }
    for (const [n, t] of this.#buffers) {
      if (t !== null) out.push(this.#slot(join(prefix, n), "buffer", n));
    }
    for (const [n, c] of this.#children) out.push(...c.tensorSlots(join(prefix, n)));
    return out;
  }

  #slot(name: string, kind: "parameter" | "buffer", local: string): TensorSlot {
    const map = kind === "parameter" ? this.#params : this.#buffers;
    return {
      name,
      kind,
      get: () => map.get(local)!,
      set: (t: Tensor) => {
        const prev = map.get(local)!;
        map.set(local, t);
        return prev;
      },
    };
  }

  /** Frees every parameter and buffer of this module and its children. */
  dispose(): void {
    for (const [, m] of this.namedModules()) {
      for (const t of m.#params.values()) if (t && !t.isDisposed) t.dispose();
      for (const t of m.#buffers.values()) if (t && !t.isDisposed) t.dispose();
      m.#params.clear();
      m.#buffers.clear();
    }
  }
}

/**
 * @internal Moves one tensor's data to `device` (and floating tensors to
 * `dtype`) in place, keeping the tensor object and its requiresGrad. Does
 * nothing when the tensor's metadata already match. Module.to() and BYOL.to().
 */
export function moveTensor(t: Tensor, device: Device | string, dtype?: DTypeName): void {
  const dt = dtype !== undefined && dtypeInfo(t.dtype).floating ? dtype : t.dtype;
  if (dt === t.dtype && deviceCode(t.device) === deviceCode(device)) return;
  const grad = t.requiresGrad;
  const data = noGrad(() => {
    using moved = t.to({ device, dtype: dt });
    return moved.detach();
  });
  if (grad) data.requiresGrad_(true);
  assignData(t, data);
}

/** @internal Restrides a 4-D tensor channels-last in place (see Module.channelsLast). */
export function channelsLastTensor(t: Tensor): void {
  if (t.ndim !== 4 || t.memoryFormat === "channelsLast") return;
  const grad = t.requiresGrad;
  const data = noGrad(() => {
    using c = t.contiguous("channelsLast");
    return c.detach();
  });
  if (grad) data.requiresGrad_(true);
  assignData(t, data);
}

function join(prefix: string, name: string): string {
  return prefix ? `${prefix}.${name}` : name;
}

function list(keys: string[]): string {
  const shown = keys.slice(0, 8).join(", ");
  return keys.length > 8 ? `${shown} and ${keys.length - 8} more` : shown;
}
