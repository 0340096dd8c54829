"""Seamless textures: a sound that loops and a picture that tiles without a seam."""

from __future__ import annotations

import json
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf
import torch

from audiost import audio_preset, synthesize_audio, synthesize_image
from audiost.engine.losses import TotalVariationLoss
from audiost.features.spectral_conv import BandedSpectralConv
from audiost.features.vgg import VGG
from audiost.image.scales import upsample
from audiost.image_metrics import tile_seam
from audiost.media.stft import Stft
from audiost.metrics import logmel_distance, loop_seam

from .conftest import HED, assert_one_line_error, clip, invoke, needs_hed

RATE = 22050


@pytest.fixture(scope="module")
def drone() -> np.ndarray:
    """3 s of the didgeridoo at 22.05 kHz: a continuous sound, where a cut clicks loudest."""
    audio, sr = clip("music_didgeridoo_australia_44k_mono.ogg", 3.0, offset=2.0)
    return librosa.resample(audio, orig_sr=sr, target_sr=RATE)


def test_a_circular_stft_turns_with_its_signal_and_inverts_exactly() -> None:
    stft = Stft.for_rate(RATE, circular=True)
    length = stft.loop_length(RATE)
    assert length % stft.hop == 0 and abs(length - RATE) <= stft.hop // 2
    wave = torch.randn(2, length, generator=torch.Generator().manual_seed(0))
    frames = stft.forward(wave)
    assert frames.shape[-1] == stft.frame_count(length) == length // stft.hop
    assert torch.allclose(stft.inverse(frames, length), wave, atol=1e-5)
    # Turning the signal by a hop turns its frames by one: no frame is an edge.
    turned = stft.forward(torch.roll(wave, stft.hop, dims=-1))
    assert torch.allclose(turned, torch.roll(frames, 1, dims=-1), atol=1e-4)
    # Frames across the end read the start, from a window or the whole.
    last = frames.shape[-1]
    across = stft.frames(wave, last - 2, last + 2)
    assert torch.allclose(across, frames[..., [last - 2, last - 1, 0, 1]], atol=1e-4)
    first, stop, pad = stft.samples_read(0, last, length)
    assert torch.allclose(stft.frames_of(wave[..., first:stop], pad), frames)
    # Away from the ends, the frames are the ordinary STFT's.
    plain = Stft.for_rate(RATE).forward(wave)
    assert torch.allclose(plain[..., 4 : last - 4], frames[..., 4:-4], atol=1e-4)
    with pytest.raises(ValueError, match="all at once"):
        stft.samples_read(0, 3, length)


