#!/usr/bin/env bash
# Prepare what scripts/device_check.sh needs on the lent GPU machine, which
# reaches no package index and has no ../shared:
#   .whl/        wheels, for its Python (3.12, x86_64 Linux), of the packages
#                audiost needs that its image lacks (librosa, soundfile,
#                pyloudnorm, tomli-w and the parts of theirs it lacks), at the
#                versions installed here, so the GPU runs what CI tests;
#   .devshared/  a copy of ../shared (corpus and VGG16 weights).
# Both are ignored by git and travel through the device tool's carry:
#   carry: [".whl", ".devshared"]   command: bash scripts/device_check.sh tests startup batch
# It refuses to finish when the tree plus both folders exceed what the device
# tool sends (64 MiB), rather than fail on the machine, whose minutes count.
#
#   bash scripts/device_bundle.sh [--python 3.12] [--shared ../shared]
set -euo pipefail
cd "$(dirname "$0")/.."
python_version=3.12
shared=${AUDIOST_SHARED:-../shared}
while [ $# -gt 0 ]; do
    case $1 in
        --python) python_version=$2; shift 2 ;;
        --shared) shared=$2; shift 2 ;;
        *) echo "device_bundle: unknown argument $1 (use --python X.Y, --shared DIR)" >&2; exit 2 ;;
    esac
done
[ -f "$shared/models/vgg16-hed/vgg16_hed_features_fp16.pth" ] && [ -d "$shared/corpus/bad" ] || {
    echo "device_bundle: no shared corpus and VGG16 weights under $shared; pass --shared DIR" >&2
    exit 1
}

# What the GPU image lacks, read off it (the device tool's KINDS.md lists
# what it holds: numpy, scipy, scikit-learn, numba, joblib, msgpack,
# lazy-loader, requests, packaging, filelock, tqdm, click, pillow are there).
# Pinned to the versions installed here: the GPU runs the code CI tested.
missing="librosa soundfile cffi pycparser soxr pooch platformdirs decorator audioread pyloudnorm tomli-w"
pins=$(python3 - $missing <<'EOF'
import importlib.metadata as metadata
import sys

pins = []
for name in sys.argv[1:]:
    try:
        pins.append(f"{name}=={metadata.version(name)}")
    except metadata.PackageNotFoundError:
        sys.exit(f"device_bundle: {name} is not installed here; install the project first (README, step 2)")
print(" ".join(pins))
EOF
)
tag=${python_version/./}
rm -rf .whl .devshared
# --no-deps: the list above is the closure that is missing there; a resolver
# would also fetch numpy and scipy builds that would shadow the image's own.
python3 -m pip download --quiet --dest .whl --no-deps --only-binary=:all: \
    --python-version "$python_version" --implementation cp \
    --abi "cp$tag" --abi abi3 --abi none \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux_2_28_x86_64 --platform any \
    $pins
mkdir -p .devshared/models
cp -r "$shared/corpus" .devshared/corpus
cp -r "$shared/models/vgg16-hed" .devshared/models/vgg16-hed
chmod -R u+w .devshared

tree=$(git ls-files -z --cached --others --exclude-standard | du -cb --files0-from=- | tail -1 | cut -f1)
bundle=$(du -sb .whl .devshared | awk '{s += $1} END {print s}')
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
echo "wheels: $(ls .whl | wc -l) files, $(mib "$(du -sb .whl | cut -f1)") MiB; shared copy $(mib "$(du -sb .devshared | cut -f1)") MiB"
echo "travels: tree $(mib "$tree") MiB + carried $(mib "$bundle") MiB = $(mib $((tree + bundle))) MiB of 64"
if [ $((tree + bundle)) -gt $((63 * 1048576)) ]; then
    echo "device_bundle: over the device tool's 64 MiB; drop corpus files the check does not read from .devshared/corpus" >&2
    exit 1
fi
