"""``audiost texture``: the requested length or size, the style's statistics, not a copy of the source."""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from audiost import audio_preset, synthesize_audio, synthesize_image
from audiost.cli import main
from audiost.cli.options import parse_duration, parse_size
from audiost.errors import AudiostError
from audiost.metrics import logmel_distance, longest_replay_s, noise_floor_db

from .conftest import HED, clip, corpus_file, needs_hed

RATE = 22050


def onset_envelope(audio: np.ndarray) -> np.ndarray:
    envelope = librosa.onset.onset_strength(
        y=np.atleast_2d(audio).mean(axis=0), sr=RATE
    )
    return (envelope - envelope.mean()) / envelope.std()


@pytest.fixture(scope="module")
def tabla() -> np.ndarray:
    audio, sr = clip("music_sonicpi_tabla_loop_44k_stereo.flac", 3.0)
    return librosa.resample(audio.mean(axis=0), orig_sr=sr, target_sr=RATE)[None]


def onset_rhythm(envelope: np.ndarray, lags: int = 100) -> np.ndarray:
    """Autocorrelation of an onset envelope over ~2.3 s of lags: the rhythm, wherever it starts."""
    centred = envelope - envelope.mean()
    full = np.correlate(centred, centred, "full")[
        len(centred) - 1 : len(centred) - 1 + lags
    ]
    return full / full[0]


def test_audio_texture_has_the_style_not_its_timeline(one_thread) -> None:
    """The tabla loop's texture: its statistics, its quiet between strokes and its beat, not its timeline.

    The loop is stereo with its side 59 dB below its mid. Styled as mid and
    side, the near-silent side stalled the optimisation (rhythm terms 1.14
    after 30 iterations, beat 0.43); it is synthesised as mono and written
    to both channels.
    """
    audio, sr = clip("music_sonicpi_tabla_loop_44k_stereo.flac", 3.0)
    tabla = librosa.resample(audio, orig_sr=sr, target_sr=RATE)
    settings = {"style_sr": RATE, "iters": 60, "kernel_widths": (3, 9), "gl_iters": 32}
    result = synthesize_audio(tabla, 4.0, **settings)
    no_rhythm = synthesize_audio(tabla, 4.0, rhythm_weight=0, **settings)
    assert result.audio.shape == (2, 4 * RATE) and np.isfinite(result.audio).all()
    assert np.array_equal(result.audio[0], result.audio[1])
    assert np.sqrt(np.mean(result.audio**2)) == pytest.approx(
        np.sqrt(np.mean(tabla**2)), rel=0.05
    )
    # Statistics: far closer to the style than an unrelated recording is
    # (measured 0.10 of the distance; 0.36 when the start was noise).
    applause, asr = clip("sfx_applause_crowd_44k_mono_f32.wav", 3.0)
    unrelated = logmel_distance(
        librosa.resample(applause[0], orig_sr=asr, target_sr=RATE), tabla, RATE
    )
    assert logmel_distance(result.audio, tabla, RATE) < 0.25 * unrelated
    # Quiet between the strokes, as the loop is: the noise floor measured
    # 0.5 dB below the style's (16.4 dB above, a steady hiss, from a noise start).
    floor = noise_floor_db(result.audio, RATE) - noise_floor_db(tabla, RATE)
    assert floor < 6, floor
    # Rhythm: the loop's beat comes back (measured 0.87 against 0.37 without
    # the term), and every rhythm term fell well below its start.
    rhythm_terms = {
        k: v for k, v in result.final_losses.items() if k.startswith("rhythm")
    }
    assert rhythm_terms and max(rhythm_terms.values()) < 0.9, rhythm_terms
    source = onset_envelope(tabla)
    rhythm = np.corrcoef(
        onset_rhythm(onset_envelope(result.audio)), onset_rhythm(source)
    )[0, 1]
    rhythm_free = np.corrcoef(
        onset_rhythm(onset_envelope(no_rhythm.audio)), onset_rhythm(source)
    )[0, 1]
    assert rhythm > 0.8 and rhythm > rhythm_free + 0.3, (rhythm, rhythm_free)
    # Not a copy: a copied stretch of the source, delayed by 1 s, follows it
    # for over a second (the loop repeats itself, and a frame's nearest may
    # lie in the other repeat); the texture (which starts from the source's
    # grains of 0.1 s in random order) for about a grain (measured 0.07 s,
    # 0.14 s without rhythm).
    shifted = np.roll(np.tile(tabla, 2), RATE, axis=1)[:, : 4 * RATE]
    assert longest_replay_s(shifted, tabla, RATE) > 1.0
    assert longest_replay_s(result.audio, tabla, RATE) < 0.3
    assert longest_replay_s(no_rhythm.audio, tabla, RATE) < 0.3


