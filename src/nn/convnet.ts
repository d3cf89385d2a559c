// A small 4-block CNN encoder for small images (Fashion-MNIST, CIFAR) on a
// CPU budget: each block is conv3x3-BN-ReLU, blocks 1-3 end in a 2x2
// max-pool, then a global average pool. On 28x28 inputs a BYOL step costs
// about a third of a CIFAR-stem ResNet-18's, which buys more epochs in the
// default run's time budget. Its PyTorch twin is in docs/EXPORT.md
// (tests/nn/convnet_test.ts checks the two agree).
import type { Tensor } from "../../ffi/tensor.ts";
import * as F from "../../ffi/functional.ts";
import * as A from "../../ffi/args.ts";
import { Module } from "./module.ts";
import { BatchNorm2d, Conv2d } from "./layers.ts";
import { kaimingNormalFanOut } from "./init.ts";
import { noGrad } from "../../ffi/runtime.ts";

export interface ConvNetOptions {
  inChannels?: number;
  /** Channels of the first block; each block doubles it. Default 32 (outDim 256). */
  width?: number;
}

class ConvBlock extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(inC: number, outC: number, readonly pool: boolean) {
    super();
    this.conv = this.registerModule("conv", new Conv2d(inC, outC, 3, { padding: 1, bias: false }));
    this.bn = this.registerModule("bn", new BatchNorm2d(outC));
  }
  forward(x: Tensor): Tensor {
    using a = this.conv.forward(x);
    const b = this.bn.forward(a).relu_(); // in place on BN's output, as torchvision does
    if (!this.pool) return b;
    using c = b;
    return F.maxPool2d(c, 2);
  }
}

export class ConvNet extends Module {
  readonly outDim: number;
  readonly blocks: ConvBlock[];
  constructor(opts: ConvNetOptions = {}) {
    super();
    const sig = "convNet(options)";
    A.options(sig, opts, ["inChannels", "width"]);
    if (opts.inChannels !== undefined) A.posInt(sig, "options.inChannels", opts.inChannels);
    if (opts.width !== undefined) A.posInt(sig, "options.width", opts.width);
    const inC = opts.inChannels ?? 3;
    const w = opts.width ?? 32;
    const widths = [w, 2 * w, 4 * w, 8 * w];
    this.blocks = widths.map((c, i) =>
      this.registerModule(`blocks.${i}`, new ConvBlock(i === 0 ? inC : widths[i - 1], c, i < 3))
    );
    this.outDim = widths[3];
    noGrad(() => {
      for (const b of this.blocks) {
        using k = kaimingNormalFanOut(b.conv.weight.shape);
        b.conv.weight.copy_(k);
      }
    });
  }
  forward(x: Tensor): Tensor {
    let h = this.blocks[0].forward(x);
    for (let i = 1; i < this.blocks.length; i++) {
      const next = this.blocks[i].forward(h);
      h.dispose();
      h = next;
    }
    using pooled = F.adaptiveAvgPool2d(h, 1);
    h.dispose();
    return pooled.flatten(1);
  }
}

export function convNet(opts: ConvNetOptions = {}): ConvNet {
  return new ConvNet(opts);
}
