#!/usr/bin/env bash
# One prepared GPU check, in parts, so that a short lease (15 minutes, at most
# 10 per command) covers it in two calls:
#   bash scripts/device_check.sh tests startup batch    # #15: about 5 minutes
#   bash scripts/device_check.sh quality images          # #13/#14 tables on the GPU
# (no argument: every part). The parts:
#   tests    the CUDA and torchaudio-oracle tests, the style-strength tests, and
#            CLI transfers (on the GPU) importing only what they need;
#   startup  start-up (--help) and cold against warm times, CLI and in-process,
#            for a 10 s clip and a 512 px picture (scripts/bench_cold_start.py);
#   batch    pairs per minute for 100 clips of 5 s with 1, 2, 4 and 8 worker
#            processes on the one GPU (scripts/bench_batch.py);
#   quality  the audio quality table (scripts/bench_quality.py) on the GPU;
#   images   the image quality table at 1024 px, every method on every pair
#            (scripts/bench_images.py), which the 2-core CPU cannot finish.
# A summary table of the #15 figures ends the run. Everything it prints also
# lands in $OUT (or ./device-check) as log files.
#
# The GPU machine reaches no package index and has no ../shared:
# `bash scripts/device_bundle.sh`, run beforehand on a machine with the
# project installed, puts the wheels it lacks in .whl/ and a copy of the
# shared folder in .devshared/ (both ignored by git); carry both:
#   carry: [".whl", ".devshared"]   command: bash scripts/device_check.sh tests startup batch
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-device-check}
mkdir -p "$out"
parts=${*:-tests startup batch quality images}
want() { [[ " $parts " == *" $1 "* ]]; }
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --upgrade --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
[ -d .devshared ] && export AUDIOST_SHARED="$PWD/.devshared"
python3 -c "import librosa, soundfile, soxr, tomli_w" 2>/dev/null || {
    echo "device_check: audiost's dependencies do not import here; run scripts/device_bundle.sh and carry .whl" >&2
    exit 1
}
shared=${AUDIOST_SHARED:-../shared}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"

if want tests; then
    echo "## tests"
    timeout 240 python3 -m pytest -q -p no:cacheprovider \
        tests/test_device_residency.py tests/test_griffin_lim.py tests/test_style_strength.py \
        tests/test_startup.py \
        2>&1 | tail -25 | tee "$out/tests.log"
fi

if want startup; then
    echo "## start-up, and cold against warm (10 s clip, 512 px picture), cuda"
    timeout 60 python3 scripts/bench_startup.py --repeats 3 2>&1 | tee "$out/startup.md"
    timeout 240 python3 scripts/bench_cold_start.py --device cuda --repeats 3 --cli-repeats 2 \
        2>&1 | grep -v Warning | tee "$out/cold_start.md"
fi

if want batch; then
    echo "## batch throughput on one GPU: 100 clips of 5 s, 1/2/4/8 workers"
    timeout 300 python3 scripts/bench_batch.py --device cuda --clips 100 --seconds 5 \
        --jobs 1,2,4,8 --repeats 1 --throughput-only 2>&1 | grep -v Warning | tee "$out/batch.md"
fi

if want quality; then
    echo "## quality table on cuda"
    timeout 300 python3 scripts/bench_quality.py --device cuda --presets fast,balanced,best \
        --dial --json "$out/quality.json" 2>&1 | grep -v Warning | tee "$out/quality.md"
fi

if want images; then
    echo "## image quality table at 1024 px on cuda"
    timeout 420 python3 scripts/bench_images.py --device cuda --sizes 1024 \
        --methods before,balanced,gatys --out "$out/images" --sheet "$out/images" \
        --weights "$shared/models/vgg16-hed/vgg16_hed_features_fp16.pth" \
        --corpus "$shared/corpus" --json "$out/images.json" \
        2>&1 | grep -v Warning | tee "$out/images.md"
fi

echo "## summary"
python3 - "$out" <<'EOF' | tee "$out/summary.md"
"""One table of the #15 figures from the parts' logs (a part not run is left out)."""
import sys
from pathlib import Path

out = Path(sys.argv[1])
rows = [("GPU", (out / "gpu.txt").read_text().strip())]


def lines(name):
    path = out / name
    return path.read_text().splitlines() if path.exists() else []


summary = [line for line in lines("tests.log") if " passed" in line or " failed" in line]
if summary:
    rows.append(("CUDA, oracle and strength tests", summary[-1].strip("= ")))
for line in lines("cold_start.md"):
    cells = [c.strip() for c in line.strip("|").split("|")]
    if len(cells) >= 4 and cells[1] in ("CLI wall", "first transfer") or (
        len(cells) >= 3 and cells[1].startswith("warm transfer")
    ):
        beyond = f" ({cells[3]} beyond warm)" if len(cells) > 3 and cells[3] else ""
        rows.append((f"{cells[0]}: {cells[1]} (s)", cells[2] + beyond))
    elif len(cells) == 3:  # the first-calls table: the one-offs worth a look
        try:
            first, second = float(cells[1]), float(cells[2])
        except ValueError:
            continue
        if first - second >= 0.05:
            rows.append((f"first call of {cells[0]} (s)", f"{first:.3f}, then {second:.3f}"))
for line in lines("batch.md"):
    cells = [c.strip() for c in line.strip("|").split("|")]
    if cells[0].startswith("local"):
        rows.append((f"batch 100 x 5 s, {cells[0]}: pairs / min", cells[3]))
print("| what | figure |\n|---|---|")
for what, figure in rows:
    print(f"| {what} | {figure} |")
EOF
