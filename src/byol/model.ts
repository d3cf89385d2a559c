// BYOL (Grill et al. 2020): an online network (encoder, projector, predictor)
// learns to predict a target network's projection of another view of the same
// image; the target (encoder, projector) is an exponential moving average of
// the online weights and gets no gradient.
import { assignData, type Tensor } from "../../ffi/tensor.ts";
import { TorchError } from "../../ffi/error.ts";
import * as A from "../../ffi/args.ts";
import type { DTypeName } from "../../ffi/dtype.ts";
import { copyList, lerpList, lerpListTensor, TensorList } from "../../ffi/lists.ts";
import { keep, tidy } from "../../ffi/memory.ts";
import { type Device, deviceCode } from "../../ffi/device.ts";
import { inferenceMode, noGrad } from "../../ffi/runtime.ts";
import {
  channelsLastTensor,
  Module,
  moveTensor,
  StateDictError,
  type TensorSlot,
} from "../nn/module.ts";
import { mlp } from "../nn/mlp.ts";
import { convertSyncBatchNorm } from "../nn/sync_batchnorm.ts";
import type { Sequential } from "../nn/layers.ts";
import {
  atLeastFloat32,
  bothViews,
  type Encoder,
  loadParts,
  lossOnly,
  type Method,
  type MethodOutput,
} from "../method/method.ts";
import { byolLoss } from "./loss.ts";
import { tauAt, type TauSchedule } from "./tau.ts";

export type { Encoder } from "../method/method.ts";

export interface BYOLOptions {
  /** Output width of the projector and predictor. Default 256. */
  projectionDim?: number;
  /** Hidden width of the projector and predictor MLPs. Default 4096. */
  hiddenDim?: number;
  /** Hidden width of the predictor MLP, when it differs from hiddenDim. Default hiddenDim. */
  predictorDim?: number;
  /** tau at step 0. Default 0.996. */
  tauBase?: number;
  tauSchedule?: TauSchedule;
  /**
   * true (default): the target is an EMA of the online encoder and projector.
   * false: the target is the online network itself under stop-gradient.
   */
  useMomentum?: boolean;
  /**
   * Device of the projector and predictor (and so of the target copy). Move
   * the encoder there first: the EMA target is copied at construction.
   * Default: the encoder's device.
   */
  device?: string;
  /**
   * Synchronised batch statistics for a multi-process run: every BatchNorm of
   * the encoder (converted in place, the caller's module) and of the projector
   * and predictor becomes an nn.SyncBatchNorm, so the online forward and the
   * target's forward normalise with the global batch's statistics when a
   * process group of more than one rank is initialised (and compute exactly
   * BatchNorm otherwise). Default false. Equivalent to calling
   * nn.convertSyncBatchNorm on byol.encoder, byol.projector and byol.predictor
   * after construction (the conversion keeps the module objects).
   */
  syncBatchNorm?: boolean;
}

const BYOL_KEYS = [
  "projectionDim",
  "hiddenDim",
  "predictorDim",
  "tauBase",
  "tauSchedule",
  "useMomentum",
  "device",
  "syncBatchNorm",
] as const;

export class BYOL implements Method {
  readonly name = "byol";
  readonly encoder: Encoder;
  readonly projector: Sequential;
  readonly predictor: Sequential;
  readonly options: Required<BYOLOptions>;
  /** Encoder then projector slots: the modules the target network shares. */
  readonly #slots: TensorSlot[];
  /** The target's own tensors, one per slot (none without momentum). */
  readonly #target: Tensor[];
  // Pointer arrays for the fused EMA calls, built once.
  readonly #emaDst: TensorList;
  readonly #emaSrc: TensorList;
  readonly #bufDst: TensorList;
  readonly #bufSrc: TensorList;
  readonly #nBuffers: number;
  /** The slot index of each entry of the parameter and buffer lists. */
  readonly #paramSlot: number[];
  readonly #bufferSlot: number[];

