#!/usr/bin/env bash
# Everything a GPU machine should measure and check, in one run of under 9.5
# minutes (a lent machine's command limit is 10): builds the shim against that
# machine's PyTorch (2.x with CUDA, in $PYTHON, default python3) into
# build/pytorch/ (BYOL_BUILD_DIR; build/ keeps Debian's), then
#   0. the CUDA tests and the step object's (GPU_CHECK_TESTS; at most
#      GPU_CHECK_SUITE_S, default 100 s): capture and replay are checked first;
#   1. the goal table's steps, ours (bench/gpu_goals.ts: model only and through
#      the trainer's step object, eager and captured in a CUDA graph) and
#      PyTorch's (bench/py/gpu_goals.py: eager, torch.compile, reduce-overhead);
#   2. the host's cost of a step on a tiny model (bench/cases/host.ts: FFI calls
#      and microseconds per step, eager and captured);
#   3. the whole default run (`deno task train --device cuda`: 12 epochs, kNN
#      checks, final evaluation) with the GPU's utilisation sampled by nvidia-smi;
# Works offline. Results go to $OUT (default gpu-results/): device.txt,
# build.log, goals-ours.json, goals-pytorch.json, host.json, train.log,
# gpu-util.txt, tests.log and summary.md (the goal table, the suite's counts and
# failures by name). Each stage has its own timeout; a stage that fails or
# times out leaves its row empty and the others still run.
#   scripts/gpu_check.sh [steps]
#
# On the project's lent GPU machine (no network, no Deno): pack the kit here
# first, with the npm metadata a script outside the repo needs offline:
#   DENO_DIR=$HOME/dk/deno-dir deno task offline && ../shared/tools/device-kit.sh
# then start the command there with the line device-kit.sh prints, followed by
#   bash scripts/gpu_check.sh
# (carry .device-kit; OUT is set there).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-results}
mkdir -p "$out"
export PYTHON=${PYTHON:-python3}
export LIBTORCH_USE_PYTORCH=1 BYOL_SKIP_SETUP=1 BYOL_BUILD_DIR=${BYOL_BUILD_DIR:-build/pytorch}
export DENO_NO_UPDATE_CHECK=1
steps=${1:-50}
tests=${GPU_CHECK_TESTS:-tests/cuda tests/train/graph_step_test.ts tests/optim/capturable_test.ts}
suite_s=${GPU_CHECK_SUITE_S:-100}
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

if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  echo "no GPU visible to $PYTHON's torch: nothing to measure" | tee "$out/summary.md"
  exit 1
fi

# 0. The CUDA tests first: capture and replay, checked before anything is timed.
t1=$SECONDS
timeout -k 10 "$suite_s" deno test -A --v8-flags=--expose-gc --parallel $tests >"$out/tests.log" 2>&1
suite_rc=$?
suite_time=$((SECONDS - t1))
sed 's/\x1b\[[0-9;]*m//g' "$out/tests.log" | grep -E '^(ok|FAILED) \| |\.\.\. FAILED' | tail -20

# 1. The goal table's steps.
t1=$SECONDS
timeout -k 5 100 deno run -A bench/gpu_goals.ts "$steps" >"$out/goals-ours.json" 2>"$out/goals-ours.err"
echo "ours: $((SECONDS - t1)) s"; tail -c 2000 "$out/goals-ours.json"
t1=$SECONDS
(cd bench/py && timeout -k 5 180 "$PYTHON" gpu_goals.py "../../$out/goals-ours.json" "$steps" eager,reduce-overhead,compile) \
  >"$out/goals-pytorch.json" 2>"$out/goals-pytorch.err"
echo "PyTorch: $((SECONDS - t1)) s"; cat "$out/goals-pytorch.json"

# 2. The host's cost of a step (tiny model).
timeout -k 5 45 deno run -A bench/ours.ts host '{"threads":4,"warmup":1,"reps":10,"budgetMs":5000}' \
  >"$out/host.json" 2>"$out/host.err"
cat "$out/host.json"

