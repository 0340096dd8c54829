"""Host-side spectrogram analysis for the measures and pictures: STFT power, mel, dB, onsets.

These are librosa's definitions (its ``stft``, Slaney ``filters.mel``,
``melspectrogram``, ``power_to_db`` and ``onset_strength`` with the
arguments audiost uses), written out in NumPy because importing librosa's
feature modules (scipy.signal, numba) took 2.1 s of a 2.5 s cold
``audiost evaluate`` on the 2-core development machine, against 0.1 s of
arithmetic. ``tests/test_mel.py`` holds them to librosa's output, so
every measure keeps its meaning and its recorded values.
"""

from __future__ import annotations

import numpy as np

#: Frames transformed at once: bounds the float64 scratch of a long file
#: (about 16 MB at n_fft 2048) whatever its length.
_FRAMES_PER_BLOCK = 1024


def stft_power(y: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """``(1 + n_fft // 2, frames)`` float32 power of a mono signal's centred, periodic-Hann STFT.

    The signal is zero-padded by ``n_fft // 2`` at both ends (librosa's
    ``center=True, pad_mode="constant"``), so frame ``t`` is centred on
    sample ``t * hop``.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"stft_power takes a mono signal, got shape {y.shape}")
    padded = np.pad(y, n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    # Periodic Hann (scipy's get_window("hann", n, fftbins=True)), in float64
    # as librosa multiplies it, then rounded to complex64 as librosa stores it.
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    power = np.empty((n_fft // 2 + 1, len(frames)), dtype=np.float32)
    for start in range(0, len(frames), _FRAMES_PER_BLOCK):
        block = frames[start : start + _FRAMES_PER_BLOCK]
        spectrum = np.fft.rfft(block * window, axis=1).astype(np.complex64)
        power[:, start : start + len(block)] = (np.abs(spectrum) ** 2).T
    return power


def pitch_class_matrix(
    n_bins: int, sr: int, low_hz: float, high_hz: float
) -> np.ndarray:
    """``(12, n_bins)`` float32: folds the bins of a one-sided spectrum (``n_bins`` from 0 Hz to ``sr / 2``) between ``low_hz`` and ``high_hz`` into the twelve pitch classes, C first.

    Each bin counts toward the two classes nearest its frequency (equal
    temperament, A = 440 Hz), by how near it is, so a note between two
    bins is not lost and a bin between two notes is shared.
    """
    hertz = np.linspace(0, sr / 2, n_bins)
    inside = np.nonzero((hertz >= low_hz) & (hertz <= high_hz))[0]
    semitones = 12 * np.log2(hertz[inside] / 440.0) + 9  # 0 = C, 9 = A
    below = np.floor(semitones).astype(int)
    share = (semitones - below).astype(np.float32)
    folding = np.zeros((12, n_bins), dtype=np.float32)
    np.add.at(folding, (below % 12, inside), 1 - share)
    np.add.at(folding, ((below + 1) % 12, inside), share)
    return folding


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz (3 per 200 Hz), logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    logarithmic = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, logarithmic, linear)


def mel_to_hz(mels: np.ndarray | float) -> np.ndarray:
    """The inverse of :func:`hz_to_mel`."""
    mels = np.asarray(mels, dtype=np.float64)
    linear = mels * (200.0 / 3)
    logarithmic = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mels - 15.0))
    return np.where(mels >= 15.0, logarithmic, linear)


def mel_frequencies(n_mels: int, fmax: float) -> np.ndarray:
    """``n_mels`` frequencies (Hz) evenly spaced on the mel scale from 0 to ``fmax``."""
    return mel_to_hz(np.linspace(0.0, hz_to_mel(fmax), n_mels))


def mel_filters(sr: int, n_fft: int, n_mels: int, fmax: float) -> np.ndarray:
    """``(n_mels, 1 + n_fft // 2)`` float32 triangular filters, Slaney area-normalised.

    Each filter rises from the previous band's centre to its own and falls
    to the next's; scaling by ``2 / width`` gives every band about the same
    energy for white noise, whatever its width.
    """
    edges = mel_frequencies(n_mels + 2, fmax)
    bins = np.fft.rfftfreq(n_fft, 1.0 / sr)
    ramps = edges[:, None] - bins[None, :]
    widths = np.diff(edges)
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


def mel_power(
    y: np.ndarray, sr: int, *, n_mels: int, hop: int, n_fft: int = 2048
) -> np.ndarray:
    """``(n_mels, frames)`` mel power spectrogram up to ``sr / 2`` (librosa's ``melspectrogram``)."""
    return mel_filters(sr, n_fft, n_mels, sr / 2) @ stft_power(y, n_fft, hop)


def power_to_db(
    power: np.ndarray,
    *,
    ref: float | None = 1.0,
    amin: float = 1e-10,
    top_db: float | None = None,
) -> np.ndarray:
    """``10 log10(power / ref)``, floored at ``amin``; ``ref=None`` means the loudest value.

    With ``top_db``, nothing is more than ``top_db`` below the result's maximum.
    """
    reference = float(np.max(power)) if ref is None else abs(ref)
    db = 10.0 * np.log10(np.maximum(amin, power))
    db -= 10.0 * np.log10(max(amin, reference))
    if top_db is not None:
        db = np.maximum(db, db.max() - top_db)
    return db


def onset_strength(y: np.ndarray, sr: int) -> np.ndarray:
    """Onset-strength envelope, one value per 512-sample frame (librosa's defaults).

    The mean over 128 mel bands of each band's rise in dB (80 dB of range)
    since the previous frame, negatives dropped, shifted by three frames so
    a value lines up with its frame's centre.
    """
    n_fft, hop, lag = 2048, 512, 1
    db = power_to_db(mel_power(y, sr, n_mels=128, hop=hop, n_fft=n_fft), top_db=80.0)
    rise = np.maximum(0.0, db[:, lag:] - db[:, :-lag]).mean(axis=0)
    shifted = np.pad(rise, (lag + n_fft // (2 * hop), 0))
    return shifted[: db.shape[1]]
