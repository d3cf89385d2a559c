// The online kNN monitor (k=200, cosine, T=0.1) and the final evaluation of an
// encoder: kNN top-1 at k=20 and 200 and the offline linear probe, on the
// training split as the bank and the test split as queries.
import type { Tensor } from "../../ffi/tensor.ts";
import { tensor } from "../../ffi/creation.ts";
import { sizePair } from "../augment/config.ts";
import { extractFeatures } from "../eval/features.ts";
import { knnEvaluateMany } from "../eval/knn.ts";
import { linearProbe, type LinearProbeProtocol } from "../eval/linear_probe.ts";
import { imageBytes, type ImageSet } from "../data/image_set.ts";
import { imagesTensor, isMapped } from "../data/mapped_set.ts";
import { fitsOnDevice } from "../data/placement.ts";
import type { Module } from "../nn/module.ts";
import { inPrecision, type Precision } from "./precision.ts";
import type { OnlineProbe } from "./online_probe.ts";
import { gatherShards, shardRange, SOLO, type World } from "../distributed/world.ts";

export interface EncoderEval {
  knn20: number;
  knn200: number;
  probeTop1: number;
  probeTop5: number;
  probe: LinearProbeProtocol;
  /** The online probe's top-1 on the same test features (a run with --online-probe). */
  onlineProbeTop1?: number;
}

/** What evaluateEncoder may also do with the test features it extracted. */
export interface EvaluateExtras {
  /** Score this online probe on them (EncoderEval.onlineProbeTop1). */
  onlineProbe?: OnlineProbe | null;
  /** Called on rank 0 with the test features (N, D) and labels (N,), before they are freed. */
  testFeatures?: (features: Tensor, labels: Tensor) => void;
}

interface Uploaded {
  images: Tensor;
  labels: Tensor;
}

/**
 * A labelled set's images where features are extracted from them: on
 * `device`, except a mapped cache too large for it, which stays on the host
 * (the mapping, no copy) and goes in one batch at a time. Labels on `device`.
 */
function upload(set: ImageSet, device: string): Uploaded {
  if (set.labels === null) throw new Error(`${set.source} has no labels to evaluate with`);
  const onHost = isMapped(set) && !fitsOnDevice(set.length * imageBytes(set), device);
  return {
    images: imagesTensor(set, onHost ? "cpu" : device),
    labels: tensor(set.labels, { dtype: "int64", device }),
  };
}

export interface FeatureOptions {
  /** Images per forward (default 512). */
  batchSize?: number;
  /** With several ranks each extracts its share and the shares are gathered. */
  world?: World;
  /** "bf16-mixed" runs the forwards under bf16 autocast on the images' device. */
  precision?: Precision;
  /** Where the encoder runs (default: the images' device; host images go in batch by batch). */
  device?: string;
}

/**
 * How the encoder sees an image: the view's normalisation and, when given, its
 * size (an augmentation's view config is one); images larger than the size
 * are centre-cropped to it.
 */
export interface ViewNorm {
  mean: number[];
  std: number[];
  size?: number | [number, number];
}

/** `images` (N, C, H, W) cropped to their centre `size` (a view), or a view of all of them. */
export function centreCrop(images: Tensor, size?: number | [number, number]): Tensor {
  const [h, w] = [images.size(2), images.size(3)];
  const [ch, cw] = size === undefined ? [h, w] : sizePair(size);
  if (ch >= h && cw >= w) return images.narrow(0, 0, images.size(0));
  const [th, tw] = [Math.min(ch, h), Math.min(cw, w)];
  // torchvision's CenterCrop: top = round((h - th) / 2), left = round((w - tw) / 2),
  // with Python's round (halves to even).
  const half = (d: number) => {
    const f = Math.floor(d / 2);
    return d % 2 === 1 && f % 2 === 1 ? f + 1 : f;
  };
  using rows = images.narrow(2, half(h - th), th);
  return rows.narrow(3, half(w - tw), tw);
}

/**
 * The float32 features of every image, `encoder` in eval mode. With several
 * ranks each extracts its share (shardRange) and the shares are gathered, so
 * every rank ends with all rows (in eval mode an image's features do not
 * depend on its batch).
 */
