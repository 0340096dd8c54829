"""Audio measures: the content's and style's analyses, and each output's against them."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..caching import BoundedCache, file_key
from ..errors import AudiostError
from ..limits import MAX_CHANNELS, MAX_DURATION_S, reading_limits
from ..media.edges import sounding_part
from ..metrics import (
    ANALYSIS_RATE,
    StyleProfile,
    analysis_frame,
    content_profile,
    profile_measures,
    speech_intelligibility,
    style_profile,
)
from .evaluation import Evaluation, Source

#: The options of audio measures only (the others are the images').
AUDIO_OPTIONS = (
    "max_duration",
    "max_channels",
    "start",
    "duration",
    "style_start",
    "style_duration",
    "speech",
)


def evaluate_audio(
    content: Source, style: Source, output: Source, **options: Any
) -> Evaluation:
    """Audio measures at :data:`~audiost.metrics.ANALYSIS_RATE` (all three files resampled to it, mono).

    ``options``: those of :class:`AudioPair` (limits, excerpts, ``speech``).
    """
    return AudioPair(content, style, **options).measure(output)


class AudioPair:
    """An audio content and style, read and analysed once for the measures of any number of outputs.

    Files longer than ``max_duration`` seconds or with more than
    ``max_channels`` channels are refused, as by a transfer. ``start`` and
    ``duration`` select the excerpt of the content that the outputs were
    made from (``transfer --start/--duration``), so that the two align;
    ``style_start`` and ``style_duration`` the excerpt of the style they
    imitated. The style is measured as it is imitated, without its quiet
    lead-in and tail (:func:`~audiost.metrics.style_profile`).
    With ``speech`` (the content is spoken), also ``speech_intelligibility``
    (:func:`~audiost.metrics.speech_intelligibility`, which needs pystoi).
    """

    def __init__(
        self,
        content: Source,
        style: Source,
        *,
        max_duration: float = MAX_DURATION_S,
        max_channels: int = MAX_CHANNELS,
        start: float = 0.0,
        duration: float | None = None,
        style_start: float = 0.0,
        style_duration: float | None = None,
        speech: bool = False,
    ):
        if speech:  # said before any file is read
            try:
                import pystoi  # noqa: F401
            except ImportError:
                raise AudiostError(
                    "measuring speech intelligibility needs pystoi: pip install 'audiost[speech]'"
                ) from None
        self.limits = reading_limits(max_duration, max_channels)
        self.wave, self.rate = _read_measurable(
            content, **self.limits, start=start, duration=duration
        )
        self.style = _style_profile(
            style, start=style_start, duration=style_duration, **self.limits
        )
        self.content = content_profile(self.wave, self.rate)
        self.speech = speech

    def measure(self, output: Source) -> Evaluation:
        from ..media.audio_io import read_spectral_convergence

        output_wave, output_rate = _read_measurable(output, **self.limits)
        measures: dict[str, float | None] = dict(
            profile_measures(self.style, self.content, output_wave, output_rate)
        )
        if self.speech:
            measures["speech_intelligibility"] = speech_intelligibility(
                self.wave, self.rate, output_wave, output_rate
            )
        measures["spectral_convergence"] = read_spectral_convergence(output)
        return Evaluation("audio", measures)


#: Styles' profiles, per file version and limits: a batch's reports measure
#: every output against the same style. With half an hour of style, four
#: 3 s clips' reports took 124 s against 25 s without, each analysing the
#: style again.
_STYLE_PROFILES: BoundedCache[StyleProfile] = BoundedCache(8)


def _style_profile(path: Source, **reading: Any) -> StyleProfile:
    """``path``'s :func:`~audiost.metrics.style_profile`, analysed once per file version, excerpt and limits (``reading``)."""
    return _STYLE_PROFILES.get(
        file_key(path, *sorted(reading.items())),
        lambda: style_profile(*_read_measurable(path, **reading)),
    )


def _read_measurable(path: Source, **limits: Any) -> tuple[np.ndarray, int]:
    """``path``'s audio and rate, refused in one line if over the limits or too short, silent or broken to measure."""
    from ..media.audio_io import check_audio, excerpt_name, load_audio

    wave, rate = load_audio(path, **limits)
    name = excerpt_name(
        os.fspath(path), limits.get("start", 0.0), limits.get("duration")
    )
    return check_audio(wave, rate, min_samples=analysis_frame(rate), name=name), rate


def texture_measures(
    style: Source,
    output: Source,
    limits: dict[str, Any],
    excerpt: tuple[float, float | None],
) -> Evaluation:
    """:func:`~audiost.evaluate.evaluate_texture` of an audio texture: both files read within ``limits`` (as :func:`~audiost.media.audio_io.load_audio` takes them), the style's ``(start, duration)`` ``excerpt``."""
    from ..media.audio_io import resample
    from ..metrics import (
        logmel_distance,
        longest_replay_s,
        loop_seam,
        modulation_distance,
        modulation_spectrum,
        noise_floor_db,
        stereo_width_db,
    )

    style_wave, style_rate = _read_measurable(
        style, **limits, start=excerpt[0], duration=excerpt[1]
    )
    style_wave = sounding_part(style_wave, style_rate, analysis_frame(style_rate))
    written, written_rate = _read_measurable(output, **limits)
    widths = {
        "stereo_width_db_style": stereo_width_db(style_wave),
        "stereo_width_db_output": stereo_width_db(written),
    }
    style_wave, output_wave = (
        resample(wave, rate, ANALYSIS_RATE).mean(axis=0)
        for wave, rate in ((style_wave, style_rate), (written, written_rate))
    )
    return Evaluation(
        "audio",
        {
            "style_distance_output": logmel_distance(
                output_wave, style_wave, ANALYSIS_RATE
            ),
            "modulation_distance_output": modulation_distance(
                modulation_spectrum(output_wave, ANALYSIS_RATE),
                modulation_spectrum(style_wave, ANALYSIS_RATE),
            ),
            "noise_floor_db_style": noise_floor_db(style_wave, ANALYSIS_RATE),
            "noise_floor_db_output": noise_floor_db(output_wave, ANALYSIS_RATE),
            "longest_replay_s": longest_replay_s(
                output_wave, style_wave, ANALYSIS_RATE
            ),
            # At the written rate: resampling treats the ends as ends,
            # which makes a seam of its own where a loop has none.
            "loop_seam": loop_seam(written, written_rate),
            **widths,
        },
    )
