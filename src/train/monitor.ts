// The online kNN monitor (k=200, cosine, T=0.1) and the final evaluation of an
// encoder: kNN top-1 at k=20 and 200 and the offline linear probe, on the
// training split as the bank and the test split as queries.
import type { Tensor } from "../../ffi/tensor.ts";
import { tensor } from "../../ffi/creation.ts";
import { extractFeatures } from "../eval/features.ts";
import { knnEvaluateMany } from "../eval/knn.ts";
import { linearProbe, type LinearProbeProtocol } from "../eval/linear_probe.ts";
import type { ImageSet } from "../data/image_set.ts";
import type { Module } from "../nn/module.ts";

export interface EncoderEval {
  knn20: number;
  knn200: number;
  probeTop1: number;
  probeTop5: number;
  probe: LinearProbeProtocol;
}

interface Uploaded {
  images: Tensor;
  labels: Tensor;
}

function upload(set: ImageSet, device: string): Uploaded {
  if (set.labels === null) throw new Error(`${set.source} has no labels to evaluate with`);
  return {
    images: tensor(set.images, {
      shape: [set.length, set.channels, set.height, set.width],
      device,
    }),
    labels: tensor(set.labels, { dtype: "int64", device }),
  };
}

function features(
  encoder: Module,
  images: Tensor,
  norm: { mean: number[]; std: number[] },
  batchSize = 512,
): Tensor {
  encoder.eval();
  return extractFeatures((x) => encoder.forward(x), images, { normalize: norm, batchSize });
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

/**
 * kNN top-1 (percent) of `encoder` in eval mode; the caller restores train mode.
 * Pass the training batch size as `batchSize`: the forwards then take the CPU
 * tensor cache's blocks of the training step's activations instead of mapping
 * a second, larger set that the cache would keep for the rest of the run.
 */
export function knnTop1(
  encoder: Module,
  bank: LabelledImages,
  queries: LabelledImages,
  norm: { mean: number[]; std: number[] },
  k = 200,
  batchSize = 512,
): number {
  using fb = features(encoder, bank.images, norm, batchSize);
  using fq = features(encoder, queries.images, norm, batchSize);
  return knnEvaluateMany(fb, bank.labels, fq, queries.labels, { ks: [k] })[0].top1;
}

/** kNN (k = 20, 200) and the linear probe of a frozen encoder. */
export function evaluateEncoder(
  encoder: Module,
  train: ImageSet,
  test: ImageSet,
  device: string,
  norm: { mean: number[]; std: number[] },
): EncoderEval {
  using tr = disposable(upload(train, device));
  using te = disposable(upload(test, device));
  using fTrain = features(encoder, tr.v.images, norm);
  using fTest = features(encoder, te.v.images, norm);
  const [k20, k200] = knnEvaluateMany(fTrain, tr.v.labels, fTest, te.v.labels, { ks: [20, 200] });
  const probe = linearProbe(fTrain, tr.v.labels, fTest, te.v.labels);
  return {
    knn20: k20.top1,
    knn200: k200.top1,
    probeTop1: probe.top1,
    probeTop5: probe.top5,
    probe: probe.protocol,
  };
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
