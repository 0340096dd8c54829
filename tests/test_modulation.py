"""A transfer's modulation term: the style's pulse (frogs' croaks, a tremolo), and the measure that hears it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audiost import AudiostError, audio_preset, synthesize_audio, transfer_audio
from audiost.audio.objective import build_network, build_objective, prepare_style
from audiost.engine.losses import AutocorrelationLoss, autocovariance
from audiost.media.audio import AudioCanvas
from audiost.memory import estimate_audio_memory
from audiost.metrics import audio_measures, modulation_distance, modulation_spectrum

from .conftest import assert_one_line_error, clip, invoke

FOLK = "music_wesnoth_traveling_minstrels_folk_44k_stereo.flac"
FROGS = "sfx_frogs_pond_thunderstorm_44k_stereo.ogg"


@pytest.fixture(scope="module")
def folk_and_frogs() -> tuple[tuple[np.ndarray, int], tuple[np.ndarray, int]]:
    """The quality table's hardest pair: a continuous ensemble, and frogs croaking about eight times a second."""
    return clip(FOLK, 3.0, 0.5), clip(FROGS, 3.0, 0.5)


def test_the_modulation_spectrum_hears_a_pulse_not_the_order_of_events() -> None:
    frogs, sr = clip(FROGS, 4.0, 0.5)
    hiss, hiss_sr = clip("sfx_vinyl_record_hiss_44k_stereo.flac", 4.0, 0.5)
    assert hiss_sr == sr
    mono, reversed_mono = frogs.mean(axis=0), frogs.mean(axis=0)[::-1].copy()
    of_frogs = modulation_spectrum(mono, sr)
    assert modulation_distance(of_frogs, of_frogs) == 0
    # Played backwards, every band pulses at the same rates: a modulation
    # spectrum is a statistic of the texture, not of its timeline.
    backwards = modulation_distance(modulation_spectrum(reversed_mono, sr), of_frogs)
    to_hiss = modulation_distance(modulation_spectrum(hiss.mean(axis=0), sr), of_frogs)
    assert backwards < 0.05 * to_hiss, (backwards, to_hiss)


@pytest.mark.usefixtures("one_thread")
def test_the_modulation_term_brings_the_styles_croaks(folk_and_frogs) -> None:
    """Without the term the frogs' band comes but not their croaks: the modulation spectrum stays the content's distance from the style's."""
    (content, content_sr), (style, style_sr) = folk_and_frogs
    measured = {}
    for weight in (0.0, 1.0):
        result = transfer_audio(
            content,
            style,
            content_sr=content_sr,
            style_sr=style_sr,
            config=audio_preset("fast", modulation_weight=weight),
        )
        assert np.isfinite(result.audio).all() and np.abs(result.audio).max() > 0.01
        measured[weight] = audio_measures(
            content, content_sr, style, style_sr, result.audio, result.sr
        )
    without, with_term = measured[0.0], measured[1.0]
    assert with_term["modulation_gain"] > without["modulation_gain"] + 0.1, (
        without,
        with_term,
    )
    # Still the style's sound, and the content's timeline rather than the style's.
    assert with_term["style_gain"] > without["style_gain"] - 0.1
    assert with_term["style_onsets_output"] < 0.3
    assert with_term["noise_floor_added_db"] < 6


def test_autocovariance_and_its_gradient_are_the_lagged_sums(folk_and_frogs) -> None:
    """The FFT route and its hand-written gradient give what the direct sums over lags give, on the frogs' band levels."""
    _, (frogs, _) = folk_and_frogs
    frames = np.abs(np.fft.rfft(frogs[0, : 256 * 200].reshape(200, 256), axis=1)).T
    series = torch.tensor(np.log1p(frames[None, :40]), requires_grad=True)
    lags = 25
    weights = torch.linspace(-1.0, 1.0, lags + 1, dtype=torch.float64)

    def direct(x: torch.Tensor) -> torch.Tensor:
        x = x - x.mean(dim=-1, keepdim=True)
        length = x.shape[-1]
        return torch.stack(
            [
                (x[..., : length - k] * x[..., k:]).sum(-1) / (length - k)
                for k in range(lags + 1)
            ],
            dim=-1,
        )

    fast = autocovariance(series, lags)
    slow = direct(series)
    torch.testing.assert_close(fast, slow)
    (grad_fast,) = torch.autograd.grad((fast * weights).sum(), series)
    (grad_slow,) = torch.autograd.grad((slow * weights).sum(), series)
    torch.testing.assert_close(grad_fast, grad_slow)
    assert grad_slow.abs().max() > 1e-3


