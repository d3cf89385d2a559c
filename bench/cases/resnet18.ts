// ResNet-18 (CIFAR stem) forward + backward on a random batch, images/s.
import { nn, randn, tidy } from "../../mod.ts";
import { timeReps } from "../lib.ts";
import type { CaseParams } from "./params.ts";

export function run(p: CaseParams): { imagesPerSec: number; ms: number; all: number[] } {
  const batch = p.batch as number;
  const model = nn.resnet18({ stem: "cifar" });
  model.train();
  using x = randn([batch, 3, 32, 32]);
  const t = timeReps(() => tidy(() => model.forward(x).sum().backward()), p);
  model.dispose();
  return { imagesPerSec: batch / (t.ms / 1e3), ms: t.ms, all: t.all };
}
