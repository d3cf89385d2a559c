"""Pillow's side of the decode benchmark (bench/suites/decode.ts): images per
second on one core that Image.open(...).convert("RGB").resize((w, h), BILINEAR)
turns from the JPEG bytes in memory into pixels (tobytes), over the files
bench/cases/decode.ts wrote. Pillow only (no torch import): run by the
suite with /usr/bin/python3 (Debian's Pillow on the system libjpeg-turbo).
"""

import io
import json
import os
import statistics
import sys
import time

from PIL import Image, features

p = json.loads(sys.argv[1])
rows = []
for c in p["configs"]:
    sub = os.path.join(p["dir"], c["set"])
    files = []
    for name in sorted(os.listdir(sub)):
        with open(os.path.join(sub, name), "rb") as f:
            files.append(f.read())
    size = (c["out"], c["out"])

    def one_pass():
        for b in files:
            Image.open(io.BytesIO(b)).convert("RGB").resize(size, Image.BILINEAR).tobytes()

    for _ in range(int(p["warmup"])):
        one_pass()
    times = []
    start = time.perf_counter()
    for _ in range(int(p["reps"])):
        t0 = time.perf_counter()
        one_pass()
        times.append(time.perf_counter() - t0)
        if len(times) >= 2 and (time.perf_counter() - start) * 1e3 > p["budgetMs"]:
            break
    s = statistics.median(times)
    rows.append({"set": c["set"], "out": c["out"], "ips": len(files) / s, "ms": s * 1e3})
import PIL

print(json.dumps({
    "result": {
        "rows": rows,
        "pillow": PIL.__version__,
        "libjpeg": features.version("libjpeg_turbo") or features.version("jpg"),
    },
    "peakRssMiB": 0,
}))
