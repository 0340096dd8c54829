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
# BS.1770's gating block (shorter audio has no integrated loudness), its
# overlap, the gates and the channel weights (L, R, C, Ls, Rs).
_BLOCK_S = 0.4
_BLOCK_OVERLAP = 0.75
_ABSOLUTE_GATE_LUFS = -70.0
_RELATIVE_GATE_LU = -10.0
_CHANNEL_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)
# The K-weighting filter's impulse response has fallen below 1e-20 of its
# start after 250 ms (its slowest pole, the 38 Hz high-pass, decays as
# exp(-2 pi 38 t)), so filtering in chunks that carry that much history is
# exact to float precision.
_FILTER_MEMORY_S = 0.25
_FILTER_CHUNK = 1 << 18
# BS.1770-4 Annex 2 measures true peak on 4x oversampled audio.
_OVERSAMPLE = 4
# Each chunk is interpolated with this much of its neighbours on each side,
# beyond which its edges' wrap-around has faded (to 1e-4 of a full-scale step).
_TRUE_PEAK_MARGIN = 1024
_TRUE_PEAK_CHUNK = (1 << 18) - 2 * _TRUE_PEAK_MARGIN  # with its margins, 2^18


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


# BS.1770 is written out here rather than taken from pyloudnorm (which
# computes the same figures, and checks these in the tests): pyloudnorm
# filters with scipy.signal, whose import cost every command 0.7 s on the
# development machine, a third of what a cold command paid beyond its work.
def integrated_loudness(audio: np.ndarray, sr: int) -> float | None:
    """BS.1770-4 integrated loudness of ``(channels, samples)`` audio in LUFS, or None where it is undefined.

    K-weighted, in 400 ms blocks overlapping by 75 %, gated at -70 LUFS and
    then 10 LU below the blocks' loudness, as pyloudnorm's ``Meter``
    measures it. Undefined: shorter than one block, more than the five
    channels BS.1770 weights, or silent after gating.
    """
    channels, length = audio.shape
    if length < _BLOCK_S * sr or channels > len(_CHANNEL_WEIGHTS):
        return None
    step = 1.0 - _BLOCK_OVERLAP
    blocks = int(np.round((length / sr - _BLOCK_S) / (_BLOCK_S * step))) + 1
    index = np.arange(blocks)
    lower = (_BLOCK_S * (index * step) * sr).astype(np.int64)
    upper = np.minimum((_BLOCK_S * (index * step + 1) * sr).astype(np.int64), length)
    bounds = np.unique(np.concatenate([lower, upper]))
    energy = _k_weighted_energy(audio, sr, bounds)
    # Mean square per channel and block (BS.1770-4 eq. 1), summed with the
    # channels' weights (eq. 4).
    power = (
        energy[:, np.searchsorted(bounds, upper)]
        - energy[:, np.searchsorted(bounds, lower)]
    ) / (_BLOCK_S * sr)
    weights = np.asarray(_CHANNEL_WEIGHTS[:channels])[:, None]
    with np.errstate(divide="ignore"):
        block_loudness = -0.691 + 10 * np.log10(np.sum(weights * power, axis=0))
    gated = block_loudness >= _ABSOLUTE_GATE_LUFS
    if not gated.any():
        return None
    relative = _loudness(weights, power[:, gated]) + _RELATIVE_GATE_LU
    gated = (block_loudness > _ABSOLUTE_GATE_LUFS) & (block_loudness > relative)
    loudness = _loudness(weights, power[:, gated]) if gated.any() else -math.inf
    return loudness if math.isfinite(loudness) else None


def _loudness(weights: np.ndarray, power: np.ndarray) -> float:
    total = float(np.sum(weights[:, 0] * power.mean(axis=1)))
    return -0.691 + 10 * math.log10(total) if total > 0 else -math.inf


