"""A long style: read and analysed a block at a time (for transfers and textures), with the whole style's statistics, in memory the estimate foresees."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import audiost
from audiost.audio.objective import ANALYSIS_COSTS, ANALYSIS_STEPS, build_network
from audiost.engine import (
    EnvelopeLoss,
    GramLoss,
    LevelDistributionLoss,
    MeanStdLoss,
    autocorrelation,
    gram_matrix,
    mean_std,
)
from audiost.engine import blocks as engine_blocks
from audiost.engine.blocks import autocorrelations_in_blocks, statistics_in_blocks
from audiost.engine.parts import Fraction, Parts
from audiost.errors import AudiostError
from audiost.features import VGG, AffineInput
from audiost.media import audio as media_audio
from audiost.media.audio import AudioCanvas
from audiost.media.stereo import mid_side
from audiost.memory import estimate_audio_memory
from audiost.metrics import audio_measures

from .conftest import clip, corpus_file, invoke

FOLK = "music_wesnoth_traveling_minstrels_folk_44k_stereo.flac"


@pytest.fixture(scope="module")
def folk_canvas() -> tuple[torch.Tensor, int]:
    """10 s of a stereo folk song as mid and side: 862 frames."""
    wave, sr = clip(FOLK, 10.0)
    return AudioCanvas(sr).encode_canvas(mid_side(wave)), sr


def _seen_by_the_network(
    canvas: torch.Tensor, sr: int, preset: str
) -> tuple[AffineInput, list[str], dict[str, torch.Tensor]]:
    """The preset's network centred on ``canvas`` (as a style sees it), its style layers, and their features of the whole canvas."""
    network = AffineInput(
        build_network(audiost.audio_preset(preset), canvas.shape[-2], sr),
        shift=canvas.mean(dim=(1, 3), keepdim=True),
    )
    layers = list(network.style_layers)
    with torch.no_grad():
        return network, layers, network(canvas, layers)


def test_the_canvas_made_in_blocks_is_the_encoded_one(monkeypatch) -> None:
    wave, sr = clip(FOLK, 4.0)
    audio_canvas = AudioCanvas(sr)
    whole = audio_canvas.encode(wave)[0]
    monkeypatch.setattr(
        media_audio, "_ENCODE_BLOCK", 37
    )  # blocks that end mid-frame-hop
    assert torch.equal(audio_canvas.encode_canvas(wave), whole)


@pytest.mark.parametrize("loss", [GramLoss, MeanStdLoss])
def test_statistics_in_blocks_are_the_whole_canvas_s(
    folk_canvas, loss, monkeypatch
) -> None:
    """Blocks of 100 frames, read with the widest kernel's context: the style's statistics, not a blend of pieces."""
    canvas, sr = folk_canvas
    network, layers, features = _seen_by_the_network(canvas, sr, "balanced")
    blocked = statistics_in_blocks(network, canvas, dict.fromkeys(layers, loss), 100)
    for name in layers:
        whole = (
            gram_matrix(features[name], network.groups)
            if loss is GramLoss
            else mean_std(features[name])
        )
        assert blocked[name].shape == whole.shape
        torch.testing.assert_close(blocked[name], whole, rtol=1e-5, atol=1e-6)
    # Without the context, the blocks' edges would read zeros: measurably another statistic.
    monkeypatch.setattr(network, "time_context", 0)
    edged = statistics_in_blocks(network, canvas, dict.fromkeys(layers, loss), 100)
    widest = layers[-1]
    assert not torch.allclose(edged[widest], blocked[widest], rtol=1e-4, atol=1e-5)


def test_a_texture_s_rhythm_in_blocks_is_the_whole_canvas_s(folk_canvas) -> None:
    """Blocks shorter than the lags (100 frames, 129 lags): each block correlated with the frames after it, centred at the end."""
    canvas, sr = folk_canvas
    network, layers, features = _seen_by_the_network(canvas, sr, "fast")
    for block in (100, 300, None):
        got = autocorrelations_in_blocks(network, canvas, layers, 129, block)
        for name in layers:
            whole = autocorrelation(features[name], 129)
            torch.testing.assert_close(got[name], whole, rtol=1e-4, atol=1e-6)
            assert whole[..., 0].abs().mean() > 0.1  # a real curve, not zeros


def test_a_network_without_time_context_sees_the_canvas_whole(folk_canvas) -> None:
    """A VGG pools across the canvas: no blocks, whatever the block size."""
    canvas, _ = folk_canvas
    network = AffineInput(VGG("vgg16", "random", seed=0), 1 / 12)
    assert network.time_context is None
    part = canvas[..., :200]
    with torch.no_grad():
        features = network(part, ["conv2_1"])
    got = statistics_in_blocks(network, part, {"conv2_1": GramLoss}, 16)
    torch.testing.assert_close(
        got["conv2_1"], gram_matrix(features["conv2_1"]), rtol=1e-5, atol=1e-7
    )
    rhythm = autocorrelations_in_blocks(network, part, ["conv2_1"], 20, 16)
    torch.testing.assert_close(
        rhythm["conv2_1"], autocorrelation(features["conv2_1"], 20)
    )


