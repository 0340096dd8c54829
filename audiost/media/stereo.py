"""Stereo layouts: mid and side, how wide a signal is, and a side for a mono one.

NumPy only, so that measuring a width (:mod:`audiost.metrics`) needs no torch.
"""

from __future__ import annotations

import math

import numpy as np


def mid_side(wave: np.ndarray) -> np.ndarray:
    """Stereo ``(2, samples)`` as mid ``(L + R) / 2`` and side ``(L - R) / 2``.

    Styling a stereo pair as mid and side lets each channel of the output
    take the statistics of the same channel of the style, so the style's
    stereo image survives: vinyl rumble that cancels in mono stays in the
    side channel. Styled as left and right, both channels would take the
    content's (often identical) phases and add up what the style cancels:
    on the corpus's vinyl record, 20 dB too much sub-bass in the mono mix.
    """
    # In place in the result: an hour-long style's sums, halves and their
    # stack held three copies of it besides the input.
    out = np.empty(wave.shape, np.result_type(wave.dtype, np.float32))
    np.add(wave[0], wave[1], out=out[0])
    np.subtract(wave[0], wave[1], out=out[1])
    out *= 0.5
    return out


def side_over_mid(wave: np.ndarray) -> float:
    """A stereo ``(2, samples)`` signal's side power over its mid power: how wide it sounds (0 for the same sound in both channels; inf for a side alone)."""
    # A million samples at a time: the side and sum of a whole 10-minute
    # stereo style would be two 100 MB copies.
    side = both = 0.0
    for start in range(0, wave.shape[1], 1 << 20):
        left, right = wave[:, start : start + (1 << 20)].astype(np.float64)
        difference, total = left - right, left + right
        side += float(np.dot(difference, difference))
        both += float(np.dot(total, total))
    if both == 0:
        return 0.0 if side == 0 else math.inf
    return side / both


#: How fast :func:`decorrelated`'s response dies away, seconds to 1/e: the
#: span of a small room's first reflections, too short to hear as an echo.
DECORRELATION_DECAY_S = 0.01


def decorrelated(wave: np.ndarray, gains: np.ndarray, sr: int, seed: int) -> np.ndarray:
    """``wave`` ``(samples,)`` at ``sr`` through a filter of random phase whose amplitude in each rfft bin is about ``gains``.

    The result follows ``wave`` in time, band by band, but its fine
    structure is unrelated to it: the side that makes a mono signal wide.
    A side that is the signal itself only pans it, left and right alike but
    for level, which sounds no wider; a random-phase filter (Kendall 1995)
    makes left and right differ the way a room's reflections make them
    differ. Its response is shaped to die away within
    :data:`DECORRELATION_DECAY_S`, not spread over the whole FFT length.
    Written here because neither scipy nor librosa has one.
    """
    from scipy.signal import oaconvolve

    n_fft = 2 * (len(gains) - 1)
    phase = np.random.default_rng(seed).uniform(0, 2 * np.pi, len(gains))
    phase[[0, -1]] = 0  # the DC and Nyquist bins of a real filter are real
    taps = np.fft.irfft(gains * np.exp(1j * phase), n_fft)
    shaped = taps * np.exp(-np.arange(n_fft) / (DECORRELATION_DECAY_S * sr))
    # The same power as the unshaped filter: ``gains`` in the mean.
    shaped *= np.sqrt(np.sum(taps**2) / max(np.sum(shaped**2), np.finfo(float).tiny))
    return oaconvolve(wave, shaped)[: len(wave)].astype(wave.dtype, copy=False)