  constructor(encoder: Encoder, options: BYOLOptions = {}) {
    const sig = "BYOL(encoder, options)";
    if (!(encoder instanceof Module)) throw A.typeError(sig, "encoder", "an nn.Module", encoder);
    A.options(sig, options, BYOL_KEYS);
    if (options.projectionDim !== undefined) {
      A.posInt(sig, "options.projectionDim", options.projectionDim);
    }
    if (options.hiddenDim !== undefined) A.posInt(sig, "options.hiddenDim", options.hiddenDim);
    if (options.predictorDim !== undefined) {
      A.posInt(sig, "options.predictorDim", options.predictorDim);
    }
    A.optFinite(sig, "options.tauBase", options.tauBase);
    A.optOneOf(sig, "options.tauSchedule", options.tauSchedule, ["cosine", "constant"]);
    A.optBool(sig, "options.useMomentum", options.useMomentum);
    A.optDevice(sig, "options.device", options.device);
    A.optBool(sig, "options.syncBatchNorm", options.syncBatchNorm);
    if (!(encoder.outDim > 0)) {
      throw new TypeError("BYOL needs an encoder with a positive outDim (its feature width)");
    }
    this.options = {
      projectionDim: options.projectionDim ?? 256,
      hiddenDim: options.hiddenDim ?? 4096,
      predictorDim: options.predictorDim ?? options.hiddenDim ?? 4096,
      tauBase: options.tauBase ?? 0.996,
      tauSchedule: options.tauSchedule ?? "cosine",
      useMomentum: options.useMomentum ?? true,
      device: options.device ?? encoder.parameters()[0]?.device ?? "cpu",
      syncBatchNorm: options.syncBatchNorm ?? false,
    };
    const { projectionDim, hiddenDim, tauBase } = this.options;
    if (!(tauBase >= 0 && tauBase <= 1)) {
      throw new RangeError(`tauBase must be in [0, 1], got ${tauBase}`);
    }
    this.encoder = encoder;
    this.projector = mlp(encoder.outDim, projectionDim, hiddenDim);
    this.predictor = mlp(projectionDim, projectionDim, this.options.predictorDim);
    if (this.options.syncBatchNorm) {
      for (const m of [encoder, this.projector, this.predictor]) convertSyncBatchNorm(m);
    }
    if (this.options.device !== "cpu") {
      this.projector.to(this.options.device);
      this.predictor.to(this.options.device);
    }
    const want = deviceCode(this.options.device);
    const stray = encoder.parameters().find((p) => deviceCode(p.device) !== want);
    if (stray !== undefined) {
      throw new TypeError(
        `the encoder has parameters on ${stray.device} but BYOL's device is ${this.options.device}; ` +
          "move the encoder first (encoder.to(device)), then build BYOL",
      );
    }
    this.#slots = [...encoder.tensorSlots("encoder"), ...this.projector.tensorSlots("projector")];
    // The target starts as an exact copy, created now rather than on first forward.
    this.#target = this.options.useMomentum
      ? noGrad(() => this.#slots.map((s) => keep(s.get().detach().clone())))
      : [];
    const params = this.#slots.map((s, i) => [s, i] as const).filter(([s]) =>
      s.kind === "parameter"
    );
    const buffers = this.#slots.map((s, i) => [s, i] as const).filter(([s]) => s.kind === "buffer");
    this.#nBuffers = buffers.length;
    const tensors = (list: (readonly [TensorSlot, number])[], target: boolean, label: string) =>
      new TensorList(
        this.options.useMomentum ? list.map(([s, i]) => target ? this.#target[i] : s.get()) : [],
        {
          label,
          item: list === params ? "parameter" : "buffer",
          names: list.map(([s]) => s.name),
        },
      );
    this.#emaDst = tensors(params, true, "the EMA target list");
    this.#emaSrc = tensors(params, false, "the EMA online list");
    this.#bufDst = tensors(buffers, true, "the target buffer list");
    this.#bufSrc = tensors(buffers, false, "the online buffer list");
    this.#paramSlot = params.map(([, i]) => i);
    this.#bufferSlot = buffers.map(([, i]) => i);
  }

  /**
   * Moves (and optionally casts floating tensors of) the whole model: online
   * encoder, projector, predictor and the target copy, each tensor in place (as
   * Module.to()), so optimizers built over onlineParameters() keep following.
   */
  to(device: Device | string, dtype?: DTypeName): this {
    A.device("BYOL.to(device, dtype)", "device", device);
    A.optDtype("BYOL.to(device, dtype)", "dtype", dtype);
    this.encoder.to(device, dtype);
    this.projector.to(device, dtype);
    this.predictor.to(device, dtype);
    for (const t of this.#target) moveTensor(t, device, dtype);
    (this.options as { device: string }).device = device;
    return this;
  }

  /**
   * Checks the online tensors before a forward or EMA update (a few hundred JS
   * compares): a disposed one throws; one whose data was swapped (the encoder
   * moved with to() or channelsLast() after BYOL was built) is followed. The
   * target copy takes a new memory format itself; a new dtype or device
   * throws, as the projector and predictor did not move with it.
   */
  #sync(call: string): void {
    if (!this.options.useMomentum) return;
    this.#emaSrc.sync(call, (j) => this.#follow(call, this.#paramSlot[j]));
    this.#bufSrc.sync(call, (j) => this.#follow(call, this.#bufferSlot[j]));
  }

  #follow(call: string, i: number): void {
    const online = this.#slots[i].get();
    const target = this.#target[i];
    if (online.dtype !== target.dtype || online.device !== target.device) {
      throw new TorchError(
        call,
        `${this.#slots[i].name} is now ${online.dtype} on ${online.device} but the target ` +
          `network's copy is ${target.dtype} on ${target.device}: the encoder was moved after ` +
          "BYOL was built. Move the whole model with byol.to(device, dtype), or move the " +
          "encoder before building BYOL",
      );
    }
    if (online.ndim === 4 && online.memoryFormat !== target.memoryFormat) {
      if (online.memoryFormat === "channelsLast") channelsLastTensor(target);
      else {
        const data = noGrad(() => target.contiguous());
        assignData(target, data);
      }
    }
  }

