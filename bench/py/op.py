"""One small eager op: a + b on 1-element tensors, the result dropped (refcount frees it)."""
from common import emit, params, time_reps
import torch

p = params()
n = int(p["n"])
a, b = torch.tensor([1.0]), torch.tensor([2.0])


def run(_):
    for _ in range(n):
        a + b


t = time_reps(run, p)
emit({"nsPerOp": t["ms"] * 1e6 / n, "n": n})
