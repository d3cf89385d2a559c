"""Peak float32 matmul rate: (512 x 4096) @ (4096 x 512), GFLOP/s."""
from common import emit, params, time_reps
import torch

p = params()
m, n, k = 512, 512, 4096
a, b = torch.randn(m, k), torch.randn(k, n)
iters = 5


def run(_):
    for _ in range(iters):
        a @ b


t = time_reps(run, dict(p, warmup=1, reps=p["reps"] + 2))
ms = t["ms"] / iters
emit({"gflops": 2 * m * n * k / (ms / 1e3) / 1e9, "ms": ms})
