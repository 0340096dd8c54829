"""Cold against warm: what one command pays beyond the work it does.

For a 10 s clip (``--seconds``; ``balanced``, ``--preset``) styled by a
recording at another rate and, with the shared VGG16, a 512 px picture
(``--image-size``):

- **CLI wall**: ``audiost transfer`` in a fresh interpreter, as a user runs
  it, start to exit;
- **import**: ``import audiost`` plus the pipeline modules (torch);
- **first** and **warm** transfer in one process (a new stylist each time,
  so style targets are made every time; the warm figure is the median of
  the later runs), with each stage's time, so that first-call costs
  (kernel selection, FFT plans, lazy loading, allocator growth) show up in
  the stage that pays them;
- **first calls**: in one fresh process, the device's one-offs (context,
  allocator, BLAS, cuDNN, cuFFT, complex kernels) and then the pipeline's
  pieces (STFT, Griffin-Lim, network, style targets, objective, L-BFGS),
  each the first time against the second, so each row shows what it alone
  adds to a cold run.

The aim (#15): the cold CLI within 3 s of the warm work on a GPU.

Usage::

    python scripts/bench_cold_start.py [--device cuda] [--repeats 3] [--seconds 2 --preset fast]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchlib import REPO, machine_lines, markdown_table, shared_corpus

AUDIO_CONTENT = "music_wesnoth_traveling_minstrels_folk_44k_stereo.flac"
# At another rate than the content, as a user's recordings usually are: the
# first resampling is part of what a cold command pays.
AUDIO_STYLE = "music_hold_music_manolo_camp_morning_coffee_8k_mono_s16.wav"
PHOTO = "photo_chelsea_cat_451x300.png"
PAINTING = "painting_hokusai_poppies_655x449.png"
VGG16 = Path("models/vgg16-hed/vgg16_hed_features_fp16.pth")
SECONDS = 10.0

# Runs in a fresh interpreter: times the imports, then the transfers in order.
PROBE = r"""
import json, sys, time
start = time.perf_counter()
import audiost, audiost.audio, audiost.image
imported = time.perf_counter() - start
from audiost.device import prepare_process
prepare_process()  # as the CLI does
kind, device, repeats, content, style, settings = json.loads(sys.argv[1])
import numpy as np
import torch
from audiost.media.audio_io import load_audio

def sync():
    if device.startswith("cuda"):
        torch.cuda.synchronize()

runs = []
if kind == "audio":
    wave, sr = load_audio(content)
    wave = wave[:, : int(settings["seconds"] * sr)]
for run in range(repeats):
    clock = time.perf_counter()
    if kind == "audio":
        stylist = audiost.AudioStylist(audiost.audio_preset(settings["preset"], device=device))
        result = stylist.transfer(wave * (1 - 0.01 * run), style, content_sr=sr)
    else:
        stylist = audiost.ImageStylist(audiost.image_preset("balanced", device=device, **settings))
        result = stylist.transfer(content, style)
    sync()
    runs.append({"wall": time.perf_counter() - clock, **result.timings})
print(json.dumps({"import": imported, "runs": runs}))
"""

# First calls against their second, in one fresh process and in this order,
# so each "first" pays only the one-off costs no earlier row paid: on a GPU
# the context, the allocator's first pool, the cuBLAS, cuDNN and cuFFT
# libraries' start (and their lazily loaded kernels), kernels compiled at run
# time for complex arithmetic, then the pipeline's own pieces and a short
# L-BFGS run of the real problem, whose first iterations a cold transfer pays.
FIRST_CALLS = r"""
import json, sys, time
import torch
from audiost import AudioStylist, audio_preset
from audiost.device import prepare_process, resolve_device
from audiost.engine import optimise
from audiost.media.audio import AudioCanvas
from audiost.media.audio_io import load_audio
from audiost.media.griffin_lim import griffin_lim
from audiost.audio.objective import build_network
prepare_process()  # as the CLI does
device = resolve_device(sys.argv[1])
content, style = sys.argv[2:4]

def twice(fn):
    times = []
    for _ in range(2):
        if device.type == "cuda":
            torch.cuda.synchronize()
        clock = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - clock)
    return times

out = {}
out["device context (a 1-element tensor)"] = twice(lambda: torch.zeros(1, device=device))
out["allocate 256 MB"] = twice(lambda: torch.empty(2**26, device=device).fill_(0))
square = torch.randn(1024, 1024, device=device)
out["matmul 1024 x 1024 (BLAS)"] = twice(lambda: square @ square)
image = torch.randn(1, 64, 128, 128, device=device)
kernel = torch.randn(64, 64, 3, 3, device=device)
out["conv2d 64 ch, 128 px (cuDNN on a GPU)"] = twice(
    lambda: torch.nn.functional.conv2d(image, kernel, padding=1)
)
signal = torch.randn(2, 441000, device=device)
out["rfft of 10 s (cuFFT plan on a GPU)"] = twice(lambda: torch.fft.rfft(signal))
angles = torch.rand(1025, 862, device=device)

def complex_kernels():
    spectrum = torch.polar(torch.ones_like(angles), angles)
    return spectrum.abs(), spectrum.angle()

out["complex polar, abs, angle"] = twice(complex_kernels)
canvas = AudioCanvas(44100, device)
wave = torch.randn(1, 441000, device=device) * 0.1
out["STFT of 10 s"] = twice(lambda: canvas.encode(wave))
log_magnitude, phase = canvas.encode(wave)
magnitude = canvas.magnitude(log_magnitude)
out["Griffin-Lim, 8 iterations"] = twice(
    lambda: griffin_lim(magnitude, canvas.stft, wave.shape[1], n_iter=8, start_phase=phase)
)
cfg = audio_preset("balanced")
out["network build"] = twice(lambda: build_network(cfg, canvas.stft.n_bins, 44100).to(device))
network = build_network(cfg, canvas.stft.n_bins, 44100).to(device)
x = log_magnitude.clone().requires_grad_(True)

