"""A sound designer's loop: audition an excerpt with a dry/wet mix, deliver at the right level and format.

``--start``/``--duration`` style a slice of a long take (read from there,
not decoded whole), ``--mix`` blends the styled result with the dry content,
``--loudness`` matches the content's BS.1770 loudness (or RMS) under a
ceiling, and the output's extension and ``--bit-depth`` choose the file.
"""

from __future__ import annotations

import math
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf

from audiost import AudiostError, audio_preset, synthesize_audio, transfer_audio
from audiost.media.audio_io import load_audio, resample
from audiost.media.loudness import integrated_loudness, rms, true_peak

from .conftest import assert_one_line_error, corpus_file, invoke

pytestmark = pytest.mark.usefixtures("one_thread")

SPEECH = "speech_librivox_austen_sense_and_sensibility_part2_16k_mono_s16.wav"
MUSIC = "music_mariachi_mexico_44k_mono.mp3"
QUICK = audio_preset("fast", iters=8, gl_iters=8)


def onsets(audio: np.ndarray, sr: int) -> np.ndarray:
    return librosa.onset.onset_strength(y=audio.mean(axis=0), sr=sr)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    n = min(a.size, b.size)
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


@pytest.fixture(scope="module")
def speech() -> Path:
    return corpus_file(SPEECH)


@pytest.fixture(scope="module")
def music() -> Path:
    return corpus_file(MUSIC)


# ------------------------------------------------------------------ excerpt


@pytest.mark.parametrize(
    "name",
    [SPEECH, "music_wesnoth_traveling_minstrels_folk_44k_stereo.flac"],
)
def test_an_excerpt_is_the_same_samples_as_a_slice_of_the_whole(name: str) -> None:
    whole, sr = load_audio(corpus_file(name))
    part, part_sr = load_audio(corpus_file(name), start=2.5, duration=1.25)
    first = round(2.5 * sr)
    assert part_sr == sr
    np.testing.assert_array_equal(part, whole[:, first : first + round(1.25 * sr)])


@pytest.mark.parametrize(
    "name", [MUSIC, "music_didgeridoo_australia_44k_mono.ogg"], ids=["mp3", "ogg"]
)
def test_a_compressed_file_is_excerpted_at_the_right_place(name: str) -> None:
    whole, sr = load_audio(corpus_file(name), duration=6.0)
    part, _ = load_audio(corpus_file(name), start=3.0, duration=2.0)
    assert part.shape[1] == 2 * sr
    # Decoders may start a few samples apart after a seek: compare envelopes.
    assert correlation(onsets(part, sr), onsets(whole[:, 3 * sr : 5 * sr], sr)) > 0.9


def test_the_styled_excerpt_follows_that_part_of_the_content(speech, music) -> None:
    result = transfer_audio(speech, music, config=QUICK, start=4.0, duration=3.0)
    assert result.audio.shape[1] == 3 * result.sr
    content, sr = load_audio(speech)
    excerpt = resample(content[:, 4 * sr : 7 * sr], sr, result.sr)
    other = resample(content[:, : 3 * sr], sr, result.sr)
    mine = onsets(result.audio, result.sr)
    assert correlation(mine, onsets(excerpt, result.sr)) > 0.6
    assert (
        correlation(mine, onsets(excerpt, result.sr))
        > correlation(mine, onsets(other, result.sr)) + 0.3
    )


def test_an_excerpt_of_an_array_is_cut_from_it(music) -> None:
    content, sr = load_audio(corpus_file(SPEECH), duration=6.0)
    whole = transfer_audio(content, music, content_sr=sr, config=QUICK, duration=2.0)
    assert whole.audio.shape[1] == 2 * whole.sr
    with pytest.raises(AudiostError, match="at or past the end"):
        transfer_audio(content, music, content_sr=sr, config=QUICK, start=6.0)


# ---------------------------------------------------------------------- mix


def test_mix_blends_the_dry_content_back(speech, music) -> None:
    runs = {
        mix: transfer_audio(
            speech, music, config=QUICK, duration=3.0, mix=mix, loudness="rms"
        )
        for mix in (0.0, 0.5, 1.0)
    }
    content, sr = load_audio(speech, duration=3.0)
    dry = resample(content, sr, runs[0.0].sr)
    kept = {mix: correlation(r.audio[0], dry[0]) for mix, r in runs.items()}
    assert kept[0.0] > 0.999  # all dry: the content itself
    assert kept[1.0] < kept[0.5] < kept[0.0]
    # Every blend sits at the content's level, not at a sum of two.
    for result in runs.values():
        assert rms(result.audio) == pytest.approx(rms(dry), rel=0.15)


def test_a_texture_has_nothing_to_mix_with(music) -> None:
    with pytest.raises(AudiostError, match="no content to blend"):
        synthesize_audio(music, 1.0, config=QUICK, mix=0.5)


# ----------------------------------------------------------------- loudness


def test_lufs_matches_the_contents_integrated_loudness_under_minus_1_dbtp(
    speech, music
) -> None:
    result = transfer_audio(speech, music, config=QUICK, duration=4.0)
    assert result.config.loudness == "lufs"  # the default
    content, sr = load_audio(speech, duration=4.0)
    want = integrated_loudness(resample(content, sr, result.sr), result.sr)
    have = integrated_loudness(result.audio, result.sr)
    peak_db = 20 * math.log10(true_peak(result.audio))
    assert peak_db <= -1.0 + 0.05
    # Equal unless the true-peak ceiling had to turn it down.
    assert have == pytest.approx(want, abs=0.3) or (have < want and peak_db > -1.1)


