#!/usr/bin/env bash
# One prepared GPU check, sized for a short lease (a few minutes on an H200):
#   1. the CUDA and torchaudio-oracle tests and the style-strength tests;
#   2. start-up (--help) and cold against warm times, CLI and in-process, for a
#      10 s clip and a 512 px picture (scripts/bench_cold_start.py);
#   3. the audio quality table (scripts/bench_quality.py) on the GPU;
#   4. the image quality table at 1024 px (scripts/bench_images.py), the size
#      the 2-core CPU cannot run on every pair.
# Everything it prints also lands in $OUT (or ./device-check) as log files.
#
# Where the machine lacks packages, carry wheels in .whl/ and the shared
# folder in .devshared/ (both ignored by git), e.g. through the device tool:
#   carry: [".whl", ".devshared"]   command: bash scripts/device_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-device-check}
mkdir -p "$out"
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --upgrade --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
[ -d .devshared ] && export AUDIOST_SHARED="$PWD/.devshared"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"

echo "## tests"
timeout 240 python3 -m pytest -q -p no:cacheprovider \
    tests/test_device_residency.py tests/test_griffin_lim.py tests/test_style_strength.py \
    2>&1 | tail -25 | tee "$out/tests.log"

echo "## start-up, and cold against warm (10 s clip, 512 px picture), cuda"
timeout 60 python3 scripts/bench_startup.py --repeats 3 2>&1 | tee "$out/startup.md"
timeout 240 python3 scripts/bench_cold_start.py --device cuda --repeats 3 --cli-repeats 2 \
    2>&1 | grep -v Warning | tee "$out/cold_start.md"

echo "## quality table on cuda"
timeout 300 python3 scripts/bench_quality.py --device cuda --presets fast,balanced,best \
    --dial --json "$out/quality.json" 2>&1 | grep -v Warning | tee "$out/quality.md"

echo "## image quality table at 1024 px on cuda"
timeout 420 python3 scripts/bench_images.py --device cuda --sizes 1024 \
    --methods before,balanced,gatys --out "$out/images" --sheet "$out/images" \
    --weights "${AUDIOST_SHARED:-../shared}/models/vgg16-hed/vgg16_hed_features_fp16.pth" \
    --corpus "${AUDIOST_SHARED:-../shared}/corpus" --json "$out/images.json" \
    2>&1 | grep -v Warning | tee "$out/images.md"