# 3. The whole default run, the GPU's utilisation sampled every 0.5 s.
nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits -lms 500 >"$out/gpu-util.txt" 2>/dev/null &
smi=$!
t1=$SECONDS
timeout -k 5 130 deno run -A scripts/train.ts --device cuda --out "$out/default-run" >"$out/train.log" 2>&1
train_rc=$?
train_s=$((SECONDS - t1))
kill "$smi" 2>/dev/null
echo "default run: rc $train_rc in ${train_s} s"; tail -20 "$out/train.log"

"$PYTHON" - "$out" "$train_rc" "$train_s" "$suite_rc" "$suite_time" "$tests" <<'PY'
import json, os, re, sys
out, train_rc, train_s, suite_rc, suite_time, tests = sys.argv[1:7]

def json_lines(path):
    try:
        return [json.loads(l) for l in open(path).read().splitlines() if l.startswith("{")]
    except FileNotFoundError:
        return []

ours = (json_lines(f"{out}/goals-ours.json") or [{}])[-1]
torch_rows = json_lines(f"{out}/goals-pytorch.json")
host = (json_lines(f"{out}/host.json") or [{}])[-1].get("result", {})
dev = open(f"{out}/device.txt").read().strip().splitlines()

def ms(v):
    return f"{v['msPerStep']:.2f} ms" if isinstance(v, dict) and "msPerStep" in v else (v or "not run")

def theirs(recipe, mode):
    for r in torch_rows:
        if r.get("recipe") == recipe and r.get("mode") == mode:
            return f"{r['msPerStep']:.2f} ms" if "msPerStep" in r else f"failed: {r.get('error')}"
    return "not run"

def pairs(recipe, key):
    v = ours.get("results", {}).get(recipe, {}).get(key)
    b = ours.get("results", {}).get(recipe, {}).get("recipe", {}).get("batch")
    if isinstance(v, dict) and b:
        return f"{b / v['msPerStep'] * 1000:,.0f} pairs/s"
    return ""

L = [f"# GPU check: {dev[0] if dev else ''}", "", "`" + " | ".join(dev[1:]) + "`", "",
     "## Goal table (ms per step; bf16 autocast, channels-last)", "",
     "| work | ours eager | ours captured | PyTorch eager | torch.compile | reduce-overhead |",
     "|---|---|---|---|---|---|"]
names = {"default": "default recipe (convnet 48, b64, 2048-256, AdamW)",
         "resnet18": "ResNet-18 CIFAR stem, b512, 4096-256, LARS"}
for rec, title in names.items():
    r = ours.get("results", {}).get(rec, {})
    L.append(f"| {title}, model only | {ms(r.get('modelEager'))} | {ms(r.get('modelCaptured'))} | "
             f"{theirs(rec, 'eager')} | {theirs(rec, 'compile')} | {theirs(rec, 'reduce-overhead')} |")
    L.append(f"| {title}, trainer end to end | {ms(r.get('e2eEager'))} | {ms(r.get('e2eCaptured'))} | | | |")
    for k in ("modelEager", "modelCaptured", "e2eEager", "e2eCaptured"):
        v = r.get(k)
        if isinstance(v, dict):
            L.append(f"|   {k}: {v['callsPerStep']:.1f} FFI calls/step {pairs(rec, k)} | | | | | |")
L += ["", "## Host cost of a step, tiny model (convnet width 4, batch 2)", ""]
for mode in ("eager", "captured"):
    v = host.get(mode)
    L.append(f"- {mode}: " + (f"{v['callsPerStep']:.1f} FFI calls/step, {v['usPerStep']:.0f} us/step"
                               if isinstance(v, dict) else "not run"))
util = []
try:
    util = [int(x) for x in open(f"{out}/gpu-util.txt").read().split() if x.isdigit()]
except FileNotFoundError:
    pass
