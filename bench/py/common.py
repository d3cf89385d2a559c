"""Shared helpers of the PyTorch side of `deno task bench`.

Every script reads one JSON object of parameters from argv[1] and prints one
JSON object on stdout. The thread count is set explicitly (torch.set_num_threads)
to the same value as our side.
"""

import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "py"))


def params():
    p = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    torch.set_num_threads(int(p.get("threads", 2)))
    return p


def emit(result):
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "result": result,
        "peakRssMiB": usage.ru_maxrss / 1024,
        # Largest child (DataLoader workers), when there were any.
        "childPeakRssMiB": children.ru_maxrss / 1024,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }))


def time_reps(fn, p):
    """Warm-up, then up to `reps` timed runs (at least 2, then within budgetMs); ms."""
    for i in range(int(p["warmup"])):
        fn(i)
    times = []
    start = time.perf_counter()
    for i in range(int(p["reps"])):
        t0 = time.perf_counter()
        fn(int(p["warmup"]) + i)
        times.append((time.perf_counter() - t0) * 1e3)
        if len(times) >= 2 and (time.perf_counter() - start) * 1e3 > p["budgetMs"]:
            break
    return {"ms": statistics.median(times), "all": times}


# ---- models: twins of src/nn ----

def resnet18_cifar(in_channels=3):
    """torchvision's resnet18 with the CIFAR stem: 3x3 stride-1 conv1, no max-pool, no fc."""
    m = torchvision.models.resnet18()
    m.conv1 = nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)
    m.maxpool = nn.Identity()
    m.fc = nn.Identity()
    m.out_dim = 512
    return m


class ConvBlock(nn.Module):
    def __init__(self, in_c, out_c, pool):
        super().__init__()
        self.conv = nn.Conv2d(in_c, out_c, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(out_c)
        self.pool = pool

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        return nn.functional.max_pool2d(x, 2) if self.pool else x


class ConvNet(nn.Module):
    """Twin of src/nn/convnet.ts: 4 conv3x3-BN-ReLU blocks, max-pool after 1-3, global avg pool."""

    def __init__(self, in_channels=1, width=32):
        super().__init__()
        ws = [width, 2 * width, 4 * width, 8 * width]
        self.blocks = nn.ModuleList(
            ConvBlock(in_channels if i == 0 else ws[i - 1], c, i < 3) for i, c in enumerate(ws))
        for b in self.blocks:
            nn.init.kaiming_normal_(b.conv.weight, mode="fan_out", nonlinearity="relu")
        self.out_dim = ws[3]

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)


def mlp(in_dim, out_dim, hidden):
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
                         nn.Linear(hidden, out_dim))


def encoder_for(r):
    if r["encoder"] == "convnet":
        return ConvNet(r["channels"], r["width"])
    if r["encoder"] == "resnet18" and r["stem"] == "cifar":
        return resnet18_cifar(r["channels"])
    raise ValueError(f"no twin for {r['encoder']} / {r['stem']}")


# ---- optimizers ----

def decay_groups(named, extra=None):
    """[decayed, excluded]: biases and norms (ndim <= 1 or *.bias) get no decay."""
    dec, exc = [], []
    for n, p in named:
        (exc if p.ndim <= 1 or n.endswith(".bias") else dec).append(p)
    return dec, exc


class LARS(torch.optim.Optimizer):
    """LARS as BYOL uses it, written as a PyTorch user would (no LARS in torch.optim):
    u = g + wd p scaled by eta ||p|| / ||u||, heavy-ball momentum; groups with
    lars=False get neither decay nor adaptation."""

    def __init__(self, groups, lr, weight_decay, momentum=0.9, eta=1e-3):
        super().__init__(groups, dict(lr=lr, weight_decay=weight_decay, momentum=momentum,
                                      eta=eta, lars=True))

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                u = p.grad
                if g["lars"]:
                    u = u.add(p, alpha=g["weight_decay"])
                    pn, un = p.norm(), u.norm()
                    one = torch.ones_like(pn)
                    u = u.mul(torch.where(pn > 0, torch.where(un > 0, pn * g["eta"] / un, one), one))
                st = self.state[p]
                if "momentum_buffer" not in st:
                    st["momentum_buffer"] = torch.zeros_like(p)
                b = st["momentum_buffer"]
                b.mul_(g["momentum"]).add_(u)
                p.add_(b, alpha=-g["lr"])