def test_rms_and_none_do_what_they_say(speech, music) -> None:
    content, sr = load_audio(speech, duration=3.0)
    outputs = {
        method: transfer_audio(
            speech, music, config=QUICK, duration=3.0, loudness=method
        )
        for method in ("rms", "none")
    }
    dry = resample(content, sr, outputs["rms"].sr)
    assert rms(outputs["rms"].audio) == pytest.approx(rms(dry), rel=0.01)
    # As reconstructed: the same sound at another level.
    ratio = rms(outputs["none"].audio) / rms(outputs["rms"].audio)
    assert abs(20 * math.log10(ratio)) > 0.5
    np.testing.assert_allclose(
        outputs["none"].audio / ratio, outputs["rms"].audio, atol=1e-4
    )


# ------------------------------------------------------------ files written


@pytest.mark.parametrize(
    ("suffix", "bit_depth", "file_format", "subtype"),
    [
        (".wav", "16", "WAV", "PCM_16"),
        (".wav", "32f", "WAV", "FLOAT"),
        (".flac", "24", "FLAC", "PCM_24"),
        (".aiff", "24", "AIFF", "PCM_24"),
        (".ogg", "24", "OGG", "VORBIS"),
        (".mp3", "24", "MP3", "MPEG_LAYER_III"),
    ],
)
def test_the_extension_and_bit_depth_choose_the_file(
    tmp_path, speech, music, suffix, bit_depth, file_format, subtype
) -> None:
    out = tmp_path / f"out{suffix}"
    result = invoke(
        "transfer", speech, music, "-o", out, "--preset", "fast", "--iters", "3",
        "--gl-iters", "4", "--duration", "1.5s", "--bit-depth", bit_depth, "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    info = sf.info(out)
    assert (info.format, info.subtype) == (file_format, subtype)
    audio, sr = load_audio(out)
    assert audio.shape[1] == pytest.approx(1.5 * sr, abs=0.01 * sr)
    assert np.isfinite(audio).all() and rms(audio) > 1e-3


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["-o", "{out}.flac", "--bit-depth", "32f"], ["FLAC cannot hold 32-bit float"]),
        (["-o", "{out}.mp3", "--sample-rate", "96000"], ["MP3 at 96000 Hz"]),
        (
            ["-o", "{out}.wav", "--start", "1:00"],
            ["starts at 60 s, at or past the end of the audio (9.34 s)"],
        ),
        (["-o", "{out}.wav", "--start", "-3"], ["--start", "0 or later"]),
        (["-o", "{out}.wav", "--duration", "0"], ["--duration"]),
        (["-o", "{out}.wav", "--mix", "1.5"], ["--mix", "1.5"]),
        (["-o", "{out}.wav", "--bit-depth", "20"], ["--bit-depth", "20"]),
        (["-o", "{out}.opus"], ["unsupported output format", ".mp3"]),
    ],
)
def test_delivery_mistakes_are_one_line_before_any_work(
    tmp_path, speech, music, args, needles
) -> None:
    args = [a.replace("{out}", str(tmp_path / "out")) for a in args]
    result = invoke("transfer", speech, music, *args, "--preset", "fast", "-q")
    assert_one_line_error(result, *needles, workdir=tmp_path)
    assert not list(tmp_path.iterdir())


def test_an_image_refuses_an_excerpt(tmp_path) -> None:
    photo = corpus_file("photo_chelsea_cat_451x300.png")
    texture = corpus_file("texture_gravel_gray_512x512.png")
    result = invoke(
        "transfer", photo, texture, "-o", tmp_path / "o.png", "--start", "2"
    )
    assert_one_line_error(result, "--start", "audio", workdir=tmp_path)


def test_a_recipe_may_give_the_bit_depth_as_a_number() -> None:
    assert audio_preset("fast", bit_depth=16).bit_depth == "16"


def test_an_unwritable_output_is_refused_before_the_optimisation(
    tmp_path, speech, music
) -> None:
    steps: list[int] = []
    with pytest.raises(AudiostError, match="FLAC cannot hold 32-bit float"):
        transfer_audio(
            speech,
            music,
            tmp_path / "out.flac",
            config=QUICK,
            bit_depth="32f",
            on_step=lambda i, loss: steps.append(i),
        )
    assert steps == [] and not list(tmp_path.iterdir())


def test_options_take_defaults_from_the_environment(tmp_path, speech, music) -> None:
    from click.testing import CliRunner

    from audiost.cli import main

    out = tmp_path / "out.wav"
    result = CliRunner().invoke(
        main,
        ["transfer", str(speech), str(music), "-o", str(out), "--duration", "1s"],
        env={
            "AUDIOST_TRANSFER_BIT_DEPTH": "16",
            "AUDIOST_TRANSFER_PRESET": "fast",
            "AUDIOST_TRANSFER_ITERS": "2",
            "AUDIOST_TRANSFER_QUIET": "1",
        },
    )
    assert result.exit_code == 0, result.stderr
    assert sf.info(out).subtype == "PCM_16" and result.stderr == ""
    # A bad value from the environment is refused like a bad option.
    result = CliRunner().invoke(
        main,
        ["transfer", str(speech), str(music), "-o", str(tmp_path / "x.wav")],
        env={"AUDIOST_TRANSFER_MIX": "1.5"},
    )
    assert_one_line_error(result, "--mix", "1.5", "(from $AUDIOST_TRANSFER_MIX)")
    assert not (tmp_path / "x.wav").exists()
    # Typed on the command line, the option wins and is the one named.
    result = CliRunner().invoke(
        main,
        [
            "transfer",
            str(speech),
            str(music),
            "--mix",
            "2",
            "-o",
            str(tmp_path / "x.wav"),
        ],
        env={"AUDIOST_TRANSFER_MIX": "0.5"},
    )
    assert_one_line_error(result, "--mix", "2")
    assert "AUDIOST" not in result.stderr
