"""One optimizer step over ResNet-18 + projector parameters: LARS written as a PyTorch
user would, torch.optim.AdamW and SGD (defaults, and foreach=True for reference)."""
from common import LARS, decay_groups, emit, mlp, params, resnet18_cifar, time_reps
import torch

p = params()
torch.manual_seed(0)
net = torch.nn.ModuleDict({"encoder": resnet18_cifar(3), "projector": mlp(512, 256, 4096)})
named = list(net.named_parameters())
for _, q in named:
    q.grad = torch.randn_like(q) * 0.01


def groups():
    dec, exc = decay_groups(named)
    return [{"params": dec}, {"params": exc, "weight_decay": 0.0, "lars": False}]


ms = {}
o = LARS(groups(), lr=1.0, weight_decay=1e-5)
ms["LARS"] = time_reps(lambda _: o.step(), p)["ms"]
for fe in (None, True):
    sfx = "" if fe is None else " foreach"
    o = torch.optim.AdamW(groups(), lr=1e-3, weight_decay=1e-6, foreach=fe)
    ms["AdamW" + sfx] = time_reps(lambda _: o.step(), p)["ms"]
    o = torch.optim.SGD(groups(), lr=0.1, momentum=0.9, weight_decay=1e-4, foreach=fe)
    ms["SGD" + sfx] = time_reps(lambda _: o.step(), p)["ms"]
emit({"ms": ms, "tensors": len(named), "numel": sum(q.numel() for _, q in named)})
