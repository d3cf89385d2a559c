"""Two views of a batch with torchvision per-image PIL transforms in a DataLoader
(2 workers, persistent) over a synthetic uint8 dataset; ms per batch of two views.
One repetition is `workers` batches (the workers run side by side)."""
import statistics
import time

from common import emit, params, synthetic_images, two_view_loader

p = params()
batch, workers = int(p["batch"]), int(p.get("workers", 2))
c, h, w = p["shape"]
images = synthetic_images(batch, c, h, w)
warm, reps = int(p["warmup"]), int(p["reps"])
loader = two_view_loader(images, p["config"], batch, (warm + reps + 1) * workers, workers)
it = iter(loader)
for _ in range(warm * workers):
    next(it)
times = []
for _ in range(reps):
    t0 = time.perf_counter()
    for _ in range(workers):
        next(it)
    times.append((time.perf_counter() - t0) * 1e3 / workers)
del it, loader  # shut the workers down, so RUSAGE_CHILDREN sees them
emit({"ms": statistics.median(times), "all": times, "workers": workers})
