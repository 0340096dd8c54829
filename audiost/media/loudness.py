"""Output level: matching a reference's loudness, and the peak ceiling that keeps a file from clipping.

Three ways to match (``loudness``): ``"lufs"``, ITU-R BS.1770 integrated
loudness (K-weighted and gated, what broadcast and streaming specs deliver
to), with a true-peak ceiling of -1 dBTP; ``"rms"``, the plain signal power,
under a sample-peak ceiling just below full scale; ``"none"``, the level the
reconstruction gives, under the same ceiling. The ceiling wins over the
match: a result that would clip is turned down as a whole, not distorted.
"""

from __future__ import annotations

import math

import numpy as np

from ..config import LOUDNESS_CHOICES

#: Sample-peak ceiling (``rms``, ``none``): just below full scale, so PCM never clips.
PEAK_LIMIT = 0.999
#: True-peak ceiling of a loudness-matched result (dBTP): EBU R128's and most
#: streaming services' delivery limit.
TRUE_PEAK_CEILING_DB = -1.0
# BS.1770's gating block: shorter audio has no integrated loudness.
_BLOCK_S = 0.4
# BS.1770-4 Annex 2 measures true peak on 4x oversampled audio.
_OVERSAMPLE = 4
_TRUE_PEAK_CHUNK = 1 << 18


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


def integrated_loudness(audio: np.ndarray, sr: int) -> float | None:
    """BS.1770 integrated loudness of ``(channels, samples)`` audio in LUFS (pyloudnorm), or None where it is undefined.

    Undefined: shorter than one 400 ms gating block, more than the five
    channels BS.1770 weights, or silent after gating.
    """
    if audio.shape[-1] < _BLOCK_S * sr or audio.shape[0] > 5:
        return None
    import pyloudnorm  # imported on use: scipy's filters are slow to import

    loudness = pyloudnorm.Meter(sr).integrated_loudness(audio.T.astype(np.float64))
    return loudness if math.isfinite(loudness) else None


def true_peak(audio: np.ndarray) -> float:
    """The highest absolute value between samples too (4x oversampled, BS.1770-4 Annex 2), in chunks so memory stays small."""
    from scipy.signal import resample_poly

    peak = float(np.abs(audio).max(initial=0.0))
    overlap = 64  # beyond the polyphase filter's reach at this ratio
    for first in range(0, audio.shape[-1], _TRUE_PEAK_CHUNK):
        chunk = audio[..., max(0, first - overlap) : first + _TRUE_PEAK_CHUNK + overlap]
        upsampled = resample_poly(chunk, _OVERSAMPLE, 1, axis=-1)
        peak = max(peak, float(np.abs(upsampled).max(initial=0.0)))
    return peak


def match_loudness(
    audio: np.ndarray, reference: np.ndarray | None, sr: int, method: str = "lufs"
) -> np.ndarray:
    """``audio`` at ``reference``'s loudness by ``method`` (none without a reference), under the method's peak ceiling.

    ``lufs`` falls back to RMS where integrated loudness is undefined (a
    clip under 400 ms, more than five channels).
    """
    if method not in LOUDNESS_CHOICES:
        raise ValueError(f"loudness must be one of {', '.join(LOUDNESS_CHOICES)}")
    audio = np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
    gain = 1.0
    if reference is not None and method != "none":
        gain = loudness_gain(audio, reference, sr, method)
    if method == "lufs":
        peak, ceiling = true_peak(audio) * gain, 10 ** (TRUE_PEAK_CEILING_DB / 20)
    else:
        peak, ceiling = float(np.abs(audio).max(initial=0.0)) * gain, PEAK_LIMIT
    if peak > ceiling:
        gain *= ceiling / peak
    return audio * np.float32(gain)


def loudness_gain(
    audio: np.ndarray, reference: np.ndarray, sr: int, method: str
) -> float:
    """The gain that brings ``audio`` to ``reference``'s loudness by ``method`` (1 for ``none``), before any ceiling."""
    if method == "none":
        return 1.0
    if method == "lufs":
        have, want = integrated_loudness(audio, sr), integrated_loudness(reference, sr)
        if have is not None and want is not None:
            return 10 ** ((want - have) / 20)
    level = rms(audio)
    return rms(reference) / level if level > 0 else 1.0
