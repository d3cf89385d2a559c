#!/usr/bin/env bash
# GPU checks, on a machine with PyTorch 2.x with CUDA (in $PYTHON, default
# python3: e.g. PYTHON=~/venv/bin/python) and `deno` on PATH: builds the shim
# against that PyTorch's libtorch into build/pytorch/ (BYOL_BUILD_DIR, as CI's
# second line; build/ keeps Debian's), runs the CUDA tests against that same
# PyTorch (build-info's referencePython), then the CUDA BYOL step side by side
# with PyTorch eager on the same GPU. Results go to $OUT (default gpu-results/).
#   scripts/gpu_check.sh [batch] [steps]
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-results}
mkdir -p "$out"
export PYTHON=${PYTHON:-python3}
export LIBTORCH_USE_PYTORCH=1 BYOL_SKIP_SETUP=1 BYOL_BUILD_DIR=${BYOL_BUILD_DIR:-build/pytorch}
batch=${1:-512}
steps=${2:-30}
{
  "$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none visible")'
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
  date -u +%Y-%m-%dT%H:%M:%SZ
} | tee "$out/device.txt"
deno run -A scripts/build_native.ts 2>&1 | tee "$out/build.log"
[ "${PIPESTATUS[0]}" = "0" ] || exit 1
deno test -A --v8-flags=--expose-gc tests/cuda/ tests/ffi/ 2>&1 | tee "$out/tests.log"
if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  echo "no GPU visible to $PYTHON's torch: stopping before the GPU benchmarks" | tee "$out/summary.md"
  exit 1
fi
deno run -A bench/cuda_step.ts "$batch" "$steps" 2>&1 | tee "$out/ours.json"
(cd bench/py && "$PYTHON" cuda_step.py "$batch" "$steps") 2>&1 | tee "$out/pytorch.json"
"$PYTHON" - "$out" <<'PY'
import json, sys
out = sys.argv[1]
def last_json(path):
    for line in reversed(open(path).read().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
ours, theirs = last_json(f"{out}/ours.json"), last_json(f"{out}/pytorch.json")
rows = [("model-only", "modelOnlyPairsPerSec"), ("end-to-end", "endToEndPairsPerSec")]
with open(f"{out}/summary.md", "w") as f:
    f.write(f"| BYOL ResNet-18 b{ours['batch']} bf16 | ours pairs/s | PyTorch pairs/s | speed-up |\n|---|---|---|---|\n")
    for name, k in rows:
        f.write(f"| {name} | {ours[k]:.0f} | {theirs[k]:.0f} | {ours[k] / theirs[k]:.2f}x |\n")
    f.write(f"\nmodel TFLOP/s (ours): {ours['modelOnlyTFLOPs']:.1f}; device: {theirs['device']}, torch {theirs['torch']}\n")
print(open(f"{out}/summary.md").read())
PY
