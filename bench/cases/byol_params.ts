// The parameters the EMA and optimizer benches update: a BYOL model over a
// CIFAR-stem ResNet-18 with the 512-4096-256 projector.
import { BYOL, nn, noGrad, randn, type Tensor } from "../../mod.ts";

export function byolResnet18(): BYOL {
  return new BYOL(nn.resnet18({ stem: "cifar" }), { hiddenDim: 4096, projectionDim: 256 });
}

/** Encoder + projector parameters (the target network's), with random grads. */
export function withGrads(model: BYOL): [string, Tensor][] {
  const named = [
    ...model.encoder.namedParameters("encoder"),
    ...model.projector.namedParameters("projector"),
  ];
  noGrad(() => {
    for (const [, p] of named) {
      using g = randn(p.shape);
      p.grad = g.mul(0.01);
    }
  });
  return named;
}