  /** The online parameters the optimizer updates (encoder, projector, predictor). */
  onlineParameters(): Tensor[] {
    return this.namedOnlineParameters().map(([, t]) => t);
  }

  /** Online parameters with dotted names ("encoder.conv1.weight", "predictor.0.bias", ...). */
  namedOnlineParameters(): [string, Tensor][] {
    return [
      ...this.encoder.namedParameters("encoder"),
      ...this.projector.namedParameters("projector"),
      ...this.predictor.namedParameters("predictor"),
    ];
  }

  /** As a Module's: the online parameters (namedOnlineParameters), for DistributedDataParallel. */
  namedParameters(): [string, Tensor][] {
    return this.namedOnlineParameters();
  }

  /**
   * Every tensor of the model that is not trained by the optimizer: the online
   * BatchNorm buffers, then the target network's tensors ("target." + the
   * slot's name; none without momentum). DistributedDataParallel broadcasts
   * these from rank 0 with the parameters.
   */
  namedBuffers(): [string, Tensor][] {
    const out: [string, Tensor][] = [
      ...this.encoder.namedBuffers("encoder"),
      ...this.projector.namedBuffers("projector"),
      ...this.predictor.namedBuffers("predictor"),
    ];
    if (this.options.useMomentum) {
      this.#slots.forEach((s, i) => out.push([`target.${s.name}`, this.#target[i]]));
    }
    return out;
  }