def test_channels_the_style_leaves_silent_ask_for_nothing() -> None:
    """An 8 kHz style has no envelope above 4 kHz: what a canvas does there must not count."""
    generator = torch.Generator().manual_seed(0)
    style = torch.randn(1, 3, 200, generator=generator)
    style[:, 2] = 0.0  # a silent channel: its autocorrelation is rounding noise
    loss = AutocorrelationLoss.from_autocovariance(autocovariance(style, 10))
    assert loss.max_lag == 10 and loss.weights[0, 2, 0] == 0
    canvas = torch.randn(1, 3, 200, generator=generator, requires_grad=True)
    loss(canvas).backward()
    assert canvas.grad[:, 2].abs().max() == 0
    assert canvas.grad[:, :2].abs().max() > 0
    # Matched where it sounds: the style itself scores 0.
    assert loss(style) < 1e-6


def test_modulation_targets_blend_at_the_lags_every_style_has() -> None:
    generator = torch.Generator().manual_seed(1)
    long, short = (
        AutocorrelationLoss.from_autocovariance(
            autocovariance(torch.randn(1, 4, 300, generator=generator), lags)
        )
        for lags in (12, 5)
    )
    blend = AutocorrelationLoss.blend([long, short], [0.25, 0.75])
    assert blend.max_lag == 5
    expected = 0.25 * long.target[..., :5] + 0.75 * short.target
    assert torch.allclose(blend.target, expected)
    # A window shorter than twice the lags is matched on the lags it has room for.
    assert torch.isfinite(blend(torch.randn(1, 4, 7, generator=generator)))
    assert blend(torch.randn(1, 4, 1, generator=generator)) == 0


def test_the_term_is_built_only_when_asked_for(folk_and_frogs) -> None:
    (_, _), (style, sr) = folk_and_frogs
    canvas = AudioCanvas(sr, "cpu")
    style_canvas = canvas.encode(style.mean(axis=0, keepdims=True))[0]
    for weight, expected in ((0.0, 0), (0.5, 2)):
        cfg = audio_preset("fast", modulation_weight=weight)
        targets = prepare_style(
            cfg, build_network(cfg, canvas.stft.n_bins, sr), style_canvas, sr=sr
        )
        objective = build_objective(cfg, targets, style_canvas)
        names = [term.name for term in objective.terms]
        assert sum(name.startswith("modulation:") for name in names) == expected


def test_the_memory_estimate_counts_the_terms_feature_copies() -> None:
    """30 s of stereo, ``balanced``: the term raised the measured peak by 382 MB (3028 -> 3410 MB; the estimates 3058 and 3439)."""
    estimates = [
        estimate_audio_memory(
            audio_preset("balanced", modulation_weight=weight), 2, 30 * 44100, 44100
        )
        for weight in (0.0, 1.0)
    ]
    assert 350e6 < estimates[1] - estimates[0] < 420e6, estimates


def test_a_texture_refuses_the_modulation_weight(folk_and_frogs) -> None:
    (_, _), (style, sr) = folk_and_frogs
    with pytest.raises(AudiostError, match="modulation_weight is for transfers"):
        synthesize_audio(
            style, 1.0, style_sr=sr, config=audio_preset("fast", modulation_weight=1)
        )


@pytest.mark.usefixtures("one_thread")
def test_the_cli_records_the_setting_and_reports_the_measure(
    tmp_path: Path, folk_and_frogs
) -> None:
    (content, content_sr), (style, style_sr) = folk_and_frogs
    sf.write(tmp_path / "folk.wav", content[:, :content_sr].T, content_sr)
    sf.write(tmp_path / "frogs.wav", style.T, style_sr)
    for extra in ((), ("--morph",)):
        styles = [tmp_path / "frogs.wav"] * (2 if extra else 1)
        output = tmp_path / f"out{len(extra)}.wav"
        result = invoke(
            "transfer",
            tmp_path / "folk.wav",
            *styles,
            *extra,
            "--preset",
            "fast",
            "--iters",
            "5",
            "--modulation-weight",
            "0.5",
            "-o",
            output,
            "-q",
            "--json",
        )
        assert result.exit_code == 0, result.output
        record = json.loads(result.stdout)
        assert record["settings"]["modulation_weight"] == 0.5
        assert np.isfinite(record["measures"]["modulation_gain"])
    info = invoke("info", tmp_path / "out0.wav")
    assert "modulation_weight = 0.5" in info.stdout
    # The record serves a texture too, without the transfer's own setting.
    texture = invoke(
        "texture",
        tmp_path / "frogs.wav",
        "--recipe",
        tmp_path / "out0.wav",
        "--duration",
        "1s",
        "-o",
        tmp_path / "texture.wav",
        "-q",
    )
    assert texture.exit_code == 0, texture.output
    assert "modulation_weight = 0" in invoke("info", tmp_path / "texture.wav").stdout
    # A recipe that asks a texture for it is refused, by name.
    recipe = tmp_path / "pulse.toml"
    recipe.write_text("[audio]\nmodulation_weight = 1\n")
    refused = invoke(
        "texture", tmp_path / "frogs.wav", "--recipe", recipe, "-o", tmp_path / "t.wav"
    )
    assert_one_line_error(
        refused, "pulse.toml: sets modulation_weight", "remove it from the recipe"
    )
