"""The default training recipe in plain PyTorch, for the accuracy comparison in
docs/TRAINING.md: the same encoder (ConvNet twin), heads, AdamW with the
same decay groups, warm-up + cosine lr, cosine tau, the torchvision twin of the
augmentation preset in a DataLoader with 2 workers, then kNN (cosine, T=0.1,
k=20 and 200) and the same linear-probe protocol as src/eval/linear_probe.ts,
for the trained encoder and the random-init one.
    python3 bench/py/train_reference.py '<json: {"config": TrainConfig, "views": AugmentConfig}>'
Prints one JSON object."""
import copy
import gzip
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from common import ConvNet, TwoViewSet, decay_groups, mlp

args = json.loads(sys.argv[1])
cfg, views = args["config"], args["views"]
torch.set_num_threads(int(cfg.get("threads") or os.cpu_count() or 2))
torch.manual_seed(cfg["seed"])
root = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")


def idx(name):
    raw = gzip.open(os.path.join(root, name + ".gz")).read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


train_x, train_y = idx("train-images-idx3-ubyte"), idx("train-labels-idx1-ubyte")
test_x, test_y = idx("t10k-images-idx3-ubyte"), idx("t10k-labels-idx1-ubyte")
if cfg["limit"]:
    train_x, train_y = train_x[:cfg["limit"]], train_y[:cfg["limit"]]

enc = ConvNet(1, cfg["width"])
random_enc = copy.deepcopy(enc)  # the floor: the same initial weights, never trained
proj = mlp(enc.out_dim, cfg["projectionDim"], cfg["hiddenDim"])
pred = mlp(cfg["projectionDim"], cfg["projectionDim"], cfg["hiddenDim"])
t_enc, t_proj = copy.deepcopy(enc), copy.deepcopy(proj)
for p in list(t_enc.parameters()) + list(t_proj.parameters()):
    p.requires_grad_(False)
named = [("encoder." + n, p) for n, p in enc.named_parameters()] + \
    [("projector." + n, p) for n, p in proj.named_parameters()] + \
    [("predictor." + n, p) for n, p in pred.named_parameters()]
dec, exc = decay_groups(named)
opt = torch.optim.AdamW([{"params": dec}, {"params": exc, "weight_decay": 0.0}], lr=cfg["lr"],
                        weight_decay=cfg["weightDecay"])

ds = TwoViewSet(train_x[:, :, :, None], views)
g = torch.Generator().manual_seed(cfg["seed"])
loader = torch.utils.data.DataLoader(ds, batch_size=cfg["batchSize"], shuffle=True, drop_last=True,
                                     num_workers=2, persistent_workers=True, generator=g)
steps_per_epoch = len(loader)
total = steps_per_epoch * cfg["epochs"]
warm = round(cfg["warmupEpochs"] * steps_per_epoch)


def lr_at(k):
    if k < warm:
        return cfg["lr"] * k / warm
    return cfg["lr"] * (1 + math.cos(math.pi * (k - warm) / max(1, total - warm))) / 2


def loss_fn(x, y):
    return 2 - 2 * (F.normalize(x, dim=-1) * F.normalize(y, dim=-1)).sum(dim=-1)


t0 = time.time()
k = 0
losses = []
for epoch in range(cfg["epochs"]):
    for v1, v2 in loader:
        for group in opt.param_groups:
            group["lr"] = lr_at(k)
        x = torch.cat([v1, v2])
        p1, p2 = pred(proj(enc(x))).chunk(2)
        with torch.no_grad():
            z1, z2 = t_proj(t_enc(x)).chunk(2)
        loss = (loss_fn(p1, z2) + loss_fn(p2, z1)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        tau = 1 - (1 - cfg["tauBase"]) * (math.cos(math.pi * k / total) + 1) / 2
        with torch.no_grad():
            for ma, cur in zip(list(t_enc.parameters()) + list(t_proj.parameters()),
                               list(enc.parameters()) + list(proj.parameters())):
                ma.mul_(tau).add_(cur, alpha=1 - tau)
            for tb, ob in zip(list(t_enc.buffers()) + list(t_proj.buffers()),
                              list(enc.buffers()) + list(proj.buffers())):
                tb.copy_(ob)
        if k % 50 == 0:
            losses.append((k, loss.item()))
            print(f"step {k}/{total} loss {loss.item():.4f} {time.time() - t0:.0f}s", file=sys.stderr)
        k += 1
train_seconds = time.time() - t0
mean, std = views["view1"]["mean"][0], views["view1"]["std"][0]


@torch.no_grad()
def features(model, x):
    model.eval()
    out = []
    for i in range(0, len(x), 512):
        b = torch.from_numpy(np.array(x[i:i + 512])).float().div(255).sub(mean).div(std)[:, None]
        out.append(model(b))
    return torch.cat(out)


@torch.no_grad()
def knn(bank, bank_y, q, q_y, ks=(20, 200), t=0.1, c=10):
    bank, q = F.normalize(bank, dim=1), F.normalize(q, dim=1)
    hits = {kk: 0 for kk in ks}
    for i in range(0, len(q), 256):
        sim = q[i:i + 256] @ bank.T
        top, ind = sim.topk(max(ks), dim=1)
        lab = bank_y[ind]
        w = ((top - top[:, :1]) / t).exp()
        for kk in ks:
            scores = torch.zeros(len(top), c).scatter_add_(1, lab[:, :kk], w[:, :kk])
            hits[kk] += (scores.argmax(1) == q_y[i:i + 256]).sum().item()
    return {kk: 100.0 * v / len(q) for kk, v in hits.items()}


def probe(ftr, ytr, fte, yte, epochs=30, bs=1024, lr=3e-3, wd=5e-4, c=10):
    m, s = ftr.mean(0), ftr.std(0, unbiased=False).clamp_min(1e-6)
    ftr, fte = (ftr - m) / s, (fte - m) / s
    lin = torch.nn.Linear(ftr.shape[1], c)
    torch.nn.init.zeros_(lin.weight)
    torch.nn.init.zeros_(lin.bias)
    o = torch.optim.AdamW([{"params": [lin.weight]}, {"params": [lin.bias], "weight_decay": 0.0}],
                          lr=lr, weight_decay=wd)
    n = len(ftr)
    steps = epochs * math.ceil(n / bs)
    j = 0
    for _ in range(epochs):
        perm = torch.randperm(n)
        for i in range(0, n, bs):
            for gr in o.param_groups:
                gr["lr"] = lr * (1 + math.cos(math.pi * j / steps)) / 2
            b = perm[i:i + bs]
            loss = F.cross_entropy(lin(ftr[b]), ytr[b])
            o.zero_grad()
            loss.backward()
            o.step()
            j += 1
    with torch.no_grad():
        top5 = lin(fte).topk(5, dim=1).indices
        return (100.0 * (top5[:, 0] == yte).float().mean().item(),
                100.0 * (top5 == yte[:, None]).any(1).float().mean().item())


ytr, yte = torch.from_numpy(train_y.astype(np.int64)), torch.from_numpy(test_y.astype(np.int64))
result = {"trainSeconds": train_seconds, "steps": total, "losses": losses}
for name, model in (("trained", enc), ("randomInit", random_enc)):
    ftr, fte = features(model, train_x), features(model, test_x)
    kn = knn(ftr, ytr, fte, yte)
    p1, p5 = probe(ftr, ytr, fte, yte)
    result[name] = {"knn20": kn[20], "knn200": kn[200], "probeTop1": p1, "probeTop5": p5}
print(json.dumps(result))
