// ResNet-18/34/50 backbones with torchvision's parameter names and shapes
// (fc dropped): weights saved here load into torchvision's resnet18() and back.
import type { Tensor } from "../../ffi/tensor.ts";
import * as F from "../../ffi/functional.ts";
import { noGrad } from "../../ffi/runtime.ts";
import * as A from "../../ffi/args.ts";
import { Module } from "./module.ts";
import { BatchNorm2d, Conv2d, Sequential } from "./layers.ts";
import { kaimingNormalFanOut } from "./init.ts";

export interface ResNetOptions {
  /** Input channels (1 for grayscale data). Default 3. */
  inChannels?: number;
  /** "imagenet": 7x7 stride-2 conv + max-pool; "cifar": 3x3 stride-1 conv, no max-pool. */
  stem?: "imagenet" | "cifar";
  /** Zero the last BN of each residual branch, so each block starts as the identity. */
  zeroInitResidual?: boolean;
}

function conv3x3(inC: number, outC: number, stride = 1): Conv2d {
  return new Conv2d(inC, outC, 3, { stride, padding: 1, bias: false });
}

function conv1x1(inC: number, outC: number, stride = 1): Conv2d {
  return new Conv2d(inC, outC, 1, { stride, bias: false });
}

abstract class Block extends Module {
  abstract readonly lastBn: BatchNorm2d;
}

class BasicBlock extends Block {
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | null;
  constructor(inC: number, planes: number, stride: number, downsample: Sequential | null) {
    super();
    this.conv1 = this.registerModule("conv1", conv3x3(inC, planes, stride));
    this.bn1 = this.registerModule("bn1", new BatchNorm2d(planes));
    this.conv2 = this.registerModule("conv2", conv3x3(planes, planes));
    this.bn2 = this.registerModule("bn2", new BatchNorm2d(planes));
    this.downsample = downsample ? this.registerModule("downsample", downsample) : null;
  }
  get lastBn(): BatchNorm2d {
    return this.bn2;
  }
  forward(x: Tensor): Tensor {
    // `using` frees each intermediate handle as soon as it is consumed; autograd
    // keeps its own references to what backward needs. ReLU and the residual
    // add run in place on BN outputs, as torchvision's blocks do (BN's backward
    // needs its input, not its output): fewer large allocations per step.
    using a = this.conv1.forward(x);
    using b = this.bn1.forward(a).relu_();
    using d = this.conv2.forward(b);
    using idt = this.downsample ? this.downsample.forward(x) : null;
    return this.bn2.forward(d).add_(idt ?? x).relu_();
  }
}

class Bottleneck extends Block {
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly downsample: Sequential | null;
  constructor(inC: number, planes: number, stride: number, downsample: Sequential | null) {
    super();
    // torchvision's v1.5: the stride sits on the 3x3 conv.
    this.conv1 = this.registerModule("conv1", conv1x1(inC, planes));
    this.bn1 = this.registerModule("bn1", new BatchNorm2d(planes));
    this.conv2 = this.registerModule("conv2", conv3x3(planes, planes, stride));
    this.bn2 = this.registerModule("bn2", new BatchNorm2d(planes));
    this.conv3 = this.registerModule("conv3", conv1x1(planes, planes * 4));
    this.bn3 = this.registerModule("bn3", new BatchNorm2d(planes * 4));
    this.downsample = downsample ? this.registerModule("downsample", downsample) : null;
  }
  get lastBn(): BatchNorm2d {
    return this.bn3;
  }
  forward(x: Tensor): Tensor {
    using a = this.conv1.forward(x);
    using b = this.bn1.forward(a).relu_();
    using d = this.conv2.forward(b);
    using e = this.bn2.forward(d).relu_();
    using g = this.conv3.forward(e);
    using idt = this.downsample ? this.downsample.forward(x) : null;
    return this.bn3.forward(g).add_(idt ?? x).relu_();
  }
}

type BlockClass = typeof BasicBlock | typeof Bottleneck;

