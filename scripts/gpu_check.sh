#!/usr/bin/env bash
# Everything a GPU machine should check, in one run of under 8 minutes: builds
# the shim against that machine's PyTorch (2.x with CUDA, in $PYTHON, default
# python3) into build/pytorch/ (BYOL_BUILD_DIR; build/ keeps Debian's), runs
# the whole test suite there (the CUDA and NCCL world-1 tests included; the
# reference is the same PyTorch), then the CUDA BYOL step side by side with
# PyTorch eager on the same GPU. Works offline. Results go to $OUT (default
# gpu-results/): device.txt, build.log, tests.log, ours.json, pytorch.json and
# summary.md (the suite's counts, its failures by name, the bench table).
#   scripts/gpu_check.sh [batch] [steps]
#
# On the project's lent GPU machine (no network, no Deno): pack the kit here
# first, with the npm metadata a script outside the repo needs offline:
#   DENO_DIR=$HOME/dk/deno-dir deno task offline && ../shared/tools/device-kit.sh
# then start the command there with the line device-kit.sh prints, followed by
#   bash scripts/gpu_check.sh
# (carry .device-kit; OUT is set there). GPU_CHECK_TESTS narrows the suite
# (default tests/), GPU_CHECK_SUITE_S bounds it (default 330 s).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-results}
mkdir -p "$out"
export PYTHON=${PYTHON:-python3}
export LIBTORCH_USE_PYTORCH=1 BYOL_SKIP_SETUP=1 BYOL_BUILD_DIR=${BYOL_BUILD_DIR:-build/pytorch}
export DENO_NO_UPDATE_CHECK=1
batch=${1:-512}
steps=${2:-30}
tests=${GPU_CHECK_TESTS:-tests/}
suite_s=${GPU_CHECK_SUITE_S:-330}
t0=$SECONDS
{
  "$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none visible")'
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
  echo "cpus $(nproc), $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
  date -u +%Y-%m-%dT%H:%M:%SZ
} | tee "$out/device.txt"
deno run -A scripts/build_native.ts 2>&1 | tee "$out/build.log"
[ "${PIPESTATUS[0]}" = "0" ] || { echo "build failed" | tee "$out/summary.md"; exit 1; }
echo "built in $((SECONDS - t0)) s"

# The whole suite, as CI runs it, in parallel over the machine's cores.
t1=$SECONDS
timeout -k 10 "$suite_s" deno test -A --v8-flags=--expose-gc --parallel "$tests" >"$out/tests.log" 2>&1
suite_rc=$?
suite_time=$((SECONDS - t1))
# deno test's last "ok | N passed | N failed ..." line (colours stripped).
result=$(sed 's/\x1b\[[0-9;]*m//g' "$out/tests.log" | grep -E '^(ok|FAILED) \| ' | tail -1)
failures=$(sed 's/\x1b\[[0-9;]*m//g' "$out/tests.log" | grep -E ' \.\.\. FAILED' | sed 's/ \.\.\. FAILED.*//' | sort -u)
{
  echo "## Test suite ($tests, --parallel, $(nproc) cores): rc $suite_rc in ${suite_time} s"
  echo
  echo "${result:-no summary line (timed out after ${suite_s} s?)}"
  if [ -n "$failures" ]; then
    echo
    echo "Failed:"
    echo "$failures" | sed 's/^/- /'
  fi
  echo
} >"$out/summary.md"
cat "$out/summary.md"

if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  echo "no GPU visible to $PYTHON's torch: stopping before the GPU benchmarks" | tee -a "$out/summary.md"
  exit "$suite_rc"
fi
timeout 120 deno run -A bench/cuda_step.ts "$batch" "$steps" 2>&1 | tee "$out/ours.json"
(cd bench/py && timeout 120 "$PYTHON" cuda_step.py "$batch" "$steps") 2>&1 | tee "$out/pytorch.json"
"$PYTHON" - "$out" <<'PY'
import json, sys
out = sys.argv[1]
def last_json(path):
    for line in reversed(open(path).read().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return None
ours, theirs = last_json(f"{out}/ours.json"), last_json(f"{out}/pytorch.json")
with open(f"{out}/summary.md", "a") as f:
    if not ours or not theirs or "error" in ours or "error" in theirs:
        f.write(f"## CUDA BYOL step: no figures (ours: {ours}, PyTorch: {theirs})\n")
    else:
        rows = [("model-only", "modelOnlyPairsPerSec"), ("end-to-end", "endToEndPairsPerSec")]
        f.write(f"## CUDA BYOL step\n\n| BYOL ResNet-18 b{ours['batch']} bf16 | ours pairs/s | PyTorch pairs/s | speed-up |\n|---|---|---|---|\n")
        for name, k in rows:
            f.write(f"| {name} | {ours[k]:.0f} | {theirs[k]:.0f} | {ours[k] / theirs[k]:.2f}x |\n")
        f.write(f"\nmodel TFLOP/s (ours): {ours['modelOnlyTFLOPs']:.1f}; device: {theirs['device']}, torch {theirs['torch']}\n")
print(open(f"{out}/summary.md").read())
PY
echo "gpu_check: $((SECONDS - t0)) s in all"
exit "$suite_rc"