def _k_weighted_energy(audio: np.ndarray, sr: int, at: np.ndarray) -> np.ndarray:
    """Energy of ``audio`` K-weighted, summed from its start to each sample index in ``at`` (sorted); ``(channels, len(at))``.

    K-weighting is BS.1770's +4 dB shelf above 1.5 kHz and 38 Hz high-pass,
    two biquads (RBJ cookbook, as pyloudnorm designs them). They are applied
    as their frequency response, chunk by chunk with the filter's memory
    carried (overlap-save), which equals running them from rest; only the
    sums at ``at`` are kept, so memory stays at one chunk. torch's FFT runs
    on all the process's threads, numpy's on one.
    """
    import torch

    channels, length = audio.shape
    memory = math.ceil(_FILTER_MEMORY_S * sr)
    size = 1 << math.ceil(math.log2(min(length, _FILTER_CHUNK) + memory))
    hop = size - memory
    omega = np.fft.rfftfreq(size) * 2 * math.pi
    gain = torch.from_numpy(
        _biquad_response(omega, sr, "high_shelf", 4.0, 1 / math.sqrt(2), 1500.0)
        * _biquad_response(omega, sr, "high_pass", 0.0, 0.5, 38.0)
    )
    energy = np.zeros((channels, len(at)))
    total = np.zeros((channels, 1))
    for first in range(0, length, hop):
        start = max(0, first - memory)  # the first chunk starts from rest
        stop = min(length, first + hop)
        segment = torch.from_numpy(audio[:, start:stop].astype(np.float64))
        filtered = torch.fft.irfft(torch.fft.rfft(segment, n=size) * gain, n=size)
        valid = filtered[:, first - start : stop - start]
        running = valid.square().cumsum(dim=1).numpy() + total
        inside = (at > first) & (at <= stop)
        energy[:, inside] = running[:, at[inside] - first - 1]
        total = running[:, -1:]
    return energy


def _biquad_response(
    omega: np.ndarray, sr: int, kind: str, gain_db: float, q: float, centre: float
) -> np.ndarray:
    """An RBJ-cookbook biquad's frequency response at ``omega`` (radians per sample)."""
    a = 10 ** (gain_db / 40)
    w0 = 2 * math.pi * centre / sr
    alpha = math.sin(w0) / (2 * q)
    cos = math.cos(w0)
    if kind == "high_shelf":
        root = 2 * math.sqrt(a) * alpha
        b = (
            a * ((a + 1) + (a - 1) * cos + root),
            -2 * a * ((a - 1) + (a + 1) * cos),
            a * ((a + 1) + (a - 1) * cos - root),
        )
        d = (
            (a + 1) - (a - 1) * cos + root,
            2 * ((a - 1) - (a + 1) * cos),
            (a + 1) - (a - 1) * cos - root,
        )
    else:  # high_pass
        b = ((1 + cos) / 2, -(1 + cos), (1 + cos) / 2)
        d = (1 + alpha, -2 * cos, 1 - alpha)
    z = np.exp(-1j * omega)
    return (b[0] + b[1] * z + b[2] * z * z) / (d[0] + d[1] * z + d[2] * z * z)


def true_peak(audio: np.ndarray) -> float:
    """The highest absolute value between samples too, in chunks so memory stays small.

    BS.1770-4 Annex 2 oversamples 4x with a short interpolation filter;
    here the interpolation is band-limited (zero-padded spectrum), which
    that filter approximates: on the corpus the two differ by at most
    0.04 dB.
    """
    import torch

    # The sample peak, without an absolute copy of the whole file.
    peak = max(float(audio.max(initial=0.0)), -float(audio.min(initial=0.0)))
    length, margin = audio.shape[-1], _TRUE_PEAK_MARGIN
    for first in range(0, length, _TRUE_PEAK_CHUNK):
        stop = min(length, first + _TRUE_PEAK_CHUNK)
        start, end = max(0, first - margin), min(length, stop + margin)
        # Silence before and after the file, as a player gives: the chunk's
        # wrap-around then joins zeros to zeros (what the file starts and
        # ends on still rings).
        chunk = np.pad(
            audio[:, start:end],
            ((0, 0), (margin - (first - start), margin - (end - stop))),
        )
        size = _OVERSAMPLE * chunk.shape[1]
        upsampled = torch.fft.irfft(torch.fft.rfft(torch.from_numpy(chunk)), n=size)
        inner = upsampled[
            :, _OVERSAMPLE * margin : _OVERSAMPLE * (margin + stop - first)
        ]
        peak = max(peak, _OVERSAMPLE * float(inner.abs().max()))
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
