"""Decoding real files of every supported container, and refusing unusable ones."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from audiost import AudiostError
from audiost.media.audio_io import check_audio, load_audio, resample, write_audio

from .conftest import clip, corpus_file


@pytest.mark.parametrize(
    "name, sr, channels",
    [
        ("speech_alsa_rear_side_prompts_48k_mono_s16.wav", 48000, 1),
        ("speech_pocketsphinx_playing_cards_16k_mono_s24.wav", 16000, 1),
        ("speech_hedgewars_singer_voice_lines_44k_stereo_f32.wav", 44100, 2),
        ("music_wesnoth_traveling_minstrels_folk_44k_stereo.flac", 44100, 2),
        ("sfx_night_crickets_44k_mono.ogg", 44100, 1),
        ("music_mariachi_mexico_44k_mono.mp3", 44100, 1),
    ],
)
def test_reads_every_container(name: str, sr: int, channels: int) -> None:
    path = corpus_file(name)
    audio, rate = load_audio(path)
    assert rate == sr and audio.shape[0] == channels and audio.dtype == np.float32
    assert np.isfinite(audio).all() and 0.01 < np.abs(audio).max() <= 1.0
    # Within one MP3 frame of what libsndfile's own metadata says.
    assert abs(audio.shape[1] - sf.info(path).frames) <= 1152


def test_round_trip_is_atomic_and_exact_enough(tmp_path) -> None:
    t = np.linspace(0, 1, 8000, endpoint=False, dtype=np.float32)
    audio = np.stack(
        [0.5 * np.sin(2 * np.pi * 440 * t), 0.25 * np.sin(2 * np.pi * 220 * t)]
    )
    for suffix in (".wav", ".flac"):
        out = write_audio(tmp_path / f"x{suffix}", audio, 8000)
        back, sr = load_audio(out)
        assert sr == 8000 and np.abs(back - audio).max() < 1e-6
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "x.flac",
        "x.wav",
    ]  # no temporary files left


def test_resample_keeps_a_tone(tmp_path) -> None:
    t = np.arange(44100, dtype=np.float32) / 44100
    audio = np.sin(2 * np.pi * 1000 * t)[None].astype(np.float32)
    out = resample(audio, 44100, 16000)
    assert out.shape == (1, 16000)
    spectrum = np.abs(np.fft.rfft(out[0]))
    assert abs(np.argmax(spectrum) - 1000) <= 1


@pytest.mark.parametrize("target_sr", [22050, 16000, 48000])
def test_resample_gives_librosas_soxr_hq_samples(target_sr: int) -> None:
    import librosa

    audio, sr = clip("music_wesnoth_traveling_minstrels_folk_44k_stereo.flac", 1.0)
    audio = audio[:, :-7]  # a length whose resampled size rounds up
    want = librosa.resample(audio, orig_sr=sr, target_sr=target_sr, res_type="soxr_hq")
    np.testing.assert_array_equal(resample(audio, sr, target_sr), want)


@pytest.mark.parametrize(
    "audio, message",
    [
        (np.zeros((1, 0), np.float32), "no audio samples"),
        (np.full((1, 10), 0.1, np.float32), "too short"),
        (np.zeros((1, 4096), np.float32), "digital silence"),
        (np.full((2, 4096), 0.3, np.float32), "constant (DC)"),
        (np.array([[np.nan] * 4096], np.float32), "NaN or infinite"),
    ],
)
def test_check_audio_refuses_unusable(audio: np.ndarray, message: str) -> None:
    with pytest.raises(
        AudiostError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        check_audio(audio, 16000, min_samples=1024, name="x.wav")


def test_missing_and_directory(tmp_path) -> None:
    with pytest.raises(AudiostError, match="no such file"):
        load_audio(tmp_path / "nope.wav")
    with pytest.raises(AudiostError, match="is a directory"):
        load_audio(tmp_path)


@pytest.mark.parametrize(
    ("claimed", "why"),
    [
        (1000, "the header says less than the file holds: the array grows"),
        (1 << 42, "more than the machine holds: a small array, grown"),
    ],
)
def test_a_header_s_length_sizes_the_array_but_never_decides_it(
    monkeypatch, claimed: int, why: str
) -> None:
    """The samples decoded are the file's, whatever length its header claims."""
    from audiost.media import audio_io

    path = corpus_file("music_wesnoth_traveling_minstrels_folk_44k_stereo.flac")
    expected, sr = sf.read(path, dtype="float32", always_2d=True)
    monkeypatch.setattr(audio_io, "_expected_frames", lambda f, stop: claimed)
    audio, rate = load_audio(path)
    assert rate == sr and audio.flags.c_contiguous, why
    np.testing.assert_array_equal(audio, expected.T)
