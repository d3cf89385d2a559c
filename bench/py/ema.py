"""The BYOL target update for ResNet-18 + projector: the notebook's per-parameter loop
(plus the BN buffer copy ours also does); the notebook's exact loop (parameters only)
and a torch._foreach variant for reference."""
import copy

from common import emit, ema_update, mlp, params, resnet18_cifar, time_reps
import torch

p = params()
online = torch.nn.Sequential(resnet18_cifar(3), mlp(512, 256, 4096))
target = copy.deepcopy(online).requires_grad_(False)
loop = time_reps(lambda i: ema_update(target, online, 0.99), p)


@torch.no_grad()
def params_only(_):
    for ma, cur in zip(target.parameters(), online.parameters()):
        ma.data = ma.data * 0.99 + (1 - 0.99) * cur.data


tp, op = list(target.parameters()), list(online.parameters())


@torch.no_grad()
def foreach(_):
    torch._foreach_mul_(tp, 0.99)
    torch._foreach_add_(tp, op, alpha=1 - 0.99)


emit({"ms": loop["ms"], "all": loop["all"], "paramsOnlyMs": time_reps(params_only, p)["ms"],
      "foreachMs": time_reps(foreach, p)["ms"],
      "tensors": len(tp) + len(list(target.buffers()))})
