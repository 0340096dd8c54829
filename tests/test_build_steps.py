"""The stylists' public build steps hand out exactly what their transfers optimise.

Benchmarks and custom loops time and drive ``stylist.problem(...)``; if it
drifted from the pipeline, they would measure something users never run.
Optimising the problem's objective from its start must give the transfer's
own final losses, term by term.
"""

from __future__ import annotations

import math

import pytest
import torch

from audiost import AudioStylist, ImageStylist, audio_preset, image_preset
from audiost.engine import optimise_with

from .conftest import CORPUS, HED, clip, corpus_file, needs_hed

pytestmark = pytest.mark.usefixtures("one_thread")


def assert_same_losses(built: dict[str, float], transferred: dict[str, float]) -> None:
    assert built.keys() == transferred.keys()
    for name, value in transferred.items():
        assert math.isfinite(value)
        assert built[name] == pytest.approx(value, rel=1e-4, abs=1e-7), name


def test_audio_problem_is_what_the_transfer_optimises() -> None:
    content, sr = clip("speech_pocketsphinx_forever_16k_mono.flac", 1.5, 0.5)
    style = corpus_file("music_sonicpi_tabla_loop_44k_stereo.flac")
    # No waveform stage: its final losses are the written audio's, and the
    # problem is the canvas stage's.
    stylist = AudioStylist(audio_preset("fast", iters=6, gl_iters=2, wave_iters=0))
    objective, start = stylist.problem(content, style, content_sr=sr)
    # The style is stereo and the content mono: the canvas has the content's one
    # channel at the higher (style's) rate.
    assert start.shape[:2] == (1, 1) and torch.isfinite(start).all()
    built = optimise_with(stylist.config, objective, start, min_value=0.0)
    result = stylist.transfer(content, style, content_sr=sr)
    assert result.sr == 44100
    assert built.parts["total"] < objective(start)[0].item()
    assert_same_losses(built.parts, result.final_losses)


@needs_hed
def test_image_problem_is_what_the_transfer_optimises() -> None:
    cat = CORPUS / "photo_chelsea_cat_451x300.png"
    painting = CORPUS / "painting_hokusai_poppies_655x449.png"
    config = image_preset(
        "balanced",
        net="vgg16",
        weights=str(HED),
        max_size=64,
        start_size=0,  # one pass: the problem is the whole transfer
        iters=5,
    )
    stylist = ImageStylist(config)
    objective, start = stylist.problem(cat, painting)
    assert start.shape == (1, 3, 43, 64)
    built = optimise_with(config, objective, start, min_value=0.0, max_value=1.0)
    result = stylist.transfer(cat, painting)
    assert built.parts["total"] < objective(start)[0].item()
    assert_same_losses(built.parts, result.final_losses)