  train(mode = true): this {
    this.encoder.train(mode);
    this.projector.train(mode);
    this.predictor.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** The target network's tensors by name (online ones without momentum). */
  targetStateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    this.#slots.forEach((s, i) => {
      out[s.name] = this.options.useMomentum ? this.#target[i] : s.get();
    });
    return out;
  }

  /** Copies saved target values in (exact resume). */
  loadTargetStateDict(dict: Record<string, Tensor>): void {
    if (!this.options.useMomentum) return;
    const missing = this.#slots.filter((s) => !(s.name in dict)).map((s) => s.name);
    if (missing.length) {
      throw new StateDictError(
        `target state is missing ${missing.slice(0, 5).join(", ")}${
          missing.length > 5 ? " ..." : ""
        }`,
        missing,
        [],
        [],
      );
    }
    const mismatched = this.#slots.filter((s) =>
      dict[s.name].shape.join(",") !== s.get().shape.join(",")
    ).map((s) => `${s.name}: expected [${s.get().shape}], got [${dict[s.name].shape}]`);
    if (mismatched.length) {
      throw new StateDictError(`shape mismatch: ${mismatched.join("; ")}`, [], [], mismatched);
    }
    noGrad(() => this.#slots.forEach((s, i) => this.#target[i].copy_(dict[s.name])));
  }

  /**
   * The online network's state: encoder, projector and predictor with
   * prefixed names ("encoder.conv1.weight", "predictor.0.bias", ...), the
   * names of namedOnlineParameters() and of a PyTorch twin's modules.
   */
  onlineStateDict(): Record<string, Tensor> {
    return {
      ...this.encoder.stateDict("encoder"),
      ...this.projector.stateDict("projector"),
      ...this.predictor.stateDict("predictor"),
    };
  }

  /**
   * The whole model, as a checkpoint stores it: the online network under
   * "online." (onlineStateDict's names) and the EMA target under "target."
   * (targetStateDict's; none without momentum). The tensors themselves, not
   * copies.
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(this.onlineStateDict())) out[`online.${k}`] = t;
    if (this.options.useMomentum) {
      for (const [k, t] of Object.entries(this.targetStateDict())) out[`target.${k}`] = t;
    }
    return out;
  }

  /** Copies a stateDict() in: every online and target tensor (strict, shapes checked). */
  loadStateDict(dict: Record<string, Tensor>): void {
    loadParts("BYOL", dict, [
      ["online.encoder.", (d) => this.encoder.loadStateDict(d)],
      ["online.projector.", (d) => this.projector.loadStateDict(d)],
      ["online.predictor.", (d) => this.predictor.loadStateDict(d)],
      ...(this.options.useMomentum
        ? [["target.", (d: Record<string, Tensor>) => this.loadTargetStateDict(d)] as [
          string,
          (d: Record<string, Tensor>) => void,
        ]]
        : []),
    ]);
  }

  #targetProjection(x: Tensor): Tensor {
    // Inference mode: no autograd bookkeeping at all for the target forward
    // (cheaper than noGrad). Its output is cloned out so the loss may save it.
    using z = inferenceMode(() => {
      if (!this.options.useMomentum) return this.#project(x);
      // Run the online modules over the target's tensors, then restore.
      const saved = this.#slots.map((s, i) => s.set(this.#target[i]));
      try {
        return this.#project(x);
      } finally {
        this.#slots.forEach((s, i) => s.set(saved[i]));
      }
    });
    return z.clone();
  }

  #project(x: Tensor): Tensor {
    using h = this.encoder.forward(x);
    return this.projector.forward(h);
  }

  /**
   * The symmetrised BYOL loss for two batches of views (N, C, H, W): both views
   * go through each network in one concatenated forward; the online
   * prediction of view 1 regresses the target projection of view 2 and vice
   * versa; the two terms are summed and averaged over the batch.
   */
  loss(view1: Tensor, view2: Tensor): Tensor {
    return lossOnly(this.forward(view1, view2));
  }

  /** The loss and the online encoder's features of both views (2N, D), as the trainer's step takes them. */
  forward(view1: Tensor, view2: Tensor): MethodOutput {
    using x = bothViews("BYOL.forward(view1, view2)", view1, view2);
    this.#sync("BYOL.forward");
    const features = this.encoder.forward(x);
    try {
      using z = this.projector.forward(features);
      // Under autocast the heads return bf16: the loss normalises float32
      // copies, as byol-pytorch does (a no-op when they are float32 already).
      using pLow = this.predictor.forward(z);
      using ztLow = this.#targetProjection(x);
      using p = atLeastFloat32(pLow);
      using zt = atLeastFloat32(ztLow);
      const [p1, p2] = p.chunk(2, 0);
      const [t1, t2] = zt.chunk(2, 0);
      try {
        using l1 = byolLoss(p1, t2);
        using l2 = byolLoss(p2, t1);
        using both = l1.add(l2);
        return { loss: both.mean(), features };
      } finally {
        for (const t of [p1, p2, t1, t2]) t.dispose();
      }
    } catch (e) {
      features.dispose();
      throw e;
    }
  }

  /**
   * The EMA update after an optimizer step: target = tau * target + (1 - tau) *
   * online for every parameter in ONE FFI call, and the online BN buffers
   * copied into the target in one more. Returns the tau used.
   */
  updateTarget(step: number, totalSteps: number): number {
    A.finite("BYOL.updateTarget(step, totalSteps)", "step", step);
    A.finite("BYOL.updateTarget(step, totalSteps)", "totalSteps", totalSteps);
    const tau = tauAt(step, totalSteps, this.options.tauBase, this.options.tauSchedule);
    if (!this.options.useMomentum) return tau;
    this.#sync("BYOL.updateTarget");
    lerpList(this.#emaDst, this.#emaSrc, 1 - tau);
    if (this.#nBuffers > 0) copyList(this.#bufDst, this.#bufSrc);
    return tau;
  }

  /** The method's step hook: the EMA update (updateTarget); returns { tau }. */
  afterStep(step: number, allSteps: number): Record<string, number> {
    return { tau: this.updateTarget(step, allSteps) };
  }

  /** Step `step`'s { tau } (a captured step writes it into a device tensor). */
  stepValues(step: number, allSteps: number): Record<string, number> {
    A.finite("BYOL.stepValues(step, allSteps)", "step", step);
    A.finite("BYOL.stepValues(step, allSteps)", "allSteps", allSteps);
    return { tau: tauAt(step, allSteps, this.options.tauBase, this.options.tauSchedule) };
  }

  /**
   * updateTarget reading tau from a 0-dim float64 device tensor (a step
   * captured in a CUDA graph): the EMA weight 1 - tau is formed in float64,
   * as updateTarget's host double, and rounded to the parameters' float32 by
   * the lerp as a scalar weight is (on the CPU, the very same update).
   */
  afterStepFrom(values: Record<string, Tensor>): void {
    const tau = values.tau;
    if (tau === undefined) throw new TypeError("BYOL.afterStepFrom: values has no tau tensor");
    if (!this.options.useMomentum) return;
    this.#sync("BYOL.afterStepFrom");
    tidy(() => lerpListTensor(this.#emaDst, this.#emaSrc, tau.neg().add(1)));
    if (this.#nBuffers > 0) copyList(this.#bufDst, this.#bufSrc);
  }

  /** Frees the target copy and every module's tensors. */
  dispose(): void {
    for (const t of this.#target) if (!t.isDisposed) t.dispose();
    this.encoder.dispose();
    this.projector.dispose();
    this.predictor.dispose();
  }
}
