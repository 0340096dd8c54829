"""Audio inputs: a file (read within the configured limits) or an array with its rate, and the channel layouts content and style are styled in."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ..config import AudioConfig
from ..engine.parts import Fraction
from ..errors import AudiostError
from ..media.audio_io import (
    audio_header,
    excerpt,
    excerpt_name,
    load_audio,
    read_sample_rate,
)
from ..media.stereo import decorrelated, mid_side, side_over_mid

AudioInput = str | os.PathLike | np.ndarray


def read_audio_input(
    source: AudioInput,
    sr: int | None,
    role: str,
    cfg: AudioConfig,
    *,
    start: float = 0.0,
    duration: float | None = None,
    progress: Fraction | None = None,
) -> tuple[np.ndarray, int]:
    """``(channels, samples)`` float32 audio and its rate, from a file (within ``cfg``'s limits) or an array with ``sr``.

    ``start`` and ``duration`` (seconds) select an excerpt; a file is then
    read from ``start`` on, not decoded whole. ``progress`` hears the
    fraction of a file decoded.
    """
    if isinstance(source, np.ndarray):
        if sr is None:
            raise AudiostError(
                f"the {role} is an array: pass its sample rate ({role}_sr=...)"
            )
        audio = np.atleast_2d(source).astype(np.float32)
        if start or duration is not None:
            audio = excerpt(audio, int(sr), start, duration, f"<{role} array>")
        rate = int(sr)
    else:
        audio, rate = load_audio(
            source,
            max_seconds=cfg.max_duration,
            max_channels=cfg.max_channels,
            start=start,
            duration=duration,
            progress=progress,
        )
    if progress is not None:  # also where none was heard: an array, a librosa decode
        progress(1.0)
    return audio, rate


def input_rate(source: AudioInput, sr: int | None, cfg: AudioConfig) -> int:
    """The style's sample rate, without decoding it where the header tells."""
    if isinstance(source, np.ndarray):
        return read_audio_input(source, sr, "style", cfg)[1]
    return read_sample_rate(
        source, max_seconds=cfg.max_duration, max_channels=cfg.max_channels
    )


def audio_extent(source: AudioInput, sr: int | None) -> tuple[float, int, int] | None:
    """``(seconds, channels, rate)`` of an input without decoding it (a file's header, an array's shape); None where unknown."""
    if isinstance(source, np.ndarray):
        if not sr or not source.size:
            return None
        shape = np.shape(np.atleast_2d(source))
        return shape[-1] / sr, shape[0], int(sr)
    return audio_header(source)


def audio_input_name(source: AudioInput, role: str) -> str:
    """What messages call an input: its path, or ``<role array>`` for an array."""
    return f"<{role} array>" if isinstance(source, np.ndarray) else os.fspath(source)


class StyleSource(NamedTuple):
    """One style as a transfer reads it: a file or array, its rate (arrays), and the excerpt imitated (seconds; ``duration`` None: to the end)."""

    source: AudioInput
    rate: int | None
    start: float = 0.0
    duration: float | None = None

    def read(
        self, cfg: AudioConfig, progress: Fraction | None = None
    ) -> tuple[np.ndarray, int]:
        """The excerpt's samples and rate (:func:`read_audio_input`)."""
        return read_audio_input(
            self.source,
            self.rate,
            "style",
            cfg,
            start=self.start,
            duration=self.duration,
            progress=progress,
        )

    @property
    def name(self) -> str:
        """What messages call it: the file (or ``<style array>``) and the excerpt."""
        return excerpt_name(
            audio_input_name(self.source, "style"), self.start, self.duration
        )

    def extent(self) -> tuple[float, int, int] | None:
        """:func:`audio_extent` of the excerpt: ``(seconds, channels, rate)`` without decoding, None where unknown."""
        extent = audio_extent(self.source, self.rate)
        if extent is None:
            return None
        seconds, channels, rate = extent
        seconds = max(seconds - self.start, 0.0)
        if self.duration is not None:
            seconds = min(seconds, self.duration)
        return seconds, channels, rate


def as_styles(
    style: AudioInput | Sequence[AudioInput],
    style_sr: int | Sequence[int | None] | None,
    cfg: AudioConfig,
    start: float = 0.0,
    duration: float | None = None,
) -> list[StyleSource]:
    """The styles with their rates (for arrays) and the excerpt of each to imitate, checked against ``cfg``: as many ``style_weights`` as styles, two or more to morph."""
    styles = (
        list(style)
        if isinstance(style, Sequence) and not isinstance(style, str)
        else [style]
    )
    if not styles:
        raise AudiostError("give at least one style")
    rates = (
        list(style_sr) if isinstance(style_sr, Sequence) else [style_sr] * len(styles)
    )
    if len(rates) != len(styles):
        raise AudiostError(f"{len(rates)} style rates given for {len(styles)} styles")
    if cfg.style_weights and len(cfg.style_weights) != len(styles):
        raise AudiostError(
            f"{len(cfg.style_weights)} style weights given for {len(styles)} style{'s' * (len(styles) != 1)}; give one weight per style"
        )
    if cfg.morph and len(styles) < 2:
        raise AudiostError(
            "a morph moves from one style to another; give two styles or more"
        )
    return [
        StyleSource(source, rate, start, duration)
        for source, rate in zip(styles, rates, strict=True)
    ]


def styles_layout(
    waves: list[np.ndarray], channels: int
) -> tuple[list[np.ndarray], bool]:
    """Several styles in one layout (:func:`style_layout`), so that their statistics blend channel by channel.

    Mid/side only if every style is stereo; otherwise a style whose layout
    differs from the others' is mixed to mono with them, and the mono
    blend drives every channel.
    """
    laid = [style_layout(wave, channels) for wave in waves]
    if len({(wave.shape[0], is_mid_side) for wave, is_mid_side in laid}) == 1:
        return [wave for wave, _ in laid], laid[0][1]
    return [wave.mean(axis=0, keepdims=True) for wave in waves], False


#: A stereo recording whose side is this far (dB) below its mid is mono
#: to any listener: the corpus's tabla loop has its side at -59 dB (only
#: quantisation differences), its real stereo recordings at -18 dB or above.
#: Searched by turning a stereo style's side down (the folk song styled,
#: balanced, style gain as mid and side against mixed to mono): the djembe
#: 0.75 / 0.74 at -40 dB, but 0.71 / 0.76 at -45 and 0.64 / 0.76 at -50,
#: where its side stalls; the game theme's side still works at -50 (0.86 /
#: 0.75). Above -40 mid and side did as well or better on both and kept
#: the style's width (the output's side within 1 dB of the style's).
NEAR_MONO_DB = -40.0


def is_near_mono(wave: np.ndarray) -> bool:
    """Whether a stereo ``(2, samples)`` signal's side is :data:`NEAR_MONO_DB` or more below its mid.

    Such a side is near-silent noise. Styled as its own channel, its
    relative terms are steep and the optimisation stalls on them: the
    tabla loop's texture kept its rhythm term at 1.0 (0.20 from its mono
    mix), its beat correlating 0.43 with the loop's (0.93).
    """
    return wave.shape[0] == 2 and side_over_mid(wave) <= 10 ** (NEAR_MONO_DB / 10)


def style_layout(wave: np.ndarray, channels: int) -> tuple[np.ndarray, bool]:
    """The style's channels as a result of ``channels`` channels takes them, and whether they are mid/side.

    Two stereo inputs are styled as mid and side (:func:`~.media.audio.mid_side`),
    channel by channel. Otherwise a style whose channels do not match the
    result's is mixed to mono and drives every channel: a mono result
    takes the style as a mono listener hears it. So does a stereo style
    that is mono to any listener (:func:`is_near_mono`): as mid and side,
    its near-silent side left a stereo song styled by the tabla loop
    unchanged (style gain -0.13, loss 27; mixed to mono 0.57, loss 2.5).
    """
    if is_near_mono(wave):
        wave = wave.mean(axis=0, keepdims=True)
    if wave.shape[0] == channels == 2:
        return mid_side(wave), True
    if wave.shape[0] not in (1, channels):
        wave = wave.mean(axis=0, keepdims=True)
    return wave, False


def result_channels(cfg: AudioConfig, content: np.ndarray) -> int:
    """The channels of the result of ``content`` ``(channels, samples)``: its own, or two for a mono content with ``cfg.stereo``."""
    return 2 if cfg.stereo and content.shape[0] == 1 else content.shape[0]


def widened(content: np.ndarray, width: np.ndarray, sr: int, seed: int) -> np.ndarray:
    """A mono ``content`` ``(1, samples)`` at ``sr`` as stereo left and right: its mid the content, its side the content as wide as a style.

    ``width`` is the style's side over its mid in each bin
    (:func:`~.objective.style_width`); the side is the content through a
    filter of that amplitude and random phase (seeded by ``seed``:
    :func:`~audiost.media.stereo.decorrelated`), so the styled side
    follows the content's moments with the style's width. Started from a
    silent side, the optimisation grew a side of its own timeline instead
    (a voice styled by the djembe: the side's onsets correlated -0.03 with
    the voice, 0.94 from this side; docs/quality.md).
    """
    side = decorrelated(content[0], width, sr, seed)
    return np.stack([content[0] + side, content[0] - side])
