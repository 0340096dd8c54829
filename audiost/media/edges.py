"""A recording's quiet lead-in and tail: where it starts and stops sounding.

A file often holds a moment of near-silence before its sound starts and a
fade after it ends. They are the file's, not the sound's: transfers and
textures leave them out of the style they imitate
(:mod:`audiost.audio.transfer`, :mod:`audiost.audio.texture`), and
:mod:`audiost.evaluate` measures against the same part.
"""

from __future__ import annotations

import numpy as np

from .mel import mel_power, power_to_db

#: A lead-in or tail ends where, for :data:`RUN_S` on end, most of the
#: recording's bands lie within this many dB of their usual level.
QUIET_DB = 20.0
#: Seconds of sound that end a lead-in: a texture's grain, a stroke's
#: attack and decay (a single loud frame in a lead-in does not end it).
RUN_S = 0.1
#: Seconds at each end of a recording that are looked at.
WINDOW_S = 30.0
#: Frame hop (samples) of the band levels: 23 ms at 44.1 kHz.
_HOP = 1024


def sounding_span(wave: np.ndarray, sr: int) -> tuple[int, int]:
    """The samples ``start:stop`` of ``(channels, samples)`` ``wave`` from where it starts sounding to where it stops.

    A lead-in or tail is where most bands (the median of 32 mel bands) lie
    :data:`QUIET_DB` or more below their usual level (their median), up to
    the first and after the last :data:`RUN_S` in which they do not; quiet
    moments inside are the sound's rhythm and stay. The train's first
    0.19 s, before its engine is heard above 150 Hz, is a lead-in; the
    tabla loop, which starts and ends on a stroke, has none. Only the first
    and last :data:`WINDOW_S` are looked at, so a long recording costs no
    more. ``(0, samples)`` when nothing sounds for :data:`RUN_S` at an end.
    """
    mono = wave.mean(axis=0)
    window = min(mono.size, round(WINDOW_S * sr))
    ends = [mono] if mono.size <= 2 * window else [mono[:window], mono[-window:]]
    levels = [power_to_db(mel_power(end, sr, n_mels=32, hop=_HOP)) for end in ends]
    usual = np.median(np.concatenate(levels, axis=1), axis=1, keepdims=True)
    run = max(1, round(RUN_S * sr / _HOP))
    # Per end, whether the run of frames from each frame on all sound.
    sounding = [
        np.convolve(np.median(end - usual, axis=0) > -QUIET_DB, np.ones(run), "valid")
        == run
        for end in levels
    ]
    head, tail = sounding[0], sounding[-1]
    if not (head.any() and tail.any()):
        return 0, mono.size
    # From the centre of the first sounding frame to that of the last: a
    # frame centred within half a window of the sound is half sound itself.
    # A sound that lasts to the last frame lasts to the last sample.
    start = int(np.argmax(head)) * _HOP
    trailing = int(np.argmax(tail[::-1]))
    if not trailing:
        return start, mono.size
    last = tail.size - 1 - trailing + run - 1
    return start, last * _HOP + 1 + (mono.size - ends[-1].size)


def sounding_part(wave: np.ndarray, sr: int, min_samples: int = 1) -> np.ndarray:
    """``wave`` from :func:`sounding_span`'s start to its stop; whole if that would leave fewer than ``min_samples``."""
    start, stop = sounding_span(wave, sr)
    return wave[:, start:stop] if stop - start >= min_samples else wave
