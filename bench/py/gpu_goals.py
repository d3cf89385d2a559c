"""PyTorch's side of the GPU goal table (scripts/gpu_check.sh; ours: bench/gpu_goals.ts):
the BYOL step of each recipe ours printed (model only: pre-made views, forward, backward,
optimizer, EMA), bf16 autocast, channels-last, cudnn.benchmark, as a careful user writes it
today: fused AdamW (or the hand-written LARS of common.py), the EMA with torch._foreach ops and
a device tau; eager, torch.compile and torch.compile(mode="reduce-overhead") (CUDA graphs).
Prints one JSON line per measurement as it goes (a timeout keeps what was done).
    python3 bench/py/gpu_goals.py OURS_JSON_FILE [steps] [modes]
modes: comma-separated of eager,compile,reduce-overhead (default all three);
runs on the CPU too (no CUDA graphs there), which checks the script without a GPU."""
import copy
import json
import sys
import time

import torch
import torch.nn.functional as F

from common import LARS, decay_groups, encoder_for, mlp


def last_json(path):
    for line in reversed(open(path).read().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise SystemExit(f"no JSON line in {path}")


ours = last_json(sys.argv[1])
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 50
modes = (sys.argv[3] if len(sys.argv) > 3 else "eager,compile,reduce-overhead").split(",")
dev = "cuda" if torch.cuda.is_available() else "cpu"
torch.backends.cudnn.benchmark = True


def loss_fn(x, y):
    return 2 - 2 * (F.normalize(x, dim=-1) * F.normalize(y, dim=-1)).sum(dim=-1)


def build(r):
    torch.manual_seed(0)
    enc = encoder_for(r).to(dev).to(memory_format=torch.channels_last)
    proj = mlp(enc.out_dim, r["projectionDim"], r["hiddenDim"]).to(dev)
    pred = mlp(r["projectionDim"], r["projectionDim"], r["hiddenDim"]).to(dev)
    t_enc, t_proj = copy.deepcopy(enc), copy.deepcopy(proj)
    for p in list(t_enc.parameters()) + list(t_proj.parameters()):
        p.requires_grad_(False)
    named = [("e." + n, p) for n, p in enc.named_parameters()] + \
        [("p." + n, p) for n, p in proj.named_parameters()] + \
        [("q." + n, p) for n, p in pred.named_parameters()]
    dec, exc = decay_groups(named)
    if r["optimizer"] == "adamw":
        opt = torch.optim.AdamW([{"params": dec}, {"params": exc, "weight_decay": 0.0}],
                                lr=r["lr"], weight_decay=r["weightDecay"], fused=dev == "cuda")
    elif r["optimizer"] == "lars":
        opt = LARS([{"params": dec}, {"params": exc, "weight_decay": 0.0, "lars": False}],
                   lr=r["lr"], weight_decay=r["weightDecay"])
    else:
        opt = torch.optim.SGD([{"params": dec}, {"params": exc, "weight_decay": 0.0}],
                              lr=r["lr"], weight_decay=r["weightDecay"], momentum=0.9)
    online = list(enc.parameters()) + list(proj.parameters())
    target = list(t_enc.parameters()) + list(t_proj.parameters())
    bufs = (list(t_enc.buffers()) + list(t_proj.buffers()), list(enc.buffers()) + list(proj.buffers()))

    def forward(v1, v2):
        x = torch.cat([v1, v2]).contiguous(memory_format=torch.channels_last)
        with torch.autocast(dev, dtype=torch.bfloat16):
            p1, p2 = pred(proj(enc(x))).float().chunk(2)
            with torch.no_grad():
                z1, z2 = t_proj(t_enc(x)).float().chunk(2)
        return (loss_fn(p1, z2) + loss_fn(p2, z1)).mean()

    @torch.no_grad()
    def ema(tau):
        torch._foreach_mul_(target, tau)
        torch._foreach_add_(target, torch._foreach_mul(online, 1 - tau))
        for tb, ob in zip(*bufs):
            tb.copy_(ob)

    def step(v1, v2, tau):
        loss = forward(v1, v2)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        ema(tau)
        return loss.detach()

    return step


def measure(name, r, mode):
    step = build(r)
    if mode != "eager":
        step = torch.compile(step, mode=None if mode == "compile" else "reduce-overhead")
    c, s, b = r["channels"], r["imageSize"], r["batch"]
    v1 = torch.randn(b, c, s, s, device=dev).contiguous(memory_format=torch.channels_last)
    v2 = torch.randn(b, c, s, s, device=dev).contiguous(memory_format=torch.channels_last)
    tau = torch.tensor(r["tauBase"], device=dev)
    t_compile = time.perf_counter()
    for _ in range(5):  # compilation and CUDA-graph recording happen here
        step(v1, v2, tau)
    if dev == "cuda":
        torch.cuda.synchronize()
    warm_s = time.perf_counter() - t_compile
    t0 = time.perf_counter()
    for _ in range(steps):
        step(v1, v2, tau)
    if dev == "cuda":
        torch.cuda.synchronize()
    ms = (time.perf_counter() - t0) * 1000 / steps
    print(json.dumps({"side": "pytorch", "recipe": name, "mode": mode, "msPerStep": ms,
                      "warmupS": warm_s, "batch": b, "device": torch.cuda.get_device_name(0)
                      if dev == "cuda" else "cpu", "torch": torch.__version__}), flush=True)


for name, res in ours["results"].items():
    for mode in modes:
        try:
            measure(name, res["recipe"], mode)
        except Exception as e:  # a mode that fails is reported, the others still run
            print(json.dumps({"side": "pytorch", "recipe": name, "mode": mode,
                              "error": str(e).splitlines()[0] if str(e) else repr(e)}), flush=True)
