"""The BYOL training step of a recipe (see bench/cases/step.ts), PyTorch side.

Models are the twins of ours (torchvision ResNet-18 with the CIFAR stem, or the
convnet), projector and predictor Linear-BN1d-ReLU-Linear, target = a deepcopy of
encoder + projector updated with the notebook's per-parameter EMA loop, both views
concatenated into one forward as ours does. Variants: "model" (pre-made views) and
"e2e" (torchvision per-image transforms in a DataLoader with 2 workers).

First it loads our weights and views from checkPath and reports the loss on them.
"""
import copy
import statistics
import time

from common import (emit, ema_update, encoder_for, make_optimizer, mlp, params,
                    synthetic_images, two_view_loader)
import st
import torch
import torch.nn as nn
import torch.nn.functional as F

p = params()
r = p["recipe"]
batch = int(r["batch"])
torch.manual_seed(0)
enc = encoder_for(r)
online = nn.ModuleDict({
    "encoder": enc,
    "projector": mlp(enc.out_dim, r["projectionDim"], r["hiddenDim"]),
    "predictor": mlp(r["projectionDim"], r["projectionDim"], r["hiddenDim"]),
})
saved = st.load(p["checkPath"])
v1, v2 = saved.pop("view1"), saved.pop("view2")
online.load_state_dict(saved, strict=True)
# --torch-channels-last: the twin in channels-last too (not the common recipe).
channels_last = bool(p.get("channelsLast"))
if channels_last:
    online.to(memory_format=torch.channels_last)
online_tp = nn.Sequential(online["encoder"], online["projector"])
target = copy.deepcopy(online_tp).requires_grad_(False)
online.train()
target.train()


def loss_fn(x, y):
    x = F.normalize(x, dim=-1)
    y = F.normalize(y, dim=-1)
    return 2 - 2 * (x * y).sum(dim=-1)


def byol_loss(a, b):
    x = torch.cat([a, b], 0)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    pr = online["predictor"](online_tp(x))
    with torch.no_grad():
        zt = target(x)
    p1, p2 = pr.float().chunk(2, 0)
    t1, t2 = zt.float().chunk(2, 0)
    return (loss_fn(p1, t2) + loss_fn(p2, t1)).mean()


# Loss check on our weights and views; count conv/linear FLOPs of this forward.
flops = [0]


def count(mod, inp, out):
    if isinstance(mod, nn.Conv2d):
        kh, kw = mod.kernel_size
        flops[0] += 2 * out.numel() * (mod.in_channels // mod.groups) * kh * kw
    elif isinstance(mod, nn.Linear):
        flops[0] += 2 * out.numel() * mod.in_features


hooks = [m.register_forward_hook(count) for m in list(online.modules()) + list(target.modules())
         if isinstance(m, (nn.Conv2d, nn.Linear))]
online_flops = [0]
with torch.no_grad():
    check_loss = byol_loss(v1, v2).item()
for h in hooks:
    h.remove()
# Recount the online part alone: forward + backward ~ 3x forward; target: forward only.
flops_all = flops[0]
flops[0] = 0
hooks = [m.register_forward_hook(count) for m in target.modules()
         if isinstance(m, (nn.Conv2d, nn.Linear))]
with torch.no_grad():
    target(torch.cat([v1, v2], 0))
for h in hooks:
    h.remove()
target_flops = flops[0]
step_flops = 3 * (flops_all - target_flops) + target_flops

optimizer = make_optimizer(r, list(online.named_parameters()))
PHASES = ["augment", "forward", "backward", "optimizer", "ema"]
k = [0]


# bf16-mixed: torch.autocast("cpu"), the loss on float32 projections as ours.
bf16 = p.get("precision") == "bf16-mixed"


def step(get_views):
    ends = []
    t0 = time.perf_counter()
    a, b = get_views()
    ends.append(time.perf_counter())
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss = byol_loss(a, b)
    ends.append(time.perf_counter())
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    ends.append(time.perf_counter())
    optimizer.step()
    ends.append(time.perf_counter())
    ema_update(target, online_tp, r["tauBase"])
    ends.append(time.perf_counter())
    k[0] += 1
    out, prev = {}, t0
    for ph, e in zip(PHASES, ends):
        out[ph] = (e - prev) * 1e3
        prev = e
    return out


def variant(get_views, warmup, reps):
    for _ in range(warmup):
        step(get_views)
    all_ms, phases = [], {ph: [] for ph in PHASES}
    start = time.perf_counter()
    for _ in range(reps):
        t = step(get_views)
        all_ms.append(sum(t.values()))
        for ph in PHASES:
            phases[ph].append(t[ph])
        if len(all_ms) >= 2 and (time.perf_counter() - start) * 1e3 > p["budgetMs"]:
            break
    ms = statistics.median(all_ms)
    return {"ms": ms, "pairsPerSec": batch / (ms / 1e3), "all": all_ms,
            "phases": {ph: statistics.median(v) for ph, v in phases.items()}}


warm, reps = int(p["warmup"]), int(p["reps"])
model_only = variant(lambda: (v1, v2), warm, reps)
c, s = r["channels"], r["imageSize"]
images = synthetic_images(batch * 8, c, s, s)
loader = two_view_loader(images, r["augment"], batch, warm + reps + 3)
it = iter(loader)
next(it)  # start the workers before timing
e2e = variant(lambda: next(it), int(p.get("e2eWarmup", warm)), reps)
del it, loader  # shut the workers down, so RUSAGE_CHILDREN sees them
emit({"checkLoss": check_loss, "model": model_only, "e2e": e2e, "stepFlops": step_flops,
      "targetFlops": target_flops})
