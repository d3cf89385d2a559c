"""torch.profiler's op table for the default preset's BYOL step in PyTorch, float32 and bf16 autocast.

The model is the twin of ours (bench/py/common.py: the 48-wide convnet, 2048-256 heads), channels-last,
both views of a batch in one forward, AdamW; 3 warm-up steps, then 5 profiled steps per precision.
Divide a row's time by 5 for ms per step. Usage: /usr/bin/python3 bench/py/profile_convnet.py [batch]
"""
import copy
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import ConvNet, mlp

batch = int(sys.argv[1]) if len(sys.argv) > 1 else 64
torch.set_num_threads(2)
torch.manual_seed(0)
enc = ConvNet(1, 48)
online = nn.Sequential(enc, mlp(enc.out_dim, 256, 2048), mlp(256, 256, 2048))
online.to(memory_format=torch.channels_last)
target = copy.deepcopy(online[:2]).requires_grad_(False)
opt = torch.optim.AdamW(online.parameters(), 1e-3)
x = torch.randn(2 * batch, 1, 28, 28).contiguous(memory_format=torch.channels_last)


def loss_fn(a, b):
    return 2 - 2 * (F.normalize(a, dim=-1) * F.normalize(b, dim=-1)).sum(-1)


def step(bf16):
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        p1, p2 = online(x).float().chunk(2)
        with torch.no_grad():
            z1, z2 = target(x).float().chunk(2)
        loss = (loss_fn(p1, z2) + loss_fn(p2, z1)).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()


for bf16 in (False, True):
    for _ in range(3):
        step(bf16)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(5):
            step(bf16)
    print("bf16-mixed" if bf16 else "float32", f"(batch {batch}, 5 steps)")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=22))
