"""One rank of `deno task bench --only ddp`, PyTorch side (bench/ddp_rank.ts is ours):
    python bench/py/ddp.py <mode> <rank> <world> <port> '<json params>'
"allreduce": dist.all_reduce of one flat float32 buffer of ResNet-18's parameter count;
"step": the BYOL model step under torch DDP (gloo, find_unused_parameters=False, plain
BatchNorm: PyTorch's SyncBatchNorm has no CPU kernels), SGD, the notebook's EMA loop.
Rank 0 prints one JSON object on stdout."""
import copy
import json
import statistics
import sys
import time

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

from common import ema_update, mlp, resnet18_cifar

mode, rank, world, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
p = json.loads(sys.argv[5])
torch.set_num_threads(int(p["threads"]))
if world > 1 or mode == "allreduce":
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)


def timed(fn):
    for _ in range(int(p["warmup"])):
        fn()
    times = []
    start = time.perf_counter()
    for _ in range(int(p["reps"])):
        if world > 1:
            dist.barrier()
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
        if len(times) >= 2 and (time.perf_counter() - start) * 1e3 > p["budgetMs"]:
            break
    return {"ms": statistics.median(times), "all": times}


if mode == "allreduce":
    floats = sum(t.numel() for t in resnet18_cifar(3).parameters())
    flat = torch.randn(floats)
    result = {**timed(lambda: dist.all_reduce(flat)), "floats": floats}
else:
    batch, side = int(p["batch"]), int(p["side"])
    local = batch // world

    class Online(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = resnet18_cifar(3)
            self.projector = mlp(512, 256, 4096)
            self.predictor = mlp(256, 256, 4096)

        def forward(self, x):
            return self.predictor(self.projector(self.encoder(x)))

    online = Online()
    target = copy.deepcopy(nn.Sequential(online.encoder, online.projector)).requires_grad_(False)
    model = nn.parallel.DistributedDataParallel(online) if world > 1 else online
    opt = torch.optim.SGD(online.parameters(), lr=0.05, weight_decay=1e-4, momentum=0.9)
    v1, v2 = torch.randn(local, 3, side, side), torch.randn(local, 3, side, side)

    def loss_fn(x, y):
        return 2 - 2 * (F.normalize(x, dim=-1) * F.normalize(y, dim=-1)).sum(dim=-1)

    def step():
        x = torch.cat([v1, v2], 0)
        pr = model(x)
        with torch.no_grad():
            zt = target(x)
        p1, p2 = pr.chunk(2, 0)
        t1, t2 = zt.chunk(2, 0)
        loss = (loss_fn(p1, t2) + loss_fn(p2, t1)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ema_update(target, nn.Sequential(online.encoder, online.projector), 0.996)

    t = timed(step)
    result = {**t, "batch": batch, "local": local, "pairsPerSec": batch / (t["ms"] / 1e3)}
if dist.is_initialized():
    dist.destroy_process_group()
if rank == 0:
    print(json.dumps({"result": result, "torch": torch.__version__}))
