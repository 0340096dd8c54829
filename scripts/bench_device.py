"""What ``torch.compile`` and bf16 autocast buy on one objective evaluation, and what they cost in accuracy.

An evaluation is what ``optimise`` asks for once or more per iteration: the
objective's forward pass (network and losses) and its backward pass to the
canvas. Cases: the audio ``balanced`` objective on 4 s and on one 30 s
section (the longest a long recording is styled in) of 44.1 kHz music, and
the image objective at 256 px with the shared VGG16. Modes:

- ``eager``: what audiost runs (fp32; on CUDA, convolutions use TF32);
- ``bf16``: the same under ``torch.autocast(dtype=torch.bfloat16)``;
- ``compiled``: ``torch.compile(objective)`` (inductor), fp32;
- ``compiled-bf16``: both.

Columns: the first call (compilation included), the median of the next
``--repeats`` calls, the speed-up over eager, the number of iterations
after which the compilation has paid for itself (evaluations, counting one
per iteration), and accuracy against eager fp32: the loss's relative error
and the gradient's cosine similarity (1 = the optimiser is pushed the same
way). A mode is worth adopting where it is faster, pays for itself within a
run, and keeps the gradient's direction.

Usage::

    PYTHONPATH=. python3 scripts/bench_device.py [--device cpu|cuda] [--cases audio-4s,audio-30s,image-256] [--modes eager,bf16,compiled,compiled-bf16] [--repeats 5]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

if TYPE_CHECKING:
    import torch

    from audiost.engine import Objective

MODES = ("eager", "bf16", "compiled", "compiled-bf16")
CASES = ("audio-4s", "audio-30s", "image-256")
_AUDIO_CONTENT = "music_wesnoth_traveling_minstrels_folk_44k_stereo.flac"
_AUDIO_STYLE = "music_turkish_song_safiye_ayla_44k_mono_s24.wav"


def audio_objective(
    corpus: Path, seconds: float, device: torch.device
) -> tuple[Objective, torch.Tensor]:
    """The ``balanced`` objective and starting canvas for ``seconds`` of corpus music, as ``transfer_audio`` builds them.

    The corpus clip is looped to the length asked for.
    """
    import numpy as np

    from audiost import AudioStylist, audio_preset
    from audiost.media.audio_io import load_audio

    content, sr = load_audio(corpus / _AUDIO_CONTENT)
    content = np.tile(content[:1], math.ceil(seconds * sr / content.shape[1]))
    stylist = AudioStylist(audio_preset("balanced", device=str(device)))
    return stylist.problem(
        content[:, : round(seconds * sr)], corpus / _AUDIO_STYLE, content_sr=sr
    )


def image_objective_for(
    corpus: Path, size: int, device: torch.device
) -> tuple[Objective, torch.Tensor]:
    """The image objective and starting canvas at ``size`` px with the shared VGG16, as ``bench.py`` times them."""
    from bench_image_engine import (
        IMAGE_CONTENT,
        IMAGE_STYLE,
        VGG16_WEIGHTS,
        sized_content,
    )

    from audiost import ImageStylist, image_preset

    stylist = ImageStylist(
        image_preset(
            "balanced",
            max_size=size,
            net="vgg16",
            weights=str(corpus.parent / VGG16_WEIGHTS),
            device=str(device),
        )
    )
    return stylist.problem(
        sized_content(corpus / IMAGE_CONTENT, size), corpus / IMAGE_STYLE
    )


def evaluation(
    objective: Callable, canvas: torch.Tensor, bf16: bool
) -> Callable[[], tuple[float, torch.Tensor]]:
    """One forward and backward pass at ``canvas``: its loss and gradient."""
    import torch

    def run() -> tuple[float, torch.Tensor]:
        x = canvas.detach().clone().requires_grad_(True)
        with torch.autocast(canvas.device.type, dtype=torch.bfloat16, enabled=bf16):
            total, _ = objective(x)
        total.float().backward()
        return float(total.detach()), x.grad

    return run


def measure(
    name: str,
    objective: Objective,
    canvas: torch.Tensor,
    modes: Sequence[str],
    repeats: int,
) -> list[list[str]]:
    import torch
    from benchlib import timed

    device = canvas.device
    compiled = None
    rows: list[list[str]] = []
    reference: tuple[float, torch.Tensor] | None = None
    eager_time = None
    for mode in ("eager", *[m for m in modes if m != "eager"]):
        if mode.startswith("compiled") and compiled is None:
            torch._dynamo.reset()
            compiled = torch.compile(objective)
        run = evaluation(
            compiled if mode.startswith("compiled") else objective,
            canvas,
            bf16=mode.endswith("bf16"),
        )
        first, _ = timed(run, 1, device)
        median, (loss, grad) = timed(run, repeats, device)
        if reference is None:
            reference, eager_time = (loss, grad), median
        ref_loss, ref_grad = reference
        cosine = float(
            torch.nn.functional.cosine_similarity(
                grad.flatten().double(), ref_grad.flatten().double(), dim=0
            )
        )
        gain = eager_time - median
        payback = (
            "-"
            if mode == "eager"
            else "never"
            if gain <= 0
            else f"{max(0.0, first - eager_time) / gain:.0f}"
        )
        if mode in modes:
            rows.append(
                [
                    name,
                    f"`{mode}`",
                    f"{first:.3f}",
                    f"{median:.4f}",
                    f"{eager_time / median:.2f}x",
                    payback,
                    f"{abs(loss - ref_loss) / abs(ref_loss):.1e}",
                    f"{cosine:.5f}",
                ]
            )
        print(
            f"  {name} {mode}: first {first:.2f} s, median {median:.4f} s",
            file=sys.stderr,
            flush=True,
        )
    return rows


def run(
    device_name: str, cases: Sequence[str], modes: Sequence[str], repeats: int
) -> None:
    import torch
    from benchlib import machine_lines, markdown_table, shared_corpus

    from audiost.device import resolve_device, use_cpu_cores

    corpus = shared_corpus()
    if corpus is None:
        sys.exit("bench_device: the shared corpus was not found; set AUDIOST_SHARED")
    device = resolve_device(device_name)
    if device.type == "cpu":
        use_cpu_cores()
    print("## Compilation and mixed precision: one objective evaluation\n")
    print("\n".join(machine_lines(str(device), repeats)) + "\n")
    if device.type == "cuda":
        print(f"- GPU: {torch.cuda.get_device_name(device)}\n")
    rows: list[list[str]] = []
    for case in cases:
        clock = time.perf_counter()
        if case.startswith("audio"):
            seconds = float(case.split("-")[1].rstrip("s"))
            objective, canvas = audio_objective(corpus, seconds, device)
            label = f"audio {seconds:g} s, 44.1 kHz (`balanced`)"
        else:
            size = int(case.split("-")[1])
            objective, canvas = image_objective_for(corpus, size, device)
            label = f"image {size} px (VGG16)"
        print(f"{case}: built in {time.perf_counter() - clock:.1f} s", file=sys.stderr)
        rows += measure(label, objective, canvas, modes, repeats)
    print(
        markdown_table(
            [
                "case",
                "mode",
                "first call (s)",
                "median (s)",
                "speed-up",
                "pays after (iterations)",
                "loss rel. error",
                "gradient cosine",
            ],
            rows,
        )
    )
    print(
        f"\nMedians of {repeats} evaluations after the first; torch {torch.__version__}."
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if set(cases) - set(CASES) or set(modes) - set(MODES) or args.repeats < 1:
        parser.error(
            f"cases are {', '.join(CASES)}; modes are {', '.join(MODES)}; repeats >= 1"
        )
    run(args.device, cases, modes, args.repeats)


if __name__ == "__main__":
    main()