def test_near_mono_is_told_from_stereo() -> None:
    """Side against mid: the tabla loop -59 dB (near mono), the djembe -13 dB and the frogs +1 dB (stereo)."""
    from audiost.audio.inputs import is_near_mono

    def near_mono(name: str) -> bool:
        return is_near_mono(clip(name, 2.0)[0])

    assert near_mono("music_sonicpi_tabla_loop_44k_stereo.flac")
    assert not near_mono("music_djembe_accompaniment_africa_44k_stereo.ogg")
    assert not near_mono("sfx_frogs_pond_thunderstorm_44k_stereo.ogg")
    mono = clip("sfx_applause_crowd_44k_mono_f32.wav", 2.0)[0]
    assert not is_near_mono(mono)
    assert is_near_mono(np.concatenate([mono, mono]))


@needs_hed
def test_image_texture_size_and_statistics(tmp_path: Path) -> None:
    gravel = corpus_file("texture_gravel_gray_512x512.png")
    output = tmp_path / "gravel_texture.png"
    short = synthesize_image(
        gravel, (72, 40), output, net="vgg16", weights=str(HED), iters=2
    )
    longer = synthesize_image(gravel, (72, 40), net="vgg16", weights=str(HED), iters=25)
    assert longer.image.shape == (40, 72, 3) and output.exists()
    assert longer.losses[-1] < 0.3 * short.losses[0]
    assert longer.image.std() > 10  # textured, not a flat fill


def test_duration_and_size_parsing() -> None:
    assert (
        parse_duration("30s") == 30
        and parse_duration("1.5m") == 90
        and parse_duration("2m30s") == 150
        and parse_duration("12") == 12
    )
    assert parse_size("640x480") == (640, 480)
    for bad in ("", "soon", "-3s", "0"):
        with pytest.raises(AudiostError):
            parse_duration(bad)
    with pytest.raises(AudiostError):
        parse_size("640")


