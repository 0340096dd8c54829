"""Overlapping sections of a long signal, and the crossfades that join them.

A ten-minute recording is styled a section at a time so that memory stays
that of one section. Sections overlap; inside each overlap the two results
are crossfaded linearly, away from the sections' edges (``margin``), where
convolutions and the STFT see a cut-off signal. Units are whatever the
caller counts in: STFT frames for spectrograms, samples for waveforms.
"""

from __future__ import annotations

import math

import numpy as np


def plan_sections(total: int, length: int, overlap: int) -> list[tuple[int, int]]:
    """``(start, stop)`` spans of at most about ``length`` covering ``0:total``, neighbours sharing ``overlap``.

    All spans get (nearly) the same length, so no short last section has
    too little context for its statistics.
    """
    if length < 3 * overlap:
        # Sections may come out a third shorter than ``length``; below this
        # three of them could share a position, which the pairwise
        # crossfades do not handle.
        raise ValueError(
            f"section length {length} must be at least three times the overlap {overlap}"
        )
    if total <= length:
        return [(0, total)]
    count = math.ceil((total - overlap) / (length - overlap))
    step = (total - overlap) / count
    return [(round(i * step), round((i + 1) * step) + overlap) for i in range(count)]


def crossfade_weights(spans: list[tuple[int, int]], margin: int) -> list[np.ndarray]:
    """One weight per position of each span; at every position the weights of all spans sum to 1.

    In the overlap of two neighbours the weight ramps linearly from one to
    the other between ``margin`` positions inside either edge.
    """
    weights = [np.ones(stop - start, np.float32) for start, stop in spans]
    for i in range(len(spans) - 1):
        (start, stop), (next_start, _) = spans[i], spans[i + 1]
        fade_from, fade_to = next_start + margin, stop - margin
        if fade_to <= fade_from:
            raise ValueError(
                f"sections {spans[i]} and {spans[i + 1]} overlap by {stop - next_start}, "
                f"not more than twice the margin {margin}"
            )
        positions = np.arange(next_start, stop)
        rising = np.clip(
            (positions - fade_from + 0.5) / (fade_to - fade_from), 0, 1
        ).astype(np.float32)
        weights[i][next_start - start :] *= 1 - rising
        weights[i + 1][: stop - next_start] *= rising
    return weights
