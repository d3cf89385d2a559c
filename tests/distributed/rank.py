# The PyTorch twin of tests/distributed/rank.ts: the same steps, the same "@@" lines.
#   python3 tests/distributed/rank.py <scenario> <rank> <world> <port> <timeoutMs>
import hashlib
import json
import os
import sys
import time
from datetime import timedelta

import torch
import torch.distributed as dist

scenario, rank, world, port, timeout_ms = sys.argv[1], *map(int, sys.argv[2:6])


def emit(o):
    print("@@" + json.dumps(o), flush=True)


def inp(r, k, n=7):
    return torch.tensor([((i * 0.731 + r * 1.37 + k * 0.113) % 3) - 1.5 for i in range(n)],
                        dtype=torch.float32)


def hexof(t):
    return t.numpy().tobytes().hex()


def sha(t):
    return hashlib.sha256(t.numpy().tobytes()).hexdigest()


def all_reduce(t, op):
    # Gloo has no AVG: a sum, then a division by the world size (as the shim).
    if op == "avg":
        dist.all_reduce(t, dist.ReduceOp.SUM)
        t.div_(world)
    else:
        dist.all_reduce(t, getattr(dist.ReduceOp, op.upper()))


def buckets(tensors, cap):
    # The shim's rule: in order, a new bucket where the dtype changes or the
    # next tensor would take the bucket past cap bytes.
    out, size = [], 0
    for i, t in enumerate(tensors):
        b = t.numel() * t.element_size()
        if not out or tensors[out[-1][0]].dtype != t.dtype or size + b > cap:
            out.append([])
            size = 0
        out[-1].append(i)
        size += b
    return out


t0 = time.time()
if scenario == "torchrun":
    dist.init_process_group("gloo", timeout=timedelta(seconds=20))  # env://
else:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world, timeout=timedelta(milliseconds=timeout_ms))
emit({"key": "init", "value": {"rank": dist.get_rank(), "world": dist.get_world_size()}})

if scenario == "interop":
    for op, k in [("sum", 0), ("max", 1), ("min", 2), ("avg", 3), ("product", 4)]:
        x = inp(rank, k)
        all_reduce(x, op)
        emit({"key": op, "hex": hexof(x)})
    ints = torch.tensor([rank * 10 + i for i in range(5)], dtype=torch.int64)
    dist.all_reduce(ints)
    emit({"key": "int_sum", "hex": hexof(ints)})
    for src in range(world):
        x = inp(rank, 5 + src)
        dist.broadcast(x, src)
        emit({"key": f"bcast{src}", "hex": hexof(x)})
    x = inp(rank, 9)
    gathered = [torch.empty_like(x) for _ in range(world)]
    dist.all_gather(gathered, x)
    for i, g in enumerate(gathered):
        emit({"key": f"gather{i}", "hex": hexof(g)})
    dist.barrier()
    emit({"key": "barrier", "value": "ok"})

    sizes = [12, 5, 8, 7, 300_000]
    grads = [inp(rank, 20 + j, n) for j, n in enumerate(sizes)]
    bs = buckets(grads, 64)
    flats = [torch.cat([grads[i].reshape(-1) for i in b]) for b in bs]
    works = [dist.all_reduce(f, async_op=True) for f in flats]
    for w in works:
        w.wait()
    for b, f in zip(bs, flats):
        f.div_(world)
        off = 0
        for i in b:
            grads[i].copy_(f[off:off + grads[i].numel()].view_as(grads[i]))
            off += grads[i].numel()
    emit({"key": "nbuckets", "value": len(bs)})
    for j, g in enumerate(grads):
        emit({"key": f"bucket{j}", "hex": hexof(g)} if j < 4 else
             {"key": f"bucket{j}", "sha256": sha(g)})
    for j, n in enumerate(sizes):
        x = inp(rank, 20 + j, n)
        all_reduce(x, "avg")
        emit({"key": f"plain{j}", "hex": hexof(x)} if j < 4 else
             {"key": f"plain{j}", "sha256": sha(x)})
elif scenario == "torchrun":
    x = inp(dist.get_rank(), 0)
    dist.all_reduce(x)
    emit({"key": "sum", "hex": hexof(x)})
    emit({"key": "env", "value": os.environ.get("TORCHELASTIC_USE_AGENT_STORE")})
elif scenario == "fault":
    x = inp(rank, 0)
    dist.all_reduce(x)
    emit({"key": "ready", "value": True})
    sys.stdin.readline()
    t = time.time()
    try:
        dist.all_reduce(inp(rank, 1))
        emit({"key": "fault", "value": {"ok": True}})
    except Exception as e:  # noqa: BLE001
        emit({"key": "fault", "value": {"ok": False, "name": type(e).__name__,
                                         "message": str(e), "ms": (time.time() - t) * 1000}})
else:
    raise SystemExit(f"unknown scenario {scenario}")
dist.destroy_process_group()
emit({"key": "elapsed_ms", "value": (time.time() - t0) * 1000})
emit({"done": True})
