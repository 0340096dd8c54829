"""A mono content made stereo (``stereo``): as wide as the style, its side following the content.

The mono mix must be the transfer it would be without ``stereo``, the side
must carry the content's moments (not a texture of its own timeline, which
a side grown from silence became), and its level must be the style's.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from audiost import AudiostError, audio_preset, synthesize_audio, transfer_audio
from audiost.media.stereo import decorrelated
from audiost.metrics import NARROWEST_DB, audio_measures, stereo_width_db
from audiost.provenance import read_record

from .conftest import clip, corpus_file, invoke

SMALL = audio_preset("fast", iters=30)


@pytest.fixture(scope="module")
def voice() -> tuple[np.ndarray, int]:
    return clip("speech_pocketsphinx_playing_cards_16k_mono_s24.wav", 3.0, 0.2)


@pytest.fixture(scope="module")
def djembe() -> tuple[np.ndarray, int]:
    """Stereo, its side 13 dB below its mid."""
    return clip("music_djembe_accompaniment_africa_44k_stereo.ogg", 4.0, 1.0)


@pytest.fixture(scope="module")
def widened(voice, djembe):
    return transfer_audio(
        voice[0],
        djembe[0],
        content_sr=voice[1],
        style_sr=djembe[1],
        config=SMALL.replace(stereo=True),
    )


def _mid_side(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (audio[0] + audio[1]) / 2, (audio[0] - audio[1]) / 2


def test_a_mono_voice_comes_out_as_wide_as_the_style(widened, voice, djembe) -> None:
    assert widened.audio.shape[0] == 2
    assert np.isfinite(widened.audio).all()
    style_width = stereo_width_db(djembe[0])
    # Measured: -12.8 dB against the style's -12.8.
    assert stereo_width_db(widened.audio) == pytest.approx(style_width, abs=3.0)
    # Wide, not panned: left and right differ in their fine structure.
    left, right = widened.audio
    assert 0.5 < np.corrcoef(left, right)[0, 1] < 0.97


def test_its_side_follows_the_voice(widened, voice, djembe) -> None:
    """The side's onsets are the voice's; a side grown from silence had its own timeline.

    Measured (onset correlation with the voice): this side 0.90; the voice
    given as two identical channels, which leaves its side silent at the
    start, 0.10 (-0.05 in the full-length run that found it).
    """
    _, side = _mid_side(widened.audio)
    _, style_side = _mid_side(djembe[0])
    measured = audio_measures(*voice, style_side, djembe[1], side, widened.sr)
    assert measured["content_kept"] > 0.7, measured
    # And it sounds like the style's side, not the voice: measured 0.93.
    assert measured["style_gain"] > 0.8, measured


def test_its_mono_mix_is_the_mono_transfer(widened, voice, djembe) -> None:
    mono = transfer_audio(
        voice[0], djembe[0], content_sr=voice[1], style_sr=djembe[1], config=SMALL
    )
    mid, _ = _mid_side(widened.audio)
    stereo_measures, mono_measures = (
        audio_measures(*voice, *djembe, audio, mono.sr)
        for audio in (mid, mono.audio[0])
    )
    for name in ("style_gain", "content_kept"):
        assert stereo_measures[name] == pytest.approx(mono_measures[name], abs=0.05), (
            name,
            stereo_measures,
            mono_measures,
        )


def test_a_stereo_voice_that_is_mono_to_the_ear_is_widened_too(djembe) -> None:
    """The singer's file is stereo with its side 50 dB down: styled as it is, that side grows its own timeline.

    Measured (the side's onsets' correlation with the voice): here -0.05
    as it was, 0.94 widened; 4 s at ``balanced`` with the vinyl record as
    the style, 0.15 and 0.81.
    """
    singer = clip("speech_hedgewars_singer_voice_lines_44k_stereo_f32.wav", 3.0)
    assert stereo_width_db(singer[0]) < -40
    result = transfer_audio(
        singer[0],
        djembe[0],
        content_sr=singer[1],
        style_sr=djembe[1],
        config=SMALL.replace(stereo=True),
    )
    _, side = _mid_side(result.audio)
    _, style_side = _mid_side(djembe[0])
    measured = audio_measures(*singer, style_side, djembe[1], side, result.sr)
    assert measured["content_kept"] > 0.6, measured
    assert stereo_width_db(result.audio) == pytest.approx(
        stereo_width_db(djembe[0]), abs=3.0
    )


def test_a_mono_style_gives_both_channels_alike_and_says_so(voice) -> None:
    style = clip("music_mariachi_mexico_44k_mono.mp3", 3.0)
    with pytest.warns(UserWarning, match="same sound in both channels"):
        result = transfer_audio(
            voice[0],
            style[0],
            content_sr=voice[1],
            style_sr=style[1],
            config=SMALL.replace(stereo=True, iters=5, wave_iters=0),
        )
    assert result.audio.shape[0] == 2
    assert stereo_width_db(result.audio) == NARROWEST_DB


def test_decorrelated_keeps_the_level_and_loses_the_fine_structure() -> None:
    rng = np.random.default_rng(1)
    noise = rng.standard_normal(44100).astype(np.float32)
    gains = np.full(1025, 0.5)
    copy = decorrelated(noise, gains, 44100, seed=0)
    assert copy.dtype == noise.dtype
    assert np.sqrt(np.mean(copy**2)) == pytest.approx(0.5, rel=0.1)
    assert abs(np.corrcoef(noise, copy)[0, 1]) < 0.1
    # Band by band: nothing where the gain is 0.
    gains[512:] = 0
    low = decorrelated(noise, gains, 44100, seed=0)
    spectrum = np.abs(np.fft.rfft(low)) ** 2
    upper, lower = (
        spectrum[len(spectrum) * 5 // 8 :],
        spectrum[: len(spectrum) * 3 // 8],
    )
    assert upper.mean() < lower.mean() * 1e-2
    assert np.array_equal(low, decorrelated(noise, gains, 44100, seed=0))


def test_stereo_width_measure() -> None:
    rng = np.random.default_rng(2)
    one, other = rng.standard_normal((2, 20000))
    assert stereo_width_db(np.stack([one, one])) == NARROWEST_DB
    assert stereo_width_db(np.stack([one, other])) == pytest.approx(0.0, abs=0.2)
    assert stereo_width_db(np.stack([one + 0.1 * other, one - 0.1 * other])) == (
        pytest.approx(-20.0, abs=0.2)
    )
    assert stereo_width_db(one[None]) is None


def test_stereo_is_refused_where_it_means_nothing(voice, djembe, tmp_path) -> None:
    with pytest.raises(ValueError, match="mono or stereo"):
        audio_preset(mono=True, stereo=True)
    with pytest.raises(AudiostError, match="texture has its style's channels"):
        synthesize_audio(
            djembe[0], 2.0, style_sr=djembe[1], config=SMALL.replace(stereo=True)
        )
    assert invoke("texture", "x.wav", "--stereo").exit_code == 2


def test_the_cli_writes_stereo_and_remakes_it_from_the_output(tmp_path) -> None:
    voice = corpus_file("speech_pocketsphinx_forever_16k_mono.flac")
    djembe = corpus_file("music_djembe_accompaniment_africa_44k_stereo.ogg")
    run = ("--preset", "fast", "--iters", "3", "--gl-iters", "4", "--duration", "1s", "-q")  # fmt: skip
    made = invoke("transfer", voice, djembe, "-o", tmp_path / "a.wav", "--stereo", *run)
    assert made.exit_code == 0, made.stderr
    assert sf.info(tmp_path / "a.wav").channels == 2
    assert read_record(tmp_path / "a.wav")["settings"]["stereo"] is True
    again = invoke("transfer", voice, djembe, "--recipe", tmp_path / "a.wav", "-o", tmp_path / "b.wav", "--duration", "1s", "-q")  # fmt: skip
    assert again.exit_code == 0, again.stderr
    assert sf.info(tmp_path / "b.wav").channels == 2
    plain = invoke("transfer", voice, djembe, "-o", tmp_path / "c.wav", *run)
    assert plain.exit_code == 0 and sf.info(tmp_path / "c.wav").channels == 1


def test_a_mono_to_the_ear_content_is_told_of_stereo(tmp_path) -> None:
    """Without ``--stereo`` its side is the style's own: said once, before the work, naming the content."""
    singer = corpus_file("speech_hedgewars_singer_voice_lines_44k_stereo_f32.wav")
    djembe = corpus_file("music_djembe_accompaniment_africa_44k_stereo.ogg")
    run = ("--preset", "fast", "--iters", "2", "--gl-iters", "2", "--wave-iters", "0", "--duration", "1s")  # fmt: skip
    plain = invoke("transfer", singer, djembe, "-o", tmp_path / "a.wav", *run)
    assert plain.exit_code == 0, plain.stderr
    assert f"{singer}: mono to any listener" in plain.stderr
    assert "--stereo" in plain.stderr
    widened = invoke("transfer", singer, djembe, "-o", tmp_path / "b.wav", "--stereo", *run)  # fmt: skip
    assert widened.exit_code == 0 and "mono to any listener" not in widened.stderr