def evaluate():
    features = network(x, network.style_layers)
    sum(f.square().mean() for f in features.values()).backward()

out["network forward + backward"] = twice(evaluate)
clip, sr = load_audio(content)
clip = clip[:, : 10 * sr]
stylist = AudioStylist(audio_preset("balanced", device=str(device)))
problems = []
out["style targets and problem, 10 s"] = twice(
    lambda: problems.append(stylist.problem(clip, style, content_sr=sr))
)
objective, start = problems[-1]

def objective_once():
    y = start.detach().clone().requires_grad_(True)
    objective(y)[0].backward()

out["objective evaluation (losses + network)"] = twice(objective_once)
out["L-BFGS, 3 iterations"] = twice(lambda: optimise(objective, start, iters=3))
print(json.dumps(out))
"""


def probe(
    kind: str,
    device: str,
    repeats: int,
    content: str,
    style: str,
    settings: dict[str, Any],
) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE,
            json.dumps([kind, device, repeats, content, style, settings]),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{kind} probe failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def cli_wall(args: Sequence[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from audiost.cli import main; main(prog_name='audiost')",
            *args,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"audiost {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return elapsed


def case_rows(
    name: str, walls: list[float], measured: dict[str, Any]
) -> list[list[str]]:
    """One row for the CLI, the import, the first and the warm transfer, with stage times."""
    runs = measured["runs"]
    first, warm = runs[0], runs[1:]
    stages = [key for key in first if key != "wall"]

    def warm_of(key: str) -> float:
        return statistics.median(run.get(key, 0.0) for run in warm)

    warm_wall = warm_of("wall")
    cli = statistics.median(walls)
    return [
        [name, "CLI wall", f"{cli:.2f}", f"+{cli - warm_wall:.2f}", ""],
        [name, "import audiost + pipelines", f"{measured['import']:.2f}", "", ""],
        [
            name,
            "first transfer",
            f"{first['wall']:.2f}",
            f"+{first['wall'] - warm_wall:.2f}",
            ", ".join(f"{k} {first[k]:.2f}" for k in stages),
        ],
        [
            name,
            f"warm transfer (median of {len(warm)})",
            f"{warm_wall:.2f}",
            "",
            ", ".join(f"{k} {warm_of(k):.2f}" for k in stages),
        ],
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--repeats", type=int, default=3, help="transfers per process (>= 2)"
    )
    parser.add_argument("--cli-repeats", type=int, default=3)
    parser.add_argument(
        "--seconds", type=float, default=SECONDS, help="the audio clip's length"
    )
    parser.add_argument("--preset", default="balanced", help="the audio preset")
    parser.add_argument(
        "--image-size",
        type=int,
        default=512,
        help="0: no image case (a 512 px transfer takes minutes on a CPU)",
    )
    args = parser.parse_args(argv)
    corpus = shared_corpus()
    if corpus is None:
        raise SystemExit(
            "bench_cold_start: the shared corpus was not found; set AUDIOST_SHARED"
        )
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="audiost-cold-") as tmp:
        import soundfile as sf

        wave, sr = sf.read(corpus / AUDIO_CONTENT, dtype="float32", always_2d=True)
        clip = Path(tmp) / "clip.wav"
        sf.write(clip, wave[: int(args.seconds * sr)], sr)
        style = str(corpus / AUDIO_STYLE)
        walls = [
            cli_wall(
                [
                    "transfer",
                    str(clip),
                    style,
                    "-o",
                    f"{tmp}/out{i}.wav",
                    "--device",
                    args.device,
                    "--preset",
                    args.preset,
                    "-q",
                ]
            )
            for i in range(args.cli_repeats)
        ]
        measured = probe(
            "audio",
            args.device,
            args.repeats,
            str(corpus / AUDIO_CONTENT),
            style,
            {"seconds": args.seconds, "preset": args.preset},
        )
        rows += case_rows(f"audio {args.seconds:g} s, {args.preset}", walls, measured)
        weights = corpus.parent / VGG16
        if weights.is_file() and args.image_size:
            photo, painting = str(corpus / PHOTO), str(corpus / PAINTING)
            image = {
                "net": "vgg16",
                "weights": str(weights),
                "max_size": args.image_size,
            }
            walls = [
                cli_wall(
                    [
                        "transfer",
                        photo,
                        painting,
                        "-o",
                        f"{tmp}/out{i}.png",
                        "--device",
                        args.device,
                        "-q",
                        "--net",
                        "vgg16",
                        "--weights",
                        str(weights),
                        "--max-size",
                        str(args.image_size),
                    ]
                )
                for i in range(args.cli_repeats)
            ]
            measured = probe("image", args.device, args.repeats, photo, painting, image)
            rows += case_rows(f"image {args.image_size} px", walls, measured)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            FIRST_CALLS,
            args.device,
            str(corpus / AUDIO_CONTENT),
            str(corpus / AUDIO_STYLE),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
    )
    first_calls = json.loads(done.stdout.splitlines()[-1])
    print(f"## Cold against warm on {args.device}\n")
    print("\n".join(machine_lines(args.device, args.cli_repeats)) + "\n")
    print(
        markdown_table(
            ["case", "what", "wall (s)", "beyond warm (s)", "stages (s)"], rows
        )
    )
    print()
    print(
        markdown_table(
            ["first call of", "first (s)", "second (s)"],
            [[name, f"{a:.3f}", f"{b:.3f}"] for name, (a, b) in first_calls.items()],
        )
    )


if __name__ == "__main__":
    main()
