"""torchvision ResNet-18 with the CIFAR stem, forward + backward on a random batch, images/s."""
from common import emit, params, resnet18_cifar, time_reps
import torch

p = params()
batch = int(p["batch"])
torch.manual_seed(0)
model = resnet18_cifar(3).train()
x = torch.randn(batch, 3, 32, 32)
t = time_reps(lambda _: model(x).sum().backward(), p)
emit({"imagesPerSec": batch / (t["ms"] / 1e3), "ms": t["ms"], "all": t["all"]})