export function encoderFeatures(
  encoder: Module,
  images: Tensor,
  norm: ViewNorm,
  opts: FeatureOptions = {},
): Tensor {
  const { batchSize = 512, world = SOLO, precision = "32" } = opts;
  encoder.eval();
  // Images stored larger than the view (--stored-size): the centre view, as
  // torchvision's evaluation CenterCrop after Resize(256) for 224.
  using view = centreCrop(images, norm.size);
  images = view;
  const forward = (v: Tensor) => inPrecision(precision, v.device, () => encoder.forward(v));
  const extract = (x: Tensor) =>
    extractFeatures(forward, x, { normalize: norm, batchSize, device: opts.device });
  if (world.worldSize === 1) return extract(images);
  const n = images.size(0);
  const [start, end] = shardRange(n, world.rank, world.worldSize);
  // A rank whose share is empty (n < world size) extracts one image for the width.
  using mine = images.narrow(0, Math.min(start, n - 1), Math.max(1, end - start));
  using f = extract(mine);
  using local = end > start ? f.clone() : f.narrow(0, 0, 0);
  return gatherShards(world, local, n, "the feature all-gather");
}

/** Labelled images on the device. */
export interface LabelledImages {
  images: Tensor;
  labels: Tensor;
}

/** Uploads a labelled set once (the monitor reuses it every epoch). */
export function uploadLabelled(set: ImageSet, device: string): LabelledImages {
  return upload(set, device);
}

export interface KnnMonitorOptions extends FeatureOptions {
  /** Neighbours (default 200). */
  k?: number;
}

/**
 * kNN top-1 (percent) of `encoder` in eval mode; the caller restores train
 * mode. The trainer passes its batch size as `batchSize` (the forwards then
 * take the CPU tensor cache's blocks of the step's activations instead of
 * mapping a second, larger set that the cache would keep for the rest of the
 * run) and its precision (bf16-mixed extracts 2.5x faster on an AMX CPU, the
 * kNN within 0.1 point; the scoring is float32 either way).
 */
export function knnTop1(
  encoder: Module,
  bank: LabelledImages,
  queries: LabelledImages,
  norm: ViewNorm,
  opts: KnnMonitorOptions = {},
): number {
  const { k = 200, world = SOLO } = opts;
  using fb = encoderFeatures(encoder, bank.images, norm, opts);
  using fq = encoderFeatures(encoder, queries.images, norm, opts);
  // Rank 0 scores; the others only extracted their shares.
  if (world.rank !== 0) return NaN;
  return knnEvaluateMany(fb, bank.labels, fq, queries.labels, { ks: [k] })[0].top1;
}

/**
 * The monitor's scores: knnTop1's, and the online probe's top-1 on the same
 * query features when a probe is given (rank 0 scores; the others get NaN).
 */
export function monitorScores(
  encoder: Module,
  bank: LabelledImages,
  queries: LabelledImages,
  norm: ViewNorm,
  opts: KnnMonitorOptions & { probe?: OnlineProbe | null } = {},
): { knnTop1: number; probeTop1?: number } {
  const { k = 200, world = SOLO, probe = null } = opts;
  using fb = encoderFeatures(encoder, bank.images, norm, opts);
  using fq = encoderFeatures(encoder, queries.images, norm, opts);
  if (world.rank !== 0) {
    return probe === null ? { knnTop1: NaN } : { knnTop1: NaN, probeTop1: NaN };
  }
  const knnTop1 = knnEvaluateMany(fb, bank.labels, fq, queries.labels, { ks: [k] })[0].top1;
  if (probe === null) return { knnTop1 };
  return { knnTop1, probeTop1: probe.accuracy(fq, queries.labels) };
}

/**
 * kNN (k = 20, 200) and the linear probe of a frozen encoder. With several
 * ranks the features are extracted in shares and gathered; rank 0 scores, the
 * others return null.
 */
export function evaluateEncoder(
  encoder: Module,
  train: ImageSet,
  test: ImageSet,
  device: string,
  norm: ViewNorm,
  world: World = SOLO,
  extras: EvaluateExtras = {},
): EncoderEval | null {
  using tr = disposable(upload(train, device));
  using te = disposable(upload(test, device));
  using fTrain = encoderFeatures(encoder, tr.v.images, norm, { world, device });
  using fTest = encoderFeatures(encoder, te.v.images, norm, { world, device });
  if (world.rank !== 0) return null;
  const [k20, k200] = knnEvaluateMany(fTrain, tr.v.labels, fTest, te.v.labels, { ks: [20, 200] });
  const probe = linearProbe(fTrain, tr.v.labels, fTest, te.v.labels);
  extras.testFeatures?.(fTest, te.v.labels);
  const out: EncoderEval = {
    knn20: k20.top1,
    knn200: k200.top1,
    probeTop1: probe.top1,
    probeTop5: probe.top5,
    probe: probe.protocol,
  };
  if (extras.onlineProbe) out.onlineProbeTop1 = extras.onlineProbe.accuracy(fTest, te.v.labels);
  return out;
}

function disposable(u: Uploaded): { v: Uploaded } & Disposable {
  return {
    v: u,
    [Symbol.dispose]() {
      u.images.dispose();
      u.labels.dispose();
    },
  };
}
