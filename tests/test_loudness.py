"""BS.1770 integrated loudness and true peak, against the tools they replace.

audiost measures both itself (media/loudness.py says why); pyloudnorm, the
meter it used before, and scipy's polyphase 4x oversampling (the method of
BS.1770-4 Annex 2) are the oracles.
"""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm
import pytest
from scipy.signal import resample_poly

from audiost.media.audio_io import load_audio
from audiost.media.loudness import integrated_loudness, true_peak

from .conftest import corpus_file

FILES = [
    "speech_pocketsphinx_forever_16k_mono.flac",
    "speech_alsa_rear_side_prompts_48k_mono_s16.wav",
    "music_hold_music_manolo_camp_morning_coffee_8k_mono_s16.wav",
    "music_wesnoth_traveling_minstrels_folk_44k_stereo.flac",
    "sfx_applause_crowd_44k_mono_f32.wav",
]


def pyloudnorm_lufs(audio: np.ndarray, sr: int) -> float:
    return pyloudnorm.Meter(sr).integrated_loudness(audio.T.astype(np.float64))


@pytest.mark.parametrize("name", FILES)
def test_integrated_loudness_is_pyloudnorms(name: str) -> None:
    audio, sr = load_audio(corpus_file(name))
    assert integrated_loudness(audio, sr) == pytest.approx(
        pyloudnorm_lufs(audio, sr), abs=1e-9
    )


def test_a_long_recording_filtered_in_chunks_measures_as_one_piece() -> None:
    music, sr = load_audio(corpus_file(FILES[3]))
    # 40 s, getting louder: four overlap-save chunks, and gating that matters.
    audio = np.tile(music, 4) * np.linspace(0.05, 1, 4 * music.shape[1])
    audio = audio.astype(np.float32)
    assert integrated_loudness(audio, sr) == pytest.approx(
        pyloudnorm_lufs(audio, sr), abs=1e-9
    )


def test_audio_without_a_loudness_says_so() -> None:
    sr = 16000
    tone = 0.1 * np.sin(2 * np.pi * 440 * np.arange(sr) / sr)[None]
    assert integrated_loudness(tone[:, : int(0.3 * sr)], sr) is None  # < 400 ms
    assert integrated_loudness(np.zeros((1, sr)), sr) is None  # silent
    assert integrated_loudness(np.repeat(tone, 6, axis=0), sr) is None  # 6 channels
    assert integrated_loudness(tone * 1e-5, sr) is None  # under the -70 LUFS gate


def test_true_peak_finds_the_peak_between_the_samples() -> None:
    # A quarter of the rate, 45 degrees off: every sample is at 0.707 of the peak.
    sr = 48000
    t = np.arange(sr) / sr
    sine = 0.5 * np.sin(2 * np.pi * sr / 4 * t + np.pi / 4) * np.hanning(sr)
    sine = sine[None].astype(np.float32)
    assert np.abs(sine).max() == pytest.approx(0.5 / math.sqrt(2), abs=1e-3)
    assert true_peak(sine) == pytest.approx(0.5, abs=1e-4)


@pytest.mark.parametrize("name", FILES)
def test_true_peak_agrees_with_polyphase_oversampling(name: str) -> None:
    audio, _ = load_audio(corpus_file(name))
    polyphase = float(np.abs(resample_poly(audio, 4, 1, axis=-1)).max())
    assert 20 * math.log10(true_peak(audio) / polyphase) == pytest.approx(0, abs=0.05)