function checkOptions(sig: string, opts: ResNetOptions): void {
  A.options(sig, opts, ["inChannels", "stem", "zeroInitResidual"]);
  if (opts.inChannels !== undefined) A.posInt(sig, "options.inChannels", opts.inChannels);
  A.optOneOf(sig, "options.stem", opts.stem, ["imagenet", "cifar"]);
  A.optBool(sig, "options.zeroInitResidual", opts.zeroInitResidual);
}

/** A ResNet without its classifier: forward returns pooled (N, outDim) features. */
export class ResNet extends Module {
  /** Feature width: 512 for ResNet-18/34, 2048 for ResNet-50. */
  readonly outDim: number;
  readonly stem: "imagenet" | "cifar";
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly layers: Sequential[];

  constructor(block: BlockClass, counts: number[], opts: ResNetOptions = {}) {
    super();
    checkOptions("ResNet(block, counts, options)", opts);
    const inC = opts.inChannels ?? 3;
    this.stem = opts.stem ?? "imagenet";
    this.conv1 = this.registerModule(
      "conv1",
      this.stem === "cifar"
        ? new Conv2d(inC, 64, 3, { stride: 1, padding: 1, bias: false })
        : new Conv2d(inC, 64, 7, { stride: 2, padding: 3, bias: false }),
    );
    this.bn1 = this.registerModule("bn1", new BatchNorm2d(64));
    let inplanes = 64;
    this.layers = [64, 128, 256, 512].map((planes, i) => {
      const stride = i === 0 ? 1 : 2;
      const blocks: Module[] = [];
      for (let j = 0; j < counts[i]; j++) {
        const s = j === 0 ? stride : 1;
        const needsDown = j === 0 && (s !== 1 || inplanes !== planes * block.expansion);
        const down = needsDown
          ? new Sequential(
            conv1x1(inplanes, planes * block.expansion, s),
            new BatchNorm2d(planes * block.expansion),
          )
          : null;
        blocks.push(new block(inplanes, planes, s, down));
        inplanes = planes * block.expansion;
      }
      return this.registerModule(`layer${i + 1}`, new Sequential(...blocks));
    });
    this.outDim = 512 * block.expansion;
    this.#init(opts.zeroInitResidual ?? false);
  }

  // torchvision: kaiming-normal fan-out convs, BN weight 1 and bias 0, and
  // optionally a zero last BN weight in every residual branch.
  #init(zeroInitResidual: boolean): void {
    noGrad(() => {
      for (const [, m] of this.namedModules()) {
        if (m instanceof Conv2d) {
          using w = kaimingNormalFanOut(m.weight.shape);
          m.weight.copy_(w);
        }
        if (zeroInitResidual && m instanceof Block) m.lastBn.weight!.zero_();
      }
    });
  }

  forward(x: Tensor): Tensor {
    using a = this.conv1.forward(x);
    let h = this.bn1.forward(a).relu_();
    if (this.stem === "imagenet") {
      const p = F.maxPool2d(h, 3, { stride: 2, padding: 1 });
      h.dispose();
      h = p;
    }
    for (const layer of this.layers) {
      const next = layer.forward(h);
      h.dispose();
      h = next;
    }
    using pooled = F.adaptiveAvgPool2d(h, 1);
    h.dispose();
    return pooled.flatten(1);
  }
}

export function resnet18(opts: ResNetOptions = {}): ResNet {
  checkOptions("resnet18(options)", opts);
  return new ResNet(BasicBlock, [2, 2, 2, 2], opts);
}

export function resnet34(opts: ResNetOptions = {}): ResNet {
  checkOptions("resnet34(options)", opts);
  return new ResNet(BasicBlock, [3, 4, 6, 3], opts);
}

export function resnet50(opts: ResNetOptions = {}): ResNet {
  checkOptions("resnet50(options)", opts);
  return new ResNet(Bottleneck, [3, 4, 6, 3], opts);
}