def test_texture_command(tmp_path: Path, tabla: np.ndarray) -> None:
    style = tmp_path / "tabla.wav"
    sf.write(style, tabla.T, RATE)
    runner = CliRunner()
    out = tmp_path / "long.flac"
    result = runner.invoke(
        main,
        [
            "texture",
            str(style),
            "--duration",
            "4s",
            "-o",
            str(out),
            "--preset",
            "fast",
            "--iters",
            "5",
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    assert sf.info(out).frames == 4 * RATE
    wrong = runner.invoke(main, ["texture", str(style), "--size", "64x64", "-q"])
    assert wrong.exit_code == 2 and "--size is for image textures" in wrong.output
    short = runner.invoke(
        main,
        [
            "texture",
            str(style),
            "--duration",
            "0.01s",
            "-o",
            str(tmp_path / "x.wav"),
            "-q",
        ],
    )
    assert short.exit_code == 2 and "shorter than one analysis frame" in short.output


def test_a_replayed_stretch_is_found_at_any_offset() -> None:
    """Applause, nearly noise: a copy a fraction of a frame out of step is still found."""
    audio, sr = clip("sfx_applause_crowd_44k_mono_f32.wav", 3.0)
    applause = librosa.resample(audio[0], orig_sr=sr, target_sr=RATE)
    delay = 12345  # 24.1 frames of 512 samples
    copy = np.concatenate([applause[-delay:], applause[:-delay]])
    shuffled = np.random.default_rng(0).permutation(
        applause[: 129 * 512].reshape(129, 512)
    )
    # Measured 2.41 s of the 2.44 s copied in one piece, 0.05 s shuffled.
    assert longest_replay_s(copy, applause, RATE) > 1.2
    assert longest_replay_s(shuffled.ravel(), applause, RATE) < 0.2


def test_a_texture_starts_from_the_styles_grains_without_their_order() -> None:
    import torch

    from audiost.audio.texture import grains_in_random_order

    # Two channels whose every frame is tagged with its index (and its channel).
    style = (
        torch.arange(10.0).expand(2, 1, 3, 10)
        + torch.tensor([0.0, 100.0])[:, None, None, None]
    )
    start = grains_in_random_order(style, 25, 1, torch.Generator().manual_seed(0))
    order = start[0, 0, 0].long()
    assert start.shape == (2, 1, 3, 25)
    assert torch.equal(start[1] - 100, start[0])  # mid and side stay together
    # Each frame once per pass: two whole passes, then the start of a third.
    for first in (0, 10):
        assert sorted(order[first : first + 10].tolist()) == list(range(10))
    assert len(set(order[20:].tolist())) == 5
    assert not torch.equal(order[:10], torch.arange(10))  # not the timeline
    again = grains_in_random_order(style, 25, 1, torch.Generator().manual_seed(0))
    assert torch.equal(again, start)

    # Grains of 3: consecutive frames of the style, three grains a pass (the
    # tenth frame is spare), each pass cut at its own offset (0 or 1).
    seen_offsets, seen_orders = set(), set()
    for seed in range(20):
        order = grains_in_random_order(
            style, 25, 3, torch.Generator().manual_seed(seed)
        )[0, 0, 0].long()
        grains = order[:24].reshape(8, 3)
        assert torch.equal(grains - grains[:, :1], torch.arange(3).expand(8, 3))
        for first in (0, 3, 6):  # passes: distinct grains on one grid
            starts = grains[first : first + 3, 0]
            assert len(set(starts.tolist())) == len(starts)
            assert len({int(s) % 3 for s in starts}) == 1
            seen_offsets.add(int(starts[0]) % 3)
        seen_orders.add(tuple(order[:9].tolist()))
    assert seen_offsets == {0, 1} and len(seen_orders) > 2
    # A grain longer than the style is the whole style.
    whole = grains_in_random_order(style, 12, 50, torch.Generator().manual_seed(0))
    assert whole[0, 0, 0].long().tolist() == [*range(10), 0, 1]


def test_autocorrelation_sees_rhythm_and_ignores_length_and_level() -> None:
    import torch

    from audiost.engine import AutocorrelationLoss, autocorrelation

    beat = torch.zeros(1, 2, 400)
    beat[..., ::20] = 1.0  # a pulse every 20 frames
    curve = autocorrelation(beat, 50)[0, 0]
    assert int(curve.argmax()) + 1 == 20 and curve[19] > 0.9
    longer = torch.zeros(1, 2, 1000)
    longer[..., ::20] = 5.0  # same rhythm, louder, longer
    loss = AutocorrelationLoss(beat, 50)
    assert float(loss(beat)) == 0 and float(loss(longer)) < 0.01
    offbeat = torch.zeros(1, 2, 400)
    offbeat[..., ::13] = 1.0
    assert float(loss(offbeat)) > 0.5


def test_autocorrelation_is_the_linear_one_at_every_lag() -> None:
    """The FFT's padding is short of 2 x length: no lag may wrap around (a real recording's features)."""
    import torch

    from audiost.engine import autocorrelation

    audio, sr = clip("music_sonicpi_tabla_loop_44k_stereo.flac", 1.0)
    envelope = librosa.onset.onset_strength(y=audio.mean(axis=0), sr=sr)
    series = envelope - envelope.mean()
    length = len(series)
    for max_lag in (1, length // 2, length - 1):
        direct = np.array(
            [
                series[: length - k] @ series[k:] / (length - k)
                for k in range(max_lag + 1)
            ]
        )
        got = autocorrelation(torch.as_tensor(envelope[None, None]), max_lag)[0, 0]
        np.testing.assert_allclose(got.numpy(), direct[1:] / direct[0], atol=1e-5)


def _longest_quiet_run_s(audio: np.ndarray, sr: int, usual: np.ndarray) -> float:
    """Seconds: the longest run of frames where most bands lie 20 dB or more below ``usual`` (a style's per-band median)."""
    from audiost.media.mel import mel_power, power_to_db

    levels = power_to_db(mel_power(audio.mean(axis=0), sr, n_mels=32, hop=512))
    quiet = np.median(levels - usual[:, None], axis=0) < -20
    longest = run = 0
    for frame_is_quiet in quiet:
        run = run + 1 if frame_is_quiet else 0
        longest = max(longest, run)
    return longest * 512 / sr


def test_a_style_s_lead_in_and_tail_are_left_out_not_its_quiet_moments() -> None:
    from audiost.media.audio_io import load_audio
    from audiost.media.edges import sounding_span

    # The train: its first 0.19 s, dark above 150 Hz before the engine is heard.
    train, sr = load_audio(corpus_file("sfx_train_slowing_down_44k_stereo.ogg"))
    start, stop = sounding_span(train, sr)
    assert 0.1 < start / sr < 0.3 and (train.shape[1] - stop) / sr < 0.1
    # The tabla loop starts and ends on strokes: nothing goes, its gaps
    # between strokes included; with a second of digital silence before
    # and half a second after, just the silence goes.
    tabla, tsr = load_audio(corpus_file("music_sonicpi_tabla_loop_44k_stereo.flac"))
    assert sounding_span(tabla, tsr) == (0, tabla.shape[1])
    padded = np.pad(tabla, ((0, 0), (tsr, tsr // 2)))
    start, stop = sounding_span(padded, tsr)
    assert abs(start - tsr) < 0.03 * tsr
    assert abs(stop - (tsr + tabla.shape[1])) < 0.03 * tsr
    # Longer than both ends' windows (30 s each): each end is read alone,
    # the tail's frames placed from the file's end.
    looped = np.tile(tabla, 7)  # 75 s
    padded = np.pad(looped, ((0, 0), (2 * tsr, 3 * tsr)))
    start, stop = sounding_span(padded, tsr)
    assert abs(start - 2 * tsr) < 0.03 * tsr
    assert abs(stop - (2 * tsr + looped.shape[1])) < 0.03 * tsr


def test_a_lead_in_is_no_dropout_in_the_texture(one_thread) -> None:
    """The train's texture is one rumble: its lead-in once came back as gaps of 0.1 s in the middle."""
    from audiost.media.audio_io import load_audio
    from audiost.media.mel import mel_power, power_to_db

    train, sr = load_audio(corpus_file("sfx_train_slowing_down_44k_stereo.ogg"))
    texture = synthesize_audio(train, 5.0, style_sr=sr, config=audio_preset("fast"))
    usual = np.median(
        power_to_db(
            mel_power(train[:, sr // 4 :].mean(axis=0), sr, n_mels=32, hop=512)
        ),
        axis=1,
    )
    # Measured 0.023 s; 0.081 s with the lead-in kept (0.104 s with `balanced`).
    assert _longest_quiet_run_s(texture.audio, texture.sr, usual) < 0.05
