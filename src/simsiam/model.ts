// SimSiam (Chen & He 2021, "Exploring Simple Siamese Representation
// Learning"): one network, encoder then a 3-layer projection MLP (BatchNorm on
// every layer, the output's without affine), and a bottleneck predictor. The
// prediction of each view regresses the other view's projection under a
// stop-gradient; no target network, no momentum, no negative pairs.
import type { Tensor } from "../../ffi/tensor.ts";
import * as A from "../../ffi/args.ts";
import { type Device, deviceCode } from "../../ffi/device.ts";
import type { DTypeName } from "../../ffi/dtype.ts";
import { BatchNorm1d, Linear, ReLU, Sequential } from "../nn/layers.ts";
import { Module } from "../nn/module.ts";
import { convertSyncBatchNorm } from "../nn/sync_batchnorm.ts";
import {
  atLeastFloat32,
  bothViews,
  type Encoder,
  loadParts,
  lossOnly,
  type Method,
  type MethodOutput,
} from "../method/method.ts";
import { negativeCosine } from "./loss.ts";

export interface SimSiamOptions {
  /** Output width of the projector (the paper's 2048). Default 2048. */
  projectionDim?: number;
  /** Hidden width of the projector's two hidden layers. Default 2048. */
  hiddenDim?: number;
  /** Hidden (bottleneck) width of the predictor (the paper's 512). Default projectionDim / 4. */
  predictorDim?: number;
  /** Device of the projector and predictor. Default: the encoder's. */
  device?: string;
  /** Every BatchNorm (encoder's included, in place) becomes an nn.SyncBatchNorm. Default false. */
  syncBatchNorm?: boolean;
}

const SIMSIAM_KEYS = [
  "projectionDim",
  "hiddenDim",
  "predictorDim",
  "device",
  "syncBatchNorm",
] as const;

/**
 * The projection MLP of the paper (its official code): Linear (no bias), BN,
 * ReLU, twice, then Linear (no bias: a BN follows) and BN without affine.
 */
export function simsiamProjector(inDim: number, outDim: number, hiddenDim: number): Sequential {
  return new Sequential(
    new Linear(inDim, hiddenDim, { bias: false }),
    new BatchNorm1d(hiddenDim),
    new ReLU(),
    new Linear(hiddenDim, hiddenDim, { bias: false }),
    new BatchNorm1d(hiddenDim),
    new ReLU(),
    new Linear(hiddenDim, outDim, { bias: false }),
    new BatchNorm1d(outDim, { affine: false }),
  );
}

/** The bottleneck predictor: Linear (no bias), BN, ReLU, Linear. */
export function simsiamPredictor(dim: number, hiddenDim: number): Sequential {
  return new Sequential(
    new Linear(dim, hiddenDim, { bias: false }),
    new BatchNorm1d(hiddenDim),
    new ReLU(),
    new Linear(hiddenDim, dim),
  );
}

export class SimSiam implements Method {
  readonly name = "simsiam";
  readonly encoder: Encoder;
  readonly projector: Sequential;
  readonly predictor: Sequential;
  readonly options: Required<SimSiamOptions>;