def test_loop_seam_hears_a_cut_not_a_continuation(drone: np.ndarray) -> None:
    """A recording cut out of a longer one clicks where its end meets its start; turned half round, its seam is a moment of the recording."""
    # Measured 89 and 1.3.
    assert loop_seam(drone, RATE) > 20
    assert loop_seam(np.roll(drone, -drone.shape[1] // 2, axis=1), RATE) < 2


def test_a_seamless_texture_loops_without_a_click(
    one_thread: None, drone: np.ndarray
) -> None:
    settings = {"style_sr": RATE, "config": audio_preset("fast")}
    plain = synthesize_audio(drone, 2.0, **settings)
    loop = synthesize_audio(drone, 2.0, seamless=True, **settings)
    hop = Stft.for_rate(RATE).hop
    assert loop.audio.shape[1] % hop == 0 and abs(loop.audio.shape[1] - 2 * RATE) < hop
    assert np.isfinite(loop.audio).all() and np.abs(loop.audio).max() > 0.01
    # Measured 12.8 against 1.16 (seeds 1 to 3: 28 to 376 against 0.6 to 0.9).
    assert loop_seam(plain.audio, RATE) > 5
    assert loop_seam(loop.audio, RATE) < 2
    # Still the style's texture: 0.51 dB from it (plain textures of seeds 0
    # to 3: 0.31 to 0.94 dB, loops 0.44 to 0.72; the applause is 20 dB away).
    assert logmel_distance(loop.audio, drone, RATE) < 1.2


def test_wrapped_features_and_smoothing_are_the_same_wherever_the_seam_is() -> None:
    canvas = torch.rand(1, 1, 129, 40, generator=torch.Generator().manual_seed(1))
    network = BandedSpectralConv(129, RATE, widths=(3, 7)).pad_edges("circular")
    turned = torch.roll(canvas, 9, dims=-1)
    for name, features in network(canvas, network.layer_names).items():
        rolled = torch.roll(features, 9, dims=-1)
        assert torch.allclose(network(turned, [name])[name], rolled, atol=1e-5)
    network.pad_edges("zeros")
    zero_padded = network(canvas, ["conv7"])["conv7"]
    assert not torch.allclose(
        network(turned, ["conv7"])["conv7"], torch.roll(zero_padded, 9, dims=-1)
    )
    picture = torch.rand(1, 3, 32, 48, generator=torch.Generator().manual_seed(2))
    vgg = VGG("vgg16", "random", seed=0).pad_edges("circular")
    moved = torch.roll(picture, (16, 8), dims=(-2, -1))
    deep = vgg(picture, ["conv4_1"])["conv4_1"]
    assert torch.allclose(
        vgg(moved, ["conv4_1"])["conv4_1"],
        torch.roll(deep, (2, 1), dims=(-2, -1)),
        atol=1e-4,
    )
    smoothing = TotalVariationLoss(picture, wrap=True)
    assert torch.isclose(smoothing(picture), smoothing(moved))
    # Coarse to fine: the next scale's start wraps too, and inside it is
    # the ordinary bicubic.
    larger = upsample(picture, (96, 64), wrap=True)
    assert torch.allclose(
        upsample(moved, (96, 64), wrap=True),
        torch.roll(larger, (32, 16), dims=(-2, -1)),
        atol=1e-5,
    )
    plain = upsample(picture, (96, 64))
    assert torch.allclose(larger[..., 4:-4, 4:-4], plain[..., 4:-4, 4:-4], atol=1e-5)
    assert not torch.allclose(larger, plain, atol=1e-2)


@needs_hed
def test_a_seamless_image_texture_tiles(one_thread: None) -> None:
    """Hokusai's poppies at 96 px: copies of the texture meet like neighbouring pixels."""
    from .conftest import corpus_file

    style = corpus_file("painting_hokusai_poppies_655x449.png")
    settings = {"net": "vgg16", "weights": str(HED), "iters": 40}
    plain = synthesize_image(style, (96, 96), **settings)
    tile = synthesize_image(style, (96, 96), seamless=True, **settings)
    # Measured 1.11 against 0.97 (256 px, fast: 1.29 against 1.10; the
    # mossy log 1.31 against 1.03).
    assert tile_seam(plain.image / 255) > 1.06
    assert tile_seam(tile.image / 255) < 1.02
    assert tile.image.std() > 10 and tile.losses[-1] < 0.5 * tile.losses[0]


def test_the_texture_command_makes_loops_and_says_how_they_join(
    tmp_path: Path, drone: np.ndarray
) -> None:
    style = tmp_path / "drone.wav"
    sf.write(style, drone.T, RATE)
    loop = tmp_path / "loop.wav"
    result = invoke(
        "texture", style, "--seamless", "--duration", "1s", "--preset", "fast",
        "--iters", "5", "--wave-iters", "5", "-o", loop, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    measures = json.loads(result.stdout)["measures"]
    assert measures["loop_seam"] < 2 and sf.info(loop).frames % 256 == 0
    # A transfer reuses the loop's settings, all but seamless itself.
    again = invoke(
        "transfer", style, style, "--recipe", loop, "--iters", "2",
        "--wave-iters", "0", "-o", tmp_path / "t.wav", "-q",
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    assert "seamless = false" in invoke("info", tmp_path / "t.wav").stdout
    mp3 = invoke(
        "texture", style, "--seamless", "--duration", "1s", "--preset", "fast",
        "--iters", "2", "--wave-iters", "0", "-o", tmp_path / "loop.mp3",
    )  # fmt: skip
    assert mp3.exit_code == 0 and "MP3 does not keep a loop seamless" in mp3.stderr
    vgg = invoke(
        "texture", style, "--seamless", "--net", "vgg16", "-o", tmp_path / "v.wav"
    )
    assert_one_line_error(vgg, "needs the spectral-conv network")
    assert invoke("transfer", style, style, "--seamless").exit_code == 2
    recipe = tmp_path / "loops.toml"
    recipe.write_text("[audio]\nseamless = true\n")
    batch = invoke(
        "batch", style, "--style", style, "--recipe", recipe, "-o", tmp_path / "b"
    )
    assert_one_line_error(batch, "audio.seamless", "remove it from the recipe")
    single = invoke(
        "transfer", style, style, "--recipe", recipe, "-o", tmp_path / "s.wav"
    )
    assert_one_line_error(
        single, "loops.toml: sets seamless", "remove it from the recipe"
    )


@needs_hed
def test_a_seamless_picture_is_made_in_one_piece(tmp_path: Path) -> None:
    from .conftest import corpus_file

    tiled = invoke(
        "texture", corpus_file("texture_gravel_gray_512x512.png"), "--seamless",
        "--net", "vgg16", "--weights", HED, "--size", "256x256", "--max-memory", "400M",
        "-o", tmp_path / "g.png",
    )  # fmt: skip
    assert_one_line_error(
        tiled, "made in one piece", "smaller --size", workdir=tmp_path
    )
    # The smallest picture: its deepest layers are a pixel wide.
    tiny = synthesize_image(
        corpus_file("texture_gravel_gray_512x512.png"), (16, 16),
        net="vgg16", weights=str(HED), iters=2, seamless=True,
    )  # fmt: skip
    assert tiny.image.shape == (16, 16, 3)