busy = sorted(util)[len(util) // 2] if util else None
L += ["", f"## Default run (`deno task train --device cuda`): rc {train_rc} in {train_s} s", ""]
try:
    ev = json.load(open(f"{out}/default-run/eval.json"))["trained"]
    L.append(f"- kNN-20 {ev['knn20']:.2f}, kNN-200 {ev['knn200']:.2f}, probe top-1 {ev['probeTop1']:.2f}"
             + (f", online probe {ev['onlineProbeTop1']:.2f}" if "onlineProbeTop1" in ev else ""))
except (FileNotFoundError, KeyError):
    L.append("- no eval.json (the run did not finish)")
log = open(f"{out}/train.log").read() if os.path.exists(f"{out}/train.log") else ""
ips = re.findall(r"([\d,]+) img/s", log)
first = [l for l in log.splitlines() if l.startswith("training ")]
L.append(f"- GPU utilisation (nvidia-smi every 0.5 s): median {busy} % over {len(util)} samples")
if first:
    L.append(f"- {first[0]}")
if ips:
    L.append(f"- last reported rate: {ips[-1]} img/s")
clean = re.sub(r"\x1b\[[0-9;]*m", "", open(f"{out}/tests.log").read()) if os.path.exists(f"{out}/tests.log") else ""
summ = [l for l in clean.splitlines() if re.match(r"^(ok|FAILED) \| ", l)]
fails = sorted({l.split(" ... FAILED")[0] for l in clean.splitlines() if " ... FAILED" in l})
L += ["", f"## Tests ({tests}, --parallel): rc {suite_rc} in {suite_time} s", "",
      summ[-1] if summ else "no summary line (timed out, or no time left)"]
L += [f"- failed: {f}" for f in fails]

# The issue's goals, each with what was measured (None: not measured).
def ours_ms(rec, key):
    v = ours.get("results", {}).get(rec, {}).get(key)
    return v["msPerStep"] if isinstance(v, dict) else None

def torch_ms(rec, mode):
    for r in torch_rows:
        if r.get("recipe") == rec and r.get("mode") == mode and "msPerStep" in r:
            return r["msPerStep"]
    return None

def ratio(a, b):
    return a / b if a is not None and b is not None else None

try:
    ev = json.load(open(f"{out}/default-run/eval.json"))["trained"]
except (FileNotFoundError, KeyError):
    ev = {}
cap = host.get("captured")
goals = [
    ("default step, model only, captured <= reduce-overhead", ratio(ours_ms("default", "modelCaptured"), torch_ms("default", "reduce-overhead")), lambda r: r <= 1.0, "{:.2f}x its time"),
    ("default step, trainer end to end, captured <= 1.3x reduce-overhead", ratio(ours_ms("default", "e2eCaptured"), torch_ms("default", "reduce-overhead")), lambda r: r <= 1.3, "{:.2f}x its time"),
    ("GPU busy >= 80 % in the default run (median sample)", busy, lambda r: r >= 80, "{} %"),
    ("default run under 60 s", int(train_s) if train_rc == "0" else None, lambda r: r < 60, "{} s"),
    ("default run kNN-20 >= 87.0", ev.get("knn20"), lambda r: r >= 87.0, "{:.2f}"),
    ("default run probe >= 88.0", ev.get("probeTop1"), lambda r: r >= 88.0, "{:.2f}"),
    ("ResNet-18 b512 model only, captured >= 1.0x reduce-overhead", ratio(torch_ms("resnet18", "reduce-overhead"), ours_ms("resnet18", "modelCaptured")), lambda r: r >= 1.0, "{:.2f}x"),
    ("ResNet-18 trainer end to end >= 90 % of model only (captured)", ratio(ours_ms("resnet18", "modelCaptured"), ours_ms("resnet18", "e2eCaptured")), lambda r: r >= 0.9, "{:.2f}"),
    ("FFI calls per captured step <= 10 (tiny model)", cap.get("callsPerStep") if isinstance(cap, dict) else None, lambda r: r <= 10, "{:.1f}"),
]
L += ["", "## Goals", "", "| goal | measured | met |", "|---|---|---|"]
for name, v, ok, fmt in goals:
    L.append(f"| {name} | {fmt.format(v) if v is not None else 'not measured'} | "
             f"{('yes' if ok(v) else 'no') if v is not None else '-'} |")
open(f"{out}/summary.md", "w").write("\n".join(L) + "\n")
print("\n".join(L))
PY
echo "gpu_check: $((SECONDS - t0)) s in all"
exit "$suite_rc"
