"""PyTorch eager twin of bench/cuda_step.ts: ResNet-18 (CIFAR stem) BYOL step at
batch 512, bf16 autocast, channels-last, cudnn benchmark, hand-written LARS,
the notebook's per-parameter EMA; model-only and end-to-end with torchvision's
per-image transforms in a DataLoader (8 workers). Prints JSON.
    python3 bench/py/cuda_step.py [batch] [steps]"""
import copy
import json
import sys
import time

import torch
import torch.nn.functional as F

from common import LARS, decay_groups, mlp, resnet18_cifar

batch = int(sys.argv[1]) if len(sys.argv) > 1 else 512
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 30
torch.manual_seed(0)
torch.backends.cudnn.benchmark = True
dev = "cuda"
enc = resnet18_cifar().to(dev).to(memory_format=torch.channels_last)
proj, pred = mlp(512, 256, 4096).to(dev), mlp(256, 256, 4096).to(dev)
t_enc, t_proj = copy.deepcopy(enc), copy.deepcopy(proj)
for p in list(t_enc.parameters()) + list(t_proj.parameters()):
    p.requires_grad_(False)
named = [("e." + n, p) for n, p in enc.named_parameters()] + \
    [("p." + n, p) for n, p in proj.named_parameters()] + [("q." + n, p) for n, p in pred.named_parameters()]
dec, exc = decay_groups(named)
opt = LARS([{"params": dec}, {"params": exc, "weight_decay": 0.0, "lars": False}], lr=1.0, weight_decay=1e-5)


def loss_fn(x, y):
    return 2 - 2 * (F.normalize(x, dim=-1) * F.normalize(y, dim=-1)).sum(dim=-1)


def step(v1, v2, k):
    x = torch.cat([v1, v2]).contiguous(memory_format=torch.channels_last)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        p1, p2 = pred(proj(enc(x))).chunk(2)
        with torch.no_grad():
            z1, z2 = t_proj(t_enc(x)).chunk(2)
        loss = (loss_fn(p1, z2) + loss_fn(p2, z1)).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    tau = 1 - (1 - 0.996) * (torch.cos(torch.tensor(3.14159265 * k / 10000)).item() + 1) / 2
    with torch.no_grad():
        for ma, cur in zip(list(t_enc.parameters()) + list(t_proj.parameters()),
                           list(enc.parameters()) + list(proj.parameters())):
            ma.data = ma.data * tau + (1 - tau) * cur.data
        for tb, ob in zip(list(t_enc.buffers()) + list(t_proj.buffers()),
                          list(enc.buffers()) + list(proj.buffers())):
            tb.copy_(ob)


def measure(get_views):
    for k in range(5):
        step(*get_views(), k)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for k in range(steps):
        step(*get_views(), k)
    torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - t0)


v1 = torch.randn(batch, 3, 32, 32, device=dev)
v2 = torch.randn(batch, 3, 32, 32, device=dev)
model_only = measure(lambda: (v1, v2))

import torchvision.transforms as T  # noqa: E402
from PIL import Image  # noqa: E402

norm = T.Normalize((0.4914, 0.4822, 0.4465), (0.247, 0.2435, 0.2616))
base = [T.RandomResizedCrop(32, scale=(0.08, 1.0)), T.RandomHorizontalFlip(),
        T.RandomApply([T.ColorJitter(0.4, 0.4, 0.2, 0.1)], p=0.8), T.RandomGrayscale(0.2)]
t1 = T.Compose(base + [T.ToTensor(), norm])
t2 = T.Compose(base + [T.RandomSolarize(0.5, p=0.2), T.ToTensor(), norm])
imgs = torch.randint(0, 256, (8192, 32, 32, 3), dtype=torch.uint8).numpy()


class Pairs(torch.utils.data.Dataset):
    def __len__(self):
        return len(imgs)

    def __getitem__(self, i):
        im = Image.fromarray(imgs[i])
        return t1(im), t2(im)


pairs = torch.utils.data.DataLoader(Pairs(), batch_size=batch, shuffle=True, num_workers=8,
                                    drop_last=True, persistent_workers=True, pin_memory=True)
batches = iter(pairs)


def next_views():
    global batches
    try:
        a, b = next(batches)
    except StopIteration:
        batches = iter(pairs)
        a, b = next(batches)
    return a.to(dev, non_blocking=True), b.to(dev, non_blocking=True)


end_to_end = measure(next_views)
print(json.dumps({"side": "pytorch", "torch": torch.__version__, "device": torch.cuda.get_device_name(0),
                  "batch": batch, "steps": steps, "modelOnlyPairsPerSec": model_only,
                  "endToEndPairsPerSec": end_to_end,
                  "modelOnlyTFLOPs": model_only * 2 * 4 * 0.56e9 / 1e12}))