def make_optimizer(r, named):
    dec, exc = decay_groups(named)
    if r["optimizer"] == "lars":
        return LARS([{"params": dec}, {"params": exc, "weight_decay": 0.0, "lars": False}],
                    lr=r["lr"], weight_decay=r["weightDecay"])
    if r["optimizer"] == "adamw":
        return torch.optim.AdamW([{"params": dec}, {"params": exc, "weight_decay": 0.0}],
                                 lr=r["lr"], weight_decay=r["weightDecay"])
    if r["optimizer"] == "sgd":
        return torch.optim.SGD([{"params": dec}, {"params": exc, "weight_decay": 0.0}],
                               lr=r["lr"], weight_decay=r["weightDecay"], momentum=0.9)
    raise ValueError(r["optimizer"])


# ---- EMA: the notebook's per-parameter loop ----

@torch.no_grad()
def ema_update(target, online, tau):
    """ma.data = old * beta + (1 - beta) * new per parameter (the notebook's
    update_moving_average), then the BN buffers copied as ours does."""
    for ma, cur in zip(target.parameters(), online.parameters()):
        ma.data = ma.data * tau + (1 - tau) * cur.data
    for tb, ob in zip(target.buffers(), online.buffers()):
        tb.copy_(ob)


# ---- augmentation: torchvision per-image transforms from our ViewConfig ----

def view_transform(v):
    import torchvision.transforms as T
    size = v["size"] if isinstance(v["size"], int) else tuple(v["size"])
    ts = [T.RandomResizedCrop(size, scale=tuple(v["scale"]), ratio=tuple(v["ratio"]))]
    if v["flipP"] > 0:
        ts.append(T.RandomHorizontalFlip(v["flipP"]))
    if v["jitterP"] > 0:
        ts.append(T.RandomApply([T.ColorJitter(v["brightness"], v["contrast"], v["saturation"],
                                               v["hue"])], p=v["jitterP"]))
    if v["grayscaleP"] > 0 and len(v["mean"]) == 3:
        ts.append(T.RandomGrayscale(v["grayscaleP"]))
    if v["blurP"] > 0:
        ts.append(T.RandomApply([T.GaussianBlur(v["blurKernel"], tuple(v["blurSigma"]))],
                                p=v["blurP"]))
    if v["solarizeP"] > 0:
        ts.append(T.RandomSolarize(round(v["solarizeThreshold"] * 255), p=v["solarizeP"]))
    ts += [T.ToTensor(), T.Normalize(v["mean"], v["std"])]
    return T.Compose(ts)


class TwoViewSet(torch.utils.data.Dataset):
    """uint8 HWC arrays -> PIL -> (view1, view2), the common torchvision recipe."""

    def __init__(self, images, cfg):
        self.images = images  # numpy uint8 (N, H, W, C)
        self.t1 = view_transform(cfg["view1"])
        self.t2 = view_transform(cfg["view2"])

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        from PIL import Image
        a = self.images[i]
        img = Image.fromarray(a[:, :, 0], "L") if a.shape[2] == 1 else Image.fromarray(a, "RGB")
        return self.t1(img), self.t2(img)


def synthetic_images(n, c, h, w, seed=0):
    import numpy as np
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, c), dtype=np.uint8)


def two_view_loader(images, cfg, batch, batches, workers=2):
    """A DataLoader of `batches` batches drawn with replacement from `images`."""
    ds = TwoViewSet(images, cfg)
    sampler = torch.utils.data.RandomSampler(ds, replacement=True, num_samples=batch * batches)
    return torch.utils.data.DataLoader(ds, batch_size=batch, sampler=sampler, num_workers=workers,
                                       drop_last=True, persistent_workers=workers > 0)
