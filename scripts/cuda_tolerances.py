"""Where the CUDA tests' bounds come from: TF32 convolutions emulated on the CPU, and how far a short run's end moves when its arithmetic moves a little.

CUDA convolutions use TF32 by default (inputs rounded to 10 mantissa
bits, products summed in fp32). This script emulates that on the CPU: it
rounds each convolution's input and weight the same way, with the gradient
passed straight through (the backward pass then sees the rounded values,
as on a GPU). It prints, for the audio and image cases of
``tests/test_device_residency.py``:

- one objective evaluation (loss and gradient, same start) in fp32 and
  TF32: the loss's relative error and the gradient's cosine, the bounds of
  the tests' one-evaluation check;
- the whole short run (audio: `fast`, 10 iterations; image: 64 px, 5
  iterations) in fp32, in TF32, and from a content scaled by ``1 + eps``:
  final loss and the product's measures, whose spread sets the whole-run
  bounds. L-BFGS's line search takes discrete decisions, so a short run's
  final loss can jump where its measures barely move.

Usage::

    PYTHONPATH=. python3 scripts/cuda_tolerances.py
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchlib import markdown_table, shared_corpus

from audiost import (
    AudioStylist,
    ImageStylist,
    audio_preset,
    image_preset,
    transfer_audio,
    transfer_image,
)
from audiost.image_metrics import image_measures
from audiost.media.image_io import load_image
from audiost.metrics import audio_measures

HED = REPO.parent / "shared/models/vgg16-hed/vgg16_hed_features_fp16.pth"
PERTURBATIONS = (1e-6, 1e-5, 1e-4, 1e-3)


def to_tf32(x: torch.Tensor) -> torch.Tensor:
    """``x`` rounded to TF32's 10 mantissa bits (to nearest); the gradient passes straight through."""
    bits = x.detach().contiguous().view(torch.int32)
    rounded = ((bits + 0x1000) & ~0x1FFF).view(torch.float32)
    return x + (rounded - x).detach()


@contextmanager
def tf32_convolutions(on: bool) -> Iterator[None]:
    """Every ``conv1d``/``conv2d`` (what ``nn.Conv*`` call) on TF32-rounded inputs and weights."""
    originals = {name: getattr(F, name) for name in ("conv1d", "conv2d")}

    def rounded(conv: Callable) -> Callable:
        return lambda x, weight, *a, **k: conv(to_tf32(x), to_tf32(weight), *a, **k)

    if on:
        for name, conv in originals.items():
            setattr(F, name, rounded(conv))
    try:
        yield
    finally:
        for name, conv in originals.items():
            setattr(F, name, conv)


def evaluation(problem: tuple) -> tuple[float, torch.Tensor]:
    objective, canvas = problem
    x = canvas.detach().clone().requires_grad_(True)
    total, _ = objective(x)
    total.backward()
    return float(total.detach()), x.grad.flatten()


def audio_case(corpus: Path) -> tuple[Callable, Callable]:
    """The audio CUDA test's inputs: its problem and its whole run, as functions of a content scale."""

    def excerpt(name: str, seconds: float, offset: float = 0.0) -> tuple:
        audio, sr = sf.read(corpus / name, dtype="float32", always_2d=True)
        start = int(offset * sr)
        return np.ascontiguousarray(audio[start : start + int(seconds * sr)].T), sr

    content, sr = excerpt("speech_pocketsphinx_forever_16k_mono.flac", 2.0, 0.5)
    style, style_sr = excerpt("music_sonicpi_tabla_loop_44k_stereo.flac", 2.0)
    config = audio_preset("fast", iters=10, gl_iters=16, device="cpu")

    def problem() -> tuple:
        return AudioStylist(config).problem(
            content, style, content_sr=sr, style_sr=style_sr
        )

    def run(scale: float) -> tuple[float, str]:
        result = transfer_audio(
            content * scale, style, content_sr=sr, style_sr=style_sr, config=config
        )
        m = audio_measures(content, sr, style, style_sr, result.audio, result.sr)
        return result.final_losses["total"], (
            f"style gain {m['style_gain']:.3f}, content kept {m['content_kept']:.3f}, "
            f"spectral convergence {result.spectral_convergence:.3f}"
        )

    return problem, run


def image_case(corpus: Path) -> tuple[Callable, Callable]:
    """The image CUDA test's inputs, as :func:`audio_case`."""
    cat = load_image(corpus / "photo_chelsea_cat_451x300.png").rgb
    painting = load_image(corpus / "painting_hokusai_poppies_655x449.png").rgb
    config = image_preset(
        "balanced", net="vgg16", weights=str(HED), max_size=64, iters=5, device="cpu"
    )

    def problem() -> tuple:
        return ImageStylist(config).problem(cat, painting)

    def run(scale: float) -> tuple[float, str]:
        result = transfer_image(np.clip(cat * scale, 0, 1), painting, config=config)
        m = image_measures(cat, painting, result.image / 255)
        return result.final_losses["total"], ", ".join(
            f"{name} {m[name]:.3f}"
            for name in ("palette_gain", "texture_gain", "structure_kept")
        )

    return problem, run


def main() -> None:
    corpus = shared_corpus()
    if corpus is None or not HED.exists():
        sys.exit("needs ../shared/corpus and ../shared/models/vgg16-hed")
    torch.set_num_threads(1)
    one, whole = [], []
    for name, case in (("audio", audio_case), ("image", image_case)):
        problem, run = case(corpus)
        with tf32_convolutions(False):
            loss, grad = evaluation(problem())
        with tf32_convolutions(True):
            tf32_loss, tf32_grad = evaluation(problem())
        cosine = float(F.cosine_similarity(grad, tf32_grad, dim=0))
        one.append([name, f"{abs(tf32_loss - loss) / loss:.1e}", f"{cosine:.5f}"])
        runs = [("fp32", False, 1.0), ("TF32", True, 1.0)]
        runs += [(f"content x (1 + {eps:g})", False, 1 + eps) for eps in PERTURBATIONS]
        for label, tf32, scale in runs:
            with tf32_convolutions(tf32):
                final, measures = run(scale)
            whole.append([name, label, f"{final:.3f}", measures])
            print(*whole[-1], sep="  ", flush=True)
    print("\nOne evaluation, TF32 against fp32:\n")
    print(markdown_table(["case", "loss rel. error", "gradient cosine"], one))
    print("\nWhole runs:\n")
    print(markdown_table(["case", "run", "final loss", "measures"], whole))


if __name__ == "__main__":
    main()