  constructor(encoder: Encoder, options: SimSiamOptions = {}) {
    const sig = "SimSiam(encoder, options)";
    if (!(encoder instanceof Module)) throw A.typeError(sig, "encoder", "an nn.Module", encoder);
    A.options(sig, options, SIMSIAM_KEYS);
    for (const k of ["projectionDim", "hiddenDim", "predictorDim"] as const) {
      if (options[k] !== undefined) A.posInt(sig, `options.${k}`, options[k]);
    }
    A.optDevice(sig, "options.device", options.device);
    A.optBool(sig, "options.syncBatchNorm", options.syncBatchNorm);
    if (!(encoder.outDim > 0)) {
      throw new TypeError("SimSiam needs an encoder with a positive outDim (its feature width)");
    }
    const projectionDim = options.projectionDim ?? 2048;
    this.options = {
      projectionDim,
      hiddenDim: options.hiddenDim ?? 2048,
      predictorDim: options.predictorDim ?? Math.max(1, Math.floor(projectionDim / 4)),
      device: options.device ?? encoder.parameters()[0]?.device ?? "cpu",
      syncBatchNorm: options.syncBatchNorm ?? false,
    };
    this.encoder = encoder;
    this.projector = simsiamProjector(encoder.outDim, projectionDim, this.options.hiddenDim);
    this.predictor = simsiamPredictor(projectionDim, this.options.predictorDim);
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
        `the encoder has parameters on ${stray.device} but SimSiam's device is ` +
          `${this.options.device}; move the encoder first (encoder.to(device)), then build SimSiam`,
      );
    }
  }

  /** Moves (and optionally casts) encoder, projector and predictor, each tensor in place. */
  to(device: Device | string, dtype?: DTypeName): this {
    A.device("SimSiam.to(device, dtype)", "device", device);
    A.optDtype("SimSiam.to(device, dtype)", "dtype", dtype);
    for (const m of [this.encoder, this.projector, this.predictor]) m.to(device, dtype);
    (this.options as { device: string }).device = device;
    return this;
  }

  /** The parameters the optimizer trains: encoder, projector, predictor. */
  namedParameters(): [string, Tensor][] {
    return [
      ...this.encoder.namedParameters("encoder"),
      ...this.projector.namedParameters("projector"),
      ...this.predictor.namedParameters("predictor"),
    ];
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** The BatchNorm buffers. */
  namedBuffers(): [string, Tensor][] {
    return [
      ...this.encoder.namedBuffers("encoder"),
      ...this.projector.namedBuffers("projector"),
      ...this.predictor.namedBuffers("predictor"),
    ];
  }

  /** The whole model under "online." (its one network), as a checkpoint stores it. */
  stateDict(): Record<string, Tensor> {
    return {
      ...this.encoder.stateDict("online.encoder"),
      ...this.projector.stateDict("online.projector"),
      ...this.predictor.stateDict("online.predictor"),
    };
  }

  /** Copies a stateDict() in (strict, shapes checked). */
  loadStateDict(dict: Record<string, Tensor>): void {
    loadParts("SimSiam", dict, [
      ["online.encoder.", (d) => this.encoder.loadStateDict(d)],
      ["online.projector.", (d) => this.projector.loadStateDict(d)],
      ["online.predictor.", (d) => this.predictor.loadStateDict(d)],
    ]);
  }

  train(mode = true): this {
    for (const m of [this.encoder, this.projector, this.predictor]) m.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * The symmetrised SimSiam loss: both views in one concatenated forward (so
   * BatchNorm normalises over both, as this toolkit's BYOL does), then
   * (D(p1, sg(z2)) + D(p2, sg(z1))) / 2 averaged over the batch, in [-1, 1].
   * Under autocast the cosine is taken on float32 copies.
   */
  loss(view1: Tensor, view2: Tensor): Tensor {
    return lossOnly(this.forward(view1, view2));
  }

  /** The loss and the encoder's features of both views (2N, D), as the trainer's step takes them. */
  forward(view1: Tensor, view2: Tensor): MethodOutput {
    using x = bothViews("SimSiam.forward(view1, view2)", view1, view2);
    const features = this.encoder.forward(x);
    try {
      using zLow = this.projector.forward(features);
      using pLow = this.predictor.forward(zLow);
      using z = atLeastFloat32(zLow);
      using p = atLeastFloat32(pLow);
      using zd = z.detach();
      const [p1, p2] = p.chunk(2, 0);
      const [z1, z2] = zd.chunk(2, 0);
      try {
        using l1 = negativeCosine(p1, z2);
        using l2 = negativeCosine(p2, z1);
        using both = l1.add(l2);
        using mean = both.mean();
        return { loss: mean.mul(0.5), features };
      } finally {
        for (const t of [p1, p2, z1, z2]) t.dispose();
      }
    } catch (e) {
      features.dispose();
      throw e;
    }
  }

  /** Nothing besides the optimizer's update: no target, no metrics. */
  afterStep(_step: number, _allSteps: number): Record<string, number> {
    return {};
  }

  stepValues(_step: number, _allSteps: number): Record<string, number> {
    return {};
  }

  afterStepFrom(_values: Record<string, Tensor>): void {}

  dispose(): void {
    this.encoder.dispose();
    this.projector.dispose();
    this.predictor.dispose();
  }
}
