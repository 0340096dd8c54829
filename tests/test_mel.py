"""audiost's NumPy spectrogram analysis against librosa's, the definitions it copies.

The measures (``audiost evaluate``, ``bench_quality.py``) and the report's
pictures read these; librosa is the oracle so that every recorded figure
keeps its meaning.
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from audiost.media import mel

from .conftest import clip, needs_corpus

pytestmark = needs_corpus

SIGNALS = {
    "speech 16 kHz": ("speech_pocketsphinx_forever_16k_mono.flac", 3.0),
    "tabla 44.1 kHz": ("music_sonicpi_tabla_loop_44k_stereo.flac", 2.0),
    "hold music 8 kHz": (
        "music_hold_music_manolo_camp_morning_coffee_8k_mono_s16.wav",
        2.0,
    ),
}


@pytest.fixture(scope="module", params=SIGNALS, ids=str)
def signal(request) -> tuple[np.ndarray, int]:
    name, seconds = SIGNALS[request.param]
    audio, sr = clip(name, seconds)
    return audio.mean(axis=0), sr


@pytest.mark.parametrize(("n_fft", "hop"), [(1024, 256), (2048, 512)])
def test_stft_power_is_librosas(signal, n_fft: int, hop: int) -> None:
    y, _ = signal
    want = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop)) ** 2
    got = mel.stft_power(y, n_fft, hop)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * want.max())


def test_mel_power_and_decibels_are_librosas(signal) -> None:
    y, sr = signal
    want = librosa.feature.melspectrogram(
        y=y, sr=sr, n_mels=64, hop_length=512, fmax=sr / 2
    )
    got = mel.mel_power(y, sr, n_mels=64, hop=512)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6 * want.max())
    np.testing.assert_allclose(
        mel.power_to_db(got),
        librosa.power_to_db(want, ref=1.0, amin=1e-10, top_db=None),
        atol=1e-3,
    )
    np.testing.assert_allclose(
        mel.power_to_db(got, ref=None, top_db=80),
        librosa.power_to_db(want, ref=np.max, top_db=80),
        atol=1e-3,
    )
    np.testing.assert_allclose(
        mel.mel_frequencies(128, sr / 2),
        librosa.mel_frequencies(n_mels=128, fmax=sr / 2),
        rtol=1e-9,
    )


def test_onset_strength_is_librosas(signal) -> None:
    y, sr = signal
    want = librosa.onset.onset_strength(y=y, sr=sr)
    got = mel.onset_strength(y, sr)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert got.std() > 0.1  # real onsets, not a flat line that would match anything


@pytest.mark.filterwarnings("ignore:n_fft=.*is too large")
@pytest.mark.parametrize("length", [100, 2047, 2048, 2049, 5000])
def test_short_signals_frame_as_librosas(signal, length: int) -> None:
    """Signals shorter than a window, or a sample either side of one, give librosa's frame count."""
    y, sr = signal
    y = y[:length]
    assert (
        mel.stft_power(y, 2048, 512).shape
        == librosa.stft(y, n_fft=2048, hop_length=512).shape
    )
    np.testing.assert_allclose(
        mel.onset_strength(y, sr), librosa.onset.onset_strength(y=y, sr=sr), atol=1e-4
    )


def test_a_long_signal_is_transformed_in_blocks_without_seams() -> None:
    """More frames than one block: the blocks join exactly where a single transform would."""
    audio, _ = clip("music_frozen_bubble_intro_theme_44k_stereo.ogg", 14.0)
    y = audio.mean(axis=0)
    got = mel.stft_power(y, 1024, 256)
    assert got.shape[1] > 2 * mel._FRAMES_PER_BLOCK
    want = np.abs(librosa.stft(y, n_fft=1024, hop_length=256)) ** 2
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * want.max())
