// Generator: an explicit, seeded random stream (torch.Generator). Augmentation
// draws from one so that views are reproducible whatever else consumes the
// global generator (dropout, init, other pipelines).
import { lib } from "./library.ts";
import * as A from "./args.ts";
import { check, ints, OUT, outHandle } from "./call.ts";
import { type Device, deviceCode, deviceName } from "./device.ts";
import { dtypeCode, type DTypeName } from "./dtype.ts";
import { TorchError } from "./error.ts";
import { RandKind } from "./ops.ts";
import { handleOf, Tensor, wrap } from "./tensor.ts";

// Frees generators nobody disposed; unlike tensors they are few, so no counter.
const registry = new FinalizationRegistry<Deno.PointerObject>((h) => {
  lib.tt_generator_free(h);
});

const SIG_GENERATOR = "Generator(seed, options)";

function seedBits(seed: number | bigint): bigint {
  if (typeof seed === "number") {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw A.typeError(SIG_GENERATOR, "seed", "a non-negative safe integer or a bigint", seed);
    }
    return BigInt(seed);
  }
  if (typeof seed !== "bigint") {
    throw A.typeError(SIG_GENERATOR, "seed", "a non-negative safe integer or a bigint", seed);
  }
  if (seed < 0n || seed >= 1n << 64n) {
    throw A.rangeError(SIG_GENERATOR, "seed", "a bigint in [0, 2^64)", seed);
  }
  return seed;
}

export class Generator implements Disposable {
  #handle: Deno.PointerObject | null;
  readonly device: Device;

  /** A generator on `device` (default CPU) seeded with `seed` (torch.Generator().manual_seed). */
  constructor(seed: number | bigint, opts: { device?: Device | string } = {}) {
    A.options(SIG_GENERATOR, opts, ["device"]);
    A.optDevice(SIG_GENERATOR, "options.device", opts.device);
    const code = deviceCode(opts.device ?? "cpu");
    check("tt_generator_new", lib.tt_generator_new(code, seedBits(seed), OUT));
    this.#handle = outHandle();
    this.device = deviceName(code);
    registry.register(this, this.#handle, this);
  }

  /** The native handle; throws once disposed. */
  get handle(): Deno.PointerObject {
    if (this.#handle === null) {
      throw new TorchError("generator", "this generator was disposed and cannot be used");
    }
    return this.#handle;
  }

  get isDisposed(): boolean {
    return this.#handle === null;
  }

  /** The state as a uint8 tensor (for checkpoints); setState() restores it. */
  getState(): Tensor {
    check("tt_generator_get_state", lib.tt_generator_get_state(this.handle, OUT));
    return new Tensor(outHandle());
  }

  setState(state: Tensor): void {
    A.tensor("Generator.setState(state)", "state", state);
    check("tt_generator_set_state", lib.tt_generator_set_state(this.handle, handleOf(state)));
  }

  /** Uniform on [0, 1) on this generator's device. */
  rand(shape: number[], opts: { dtype?: DTypeName } = {}): Tensor {
    A.shape("Generator.rand(size, options)", "size", shape);
    A.tensorOptions("Generator.rand(size, options)", opts, ["dtype"]);
    return randGen("uniform", this, shape, opts.dtype ?? "float32", this.device);
  }

  /** Standard normal on this generator's device. */
  randn(shape: number[], opts: { dtype?: DTypeName } = {}): Tensor {
    A.shape("Generator.randn(size, options)", "size", shape);
    A.tensorOptions("Generator.randn(size, options)", opts, ["dtype"]);
    return randGen("normal", this, shape, opts.dtype ?? "float32", this.device);
  }

  dispose(): void {
    const h = this.#handle;
    if (h === null) return;
    this.#handle = null;
    registry.unregister(this);
    lib.tt_generator_free(h);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * Uniform or standard normal numbers from `gen`, or from the default generator
 * of `device` when `gen` is null.
 */
export function randGen(
  kind: keyof typeof RandKind,
  gen: Generator | null,
  shape: number[],
  dtype: DTypeName,
  device: Device | string,
): Tensor {
  return wrap(
    "tt_rand_gen",
    lib.tt_rand_gen(
      RandKind[kind],
      gen === null ? null : gen.handle,
      ints(shape),
      shape.length,
      dtypeCode(dtype),
      deviceCode(device),
      OUT,
    ),
  );
}