def test_a_long_style_keeps_its_level_distribution_at_bounded_ranks(
    folk_canvas, monkeypatch
) -> None:
    """Kept at RANKS quantiles per bin, the style's distribution still scores a canvas as the whole sort does."""
    canvas, _ = folk_canvas
    exact = LevelDistributionLoss(canvas)
    assert exact.sorted_target.shape[-1] == canvas.shape[-1]  # under RANKS: every frame
    torch.testing.assert_close(exact.sorted_target, canvas.sort(dim=-1).values)
    monkeypatch.setattr(LevelDistributionLoss, "RANKS", 128)
    bounded = LevelDistributionLoss(canvas)
    assert bounded.sorted_target.shape[-1] == 128
    assert bounded.scale == exact.scale
    # A 3 s content section styled against both: the same loss to 1 %.
    trial = canvas[..., :258] * 0.8 + 0.3
    assert float(bounded(trial)) == pytest.approx(float(exact(trial)), rel=0.01)
    assert float(bounded(trial)) > 0.05  # a real distance, not two zeros


def test_the_spectral_envelope_in_blocks_of_bins_is_the_whole_one(folk_canvas) -> None:
    canvas, _ = folk_canvas
    loss = EnvelopeLoss(canvas, "frequency")
    torch.testing.assert_close(loss.target, loss.envelope(canvas))
    assert loss.target.shape == canvas.shape[:-1]


def test_a_style_analysed_in_blocks_gives_the_same_transfer(monkeypatch) -> None:
    """A 10 s style in blocks of 50 frames: the targets and the styled result are those of one block."""
    content, content_sr = clip(
        "speech_pocketsphinx_playing_cards_16k_mono_s24.wav", 2.0
    )
    style, sr = clip(FOLK, 10.0)
    cfg = audiost.audio_preset("fast", iters=8, wave_iters=0, gl_iters=8)
    kwargs = {"content_sr": content_sr, "style_sr": sr, "config": cfg}
    whole = audiost.transfer_audio(content, style, **kwargs)
    monkeypatch.setattr(engine_blocks, "BLOCK_FRAMES", 50)
    blocked = audiost.transfer_audio(content, style, **kwargs)
    assert np.abs(blocked.audio - whole.audio).max() < 1e-3 * np.abs(whole.audio).max()
    measures = audio_measures(content, content_sr, style, sr, blocked.audio, blocked.sr)
    assert measures["style_gain"] > 0.5 and measures["content_kept"] > 0.5


def _looped(path: Path, name: str, seconds: float, rate: int) -> Path:
    """A corpus recording looped to ``seconds``, written at ``rate``: a long style from real sound."""
    import librosa

    wave, sr = sf.read(corpus_file(name), dtype="float32")
    wave = librosa.resample(wave.T, orig_sr=sr, target_sr=rate).T
    reps = int(np.ceil(seconds * rate / len(wave)))
    sf.write(path, np.concatenate([wave] * reps)[: int(seconds * rate)], rate)
    return path


def _long_style(folder: Path, rate: int = 8000) -> Path:
    """Hold music looped to 125 s: a style over two minutes."""
    return _looped(
        folder / "long.wav",
        "music_hold_music_manolo_camp_morning_coffee_8k_mono_s16.wav",
        125,
        rate,
    )


def _advanced_parts(monkeypatch) -> set[tuple[str, int]]:
    """The keys of every :class:`Parts` part that reports progress from now on."""
    advanced: set[tuple[str, int]] = set()
    part = Parts.part

    def spied(parts: Parts, key: tuple[str, int]) -> Fraction | None:
        advance = part(parts, key)
        return lambda fraction: (advanced.add(key), advance(fraction))

    monkeypatch.setattr(Parts, "part", spied)
    return advanced


