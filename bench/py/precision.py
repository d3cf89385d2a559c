# PyTorch twin of bench/precision.ts: the default preset's model step, fp32 vs torch.autocast("cpu", bfloat16).
# Usage: python3 bench/py/precision.py [batch]
import sys, time, copy, torch, torch.nn as nn, torch.nn.functional as F
sys.path.insert(0, __import__("os").path.dirname(__file__))
from common import ConvNet, mlp
torch.set_num_threads(2)
B = int(sys.argv[1]) if len(sys.argv) > 1 else 256
enc = ConvNet(1, 32)
dim = 256
proj, pred = mlp(dim, 128, 1024), mlp(128, 128, 1024)
online = nn.Sequential(enc, proj).to(memory_format=torch.channels_last)
target = copy.deepcopy(online)
opt = torch.optim.AdamW(list(online.parameters()) + list(pred.parameters()), lr=1e-3)
x = torch.randn(2 * B, 1, 28, 28).contiguous(memory_format=torch.channels_last)
def lf(a, b): return 2 - 2 * (F.normalize(a, dim=-1) * F.normalize(b, dim=-1)).sum(-1)
def step(bf16):
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        p1, p2 = pred(online(x)).float().chunk(2)
        with torch.no_grad(): z1, z2 = target(x).float().chunk(2)
        loss = (lf(p1, z2) + lf(p2, z1)).mean()
    opt.zero_grad(); loss.backward(); opt.step()
    with torch.no_grad():
        for t, o in zip(target.parameters(), online.parameters()): t.lerp_(o, 0.01)
    loss.item()
for b in (False, True): step(b); step(b)
a, c = [], []
for i in range(6):
    t = time.perf_counter(); step(False); a.append((time.perf_counter() - t) * 1e3)
    t = time.perf_counter(); step(True); c.append((time.perf_counter() - t) * 1e3)
a.sort(); c.sort()
print({"batch": B, "fp32": a[3], "bf16": c[3], "ratio": a[3] / c[3]})