def test_a_long_style_s_analysis_shows_its_progress_and_is_counted_up_front(
    tmp_path, monkeypatch
) -> None:
    """Two minutes of style (and a short second one): the analysis reports its fraction done, block by block, in order, to 1; a reused style reports nothing; the command shows it as a bar; the estimate grows with the style."""
    style = _long_style(tmp_path)
    content = _looped(
        tmp_path / "voice.wav",
        "speech_ivr_allison_voicemail_options_8k_mono_s16.wav",
        2,
        8000,
    )
    monkeypatch.setattr(engine_blocks, "BLOCK_FRAMES", 256)
    stylist = audiost.AudioStylist(
        audiost.audio_preset("fast", iters=1, wave_iters=0, gl_iters=2)
    )
    advanced = _advanced_parts(monkeypatch)
    heard: list[float] = []
    stylist.transfer(content, [style, content], on_style=heard.append)
    assert heard == sorted(heard) and heard[0] < 0.05 and heard[-1] == 1.0, heard
    # Every step of both styles advanced it.
    assert advanced == {(step, i) for step in ANALYSIS_STEPS for i in (0, 1)}
    monkeypatch.undo()
    again: list[float] = []
    stylist.transfer(content, [style, content], on_style=again.append)
    assert again == []
    # An array is read at once: its reading step is heard done all the same.
    wave, sr = sf.read(style, dtype="float32")
    from_array: list[float] = []
    stylist.transfer(content, wave, style_sr=sr, on_style=from_array.append)
    read_share = ANALYSIS_COSTS["read"] / sum(ANALYSIS_COSTS[s] for s in ANALYSIS_STEPS)
    assert from_array[0] == pytest.approx(read_share) and from_array[-1] == 1.0

    monkeypatch.setattr("audiost.progress._ANALYSIS_DELAY_S", 0.0)
    run = ["--iters", "1", "--wave-iters", "0", "--gl-iters", "2"]
    shown = invoke("transfer", content, style, "-o", tmp_path / "o1.wav", *run)
    assert shown.exit_code == 0, shown.output
    assert "analysing the style: 100%" in shown.stderr
    quiet = invoke("transfer", content, style, "-o", tmp_path / "o2.wav", "-q", *run)
    assert quiet.exit_code == 0 and "analysing" not in quiet.stderr

    cfg = audiost.audio_preset("balanced")
    run_alone = estimate_audio_memory(cfg, 1, 2 * 8000, 8000)
    minutes = [
        estimate_audio_memory(cfg, 1, 2 * 8000, 8000, [(60 * m, 2, 44100)])
        for m in (10, 20)
    ]
    assert run_alone < minutes[0] < minutes[1]
    # Twice the style, about twice what it adds.
    assert minutes[1] - run_alone == pytest.approx(
        2 * (minutes[0] - run_alone), rel=0.1
    )


def test_a_style_too_long_for_the_memory_names_a_length_that_fits(tmp_path) -> None:
    style = _long_style(tmp_path, 44100)
    content, sr = clip("speech_pocketsphinx_playing_cards_16k_mono_s24.wav", 1.0)
    cfg = audiost.audio_preset("fast")
    run = estimate_audio_memory(cfg, 1, sr, 44100)
    with_style = estimate_audio_memory(cfg, 1, sr, 44100, [(125.0, 1, 44100)])
    assert with_style > run
    limit = (run + with_style) // 2
    with pytest.raises(AudiostError, match=r"cutting the style to \d+ s"):
        audiost.transfer_audio(
            content, style, content_sr=sr, config=cfg.replace(max_memory=str(limit))
        )


def test_sums_are_float64_except_on_apple_gpus_and_float32_sums_hold(
    folk_canvas, monkeypatch
) -> None:
    """MPS has no float64: there the blocks' sums are float32, still the whole canvas's statistics."""
    assert engine_blocks.wide_dtype(torch.device("mps")) == torch.float32
    assert engine_blocks.wide_dtype(torch.device("cpu")) == torch.float64
    canvas, sr = folk_canvas
    network, layers, features = _seen_by_the_network(canvas, sr, "fast")
    monkeypatch.setattr(engine_blocks, "wide_dtype", lambda device: torch.float32)
    grams = statistics_in_blocks(network, canvas, dict.fromkeys(layers, GramLoss), 100)
    rhythms = autocorrelations_in_blocks(network, canvas, layers, 129, 100)
    for name in layers:
        torch.testing.assert_close(
            grams[name],
            gram_matrix(features[name], network.groups),
            rtol=1e-4,
            atol=1e-5,
        )
        torch.testing.assert_close(
            rhythms[name], autocorrelation(features[name], 129), rtol=1e-3, atol=1e-4
        )


def test_a_long_style_s_texture_is_capped_unless_asked_and_shows_its_analysis(
    tmp_path, monkeypatch
) -> None:
    """Without ``--duration`` a 125 s style makes a 30 s texture (said); the analysis's bar covers the rhythm step too."""
    style = _long_style(tmp_path)
    monkeypatch.setattr("audiost.progress._ANALYSIS_DELAY_S", 0.0)
    out = tmp_path / "texture.wav"
    run = ["--preset", "fast", "--iters", "1", "--wave-iters", "0", "--gl-iters", "2"]
    result = invoke("texture", style, "-o", out, *run)
    assert result.exit_code == 0, result.output
    assert f"{style}: a texture of 30 s from 125 s of style" in result.stderr
    assert "analysing the style: 100%" in result.stderr
    assert sf.info(out).duration == pytest.approx(30.0, abs=0.01)
    advanced = _advanced_parts(monkeypatch)
    heard: list[float] = []
    audiost.synthesize_audio(
        style, 2.0, config=audiost.audio_preset("fast", iters=1, wave_iters=0),
        on_style=heard.append,
    )  # fmt: skip
    assert heard == sorted(heard) and heard[-1] == 1.0
    assert advanced == {(step, 0) for step in (*ANALYSIS_STEPS, "rhythm")}
