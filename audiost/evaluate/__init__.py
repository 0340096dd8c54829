"""Objective measures of a result: did it move toward the style, did it keep the content?

Both media get the same two headline numbers, each 0 for "the content
unchanged" and 1 for "the style itself":

- ``style_gain``: ``1 - d(output, style) / d(content, style)``, the share of
  the content's distance to the style's statistics that the output closed.
  Above 1 is impossible; below 0 means the output moved away.
- ``content_kept``: how much of the content's structure survives. Audio: the
  correlation of the output's and the content's onset envelopes (rhythm and
  articulation; 1 = same, about 0 = unrelated). Images: ``1 - d(output,
  content) / d(style, content)`` on deep features (1 = same layout, 0 = no
  more like the content than the style is).

Images also get two network-free measures, ``palette_gain`` and
``texture_gain`` (:mod:`audiost.image_metrics`), taken at one analysis size
relative to the picture. Audio measures are taken at one fixed rate (22.05
kHz), so a content and a style have one baseline whatever the output's rate. Audio distances are on
log-mel statistics (network-free, so they judge any
network fairly); image distances are VGG Gram and feature distances, as
Gatys et al. measure them.

The package: :mod:`.evaluation` (the result and what each measure means),
:mod:`.audio` and :mod:`.images` (each medium's measures of a pair's
outputs); here the entry points, which tell the media apart.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, NoReturn

from ..errors import AudiostError
from ..limits import MAX_CHANNELS, MAX_DURATION_S, MAX_MEGAPIXELS, reading_limits
from ..media.kind import media_kind
from . import audio, images
from .audio import AUDIO_OPTIONS, AudioPair, evaluate_audio
from .evaluation import DESCRIPTIONS, Evaluation, Source
from .images import COMPARE_SIZE, PicturePair, evaluate_image

__all__ = [
    "COMPARE_SIZE",
    "DESCRIPTIONS",
    "Evaluation",
    "Evaluator",
    "evaluate",
    "evaluate_audio",
    "evaluate_image",
    "evaluate_result",
    "evaluate_texture",
    "evaluate_texture_result",
]


def evaluate(
    content: Source, style: Source, output: Source, **options: Any
) -> Evaluation:
    """Measure ``output`` against the ``content`` and ``style`` it was made from.

    The kind (audio or image) is decided from the files; all three must be
    the same kind. ``options`` are those of :class:`~.audio.AudioPair`
    (input limits, excerpts, speech) or :class:`~.images.PicturePair` (the
    VGG used, the size, input limits). Several outputs of one pair:
    :class:`Evaluator` reads and analyses the pair once.

    Raises
    ------
    AudiostError
        For unreadable files or mixed kinds.
    """
    return Evaluator(content, style, **options).measure(output)


class Evaluator:
    """Measures of one content and style's outputs, each input read and analysed once.

    A sweep (strengths, presets, seeds) is measured output by output
    against the same pair. Audio: the content's and style's analyses are
    kept; images: one VGG is loaded, the style's Gram matrices and the
    content's features are kept for the last comparison size, and the
    pair's network-free statistics are taken once. Each output after the
    first took 6.5 s, now 3.4, against nine minutes of speech, and 2.3 s,
    now 0.6, for a 512 px picture with VGG16 (``scripts/bench_evaluate.py``,
    2-core CPU).

    ``options`` are those of :class:`~.audio.AudioPair` or
    :class:`~.images.PicturePair`. Raises AudiostError for an unreadable input,
    a content and style of different kinds, or an option of the other kind.
    """

    def __init__(self, content: Source, style: Source, **options: Any):
        kinds = {os.fspath(path): media_kind(path) for path in (content, style)}
        self.kind = kinds[os.fspath(content)]
        if len(set(kinds.values())) != 1:
            _mixed("content and style", kinds)
        is_audio = self.kind == "audio"
        foreign = [name for name in options if (name in AUDIO_OPTIONS) != is_audio]
        if foreign:
            kind = "images" if is_audio else "audio"
            names = ", ".join("--" + name.replace("_", "-") for name in foreign)
            verb = "applies" if len(foreign) == 1 else "apply"
            raise AudiostError(f"{names} {verb} to {kind} only")
        self.content, self.style = content, style
        pair = AudioPair if is_audio else PicturePair
        self._pair: AudioPair | PicturePair = pair(content, style, **options)
        self._outputs_given = _audiost_outputs(content, style)

    def measure(self, output: Source) -> Evaluation:
        """``output``'s measures (see the module docstring); it must be the pair's kind."""
        kind = media_kind(output)
        if kind != self.kind:
            _mixed(
                "content, style and output",
                {
                    os.fspath(self.content): self.kind,
                    os.fspath(self.style): self.kind,
                    os.fspath(output): kind,
                },
            )
        result = self._pair.measure(output)
        _warn_if_swapped(self._outputs_given, output)
        return result


def _mixed(roles: str, kinds: dict[str, str]) -> NoReturn:
    listed = ", ".join(f"{path} is {kind}" for path, kind in kinds.items())
    raise AudiostError(f"{roles} must be the same kind: {listed}")


def _audiost_outputs(content: Source, style: Source) -> list[tuple[str, Source]]:
    """The inputs (role, path) that carry audiost's record: read once per pair for :func:`_warn_if_swapped`."""
    from ..provenance import read_record

    return [
        (role, path)
        for role, path in (("CONTENT", content), ("STYLE", style))
        if read_record(path) is not None
    ]


def _warn_if_swapped(outputs_given: list[tuple[str, Source]], output: Source) -> None:
    """Warn when an input (``outputs_given``: :func:`_audiost_outputs`), not ``output``, carries audiost's record: the arguments are likely out of order.

    The measures cannot tell: with the output given as the content they are
    just as finite, only meaningless. An output styled again carries a
    record too, so a record on both sides says nothing.
    """
    from ..provenance import read_record

    if not outputs_given or read_record(output) is not None:
        return
    for role, path in outputs_given:
        warnings.warn(
            f"{os.fspath(path)}, given as {role}, is an audiost output and "
            f"{os.fspath(output)} is not: the order is CONTENT STYLE OUTPUT",
            stacklevel=3,
        )


def evaluate_result(
    content: Source,
    style: Source,
    result: Any,
    *,
    start: float = 0.0,
    duration: float | None = None,
    style_start: float = 0.0,
    style_duration: float | None = None,
) -> Evaluation:
    """:func:`evaluate` of a transfer's written output (an AudioResult or ImageResult), with the settings it ran with.

    The inputs are read within the limits the transfer was allowed (a raised
    ``max_channels`` or ``max_duration`` is not refused here after the work).
    Images are measured with the transfer's network; audio against the
    ``start``/``duration`` excerpt of the content the output was made from
    and the ``style_start``/``style_duration`` excerpt of the style it
    imitated.
    """
    if result.output is None:
        raise AudiostError("measuring a result needs its output file")
    cfg = result.config
    if hasattr(result, "sr"):
        return evaluate_audio(
            content,
            style,
            result.output,
            start=start,
            duration=duration,
            **_as_run(cfg, style_start, style_duration),
        )
    return evaluate_image(
        content,
        style,
        result.output,
        net=cfg.net,
        weights=cfg.weights,
        max_size=cfg.max_size,
        device=result.device,
        max_megapixels=cfg.max_megapixels,
    )


def evaluate_texture_result(
    style: Source,
    result: Any,
    *,
    style_start: float = 0.0,
    style_duration: float | None = None,
) -> Evaluation:
    """:func:`evaluate_texture` of a synthesis's written output, reading the style (audio: the excerpt imitated) within the limits it was made under."""
    if result.output is None:
        raise AudiostError("measuring a result needs its output file")
    cfg = result.config
    if not hasattr(result, "sr"):
        return evaluate_texture(style, result.output, max_megapixels=cfg.max_megapixels)
    return evaluate_texture(
        style, result.output, **_as_run(cfg, style_start, style_duration)
    )


def _as_run(
    cfg: Any, style_start: float, style_duration: float | None
) -> dict[str, Any]:
    """How an audio result's measures read its inputs: within the limits its run was allowed, the part of the style it imitated."""
    return {
        "max_duration": cfg.max_duration,
        "max_channels": cfg.max_channels,
        "style_start": style_start,
        "style_duration": style_duration,
    }


def evaluate_texture(
    style: Source,
    output: Source,
    *,
    max_duration: float = MAX_DURATION_S,
    max_channels: int = MAX_CHANNELS,
    style_start: float = 0.0,
    style_duration: float | None = None,
    max_megapixels: float = MAX_MEGAPIXELS,
) -> Evaluation:
    """How near a texture is to its style: network-free distances (there is no content to measure a gain from).

    Audio: the log-mel statistics distance (dB), both noise floors and the
    longest stretch of the style the texture replays (s), with the limits
    of :func:`evaluate_audio`, against the style's sounding part (of its
    ``style_start``/``style_duration`` excerpt), which is what a texture imitates (:func:`~audiost.media.edges.sounding_span`:
    its quiet lead-in and tail are the file's); and how abrupt its end
    running into its start is (:func:`~audiost.metrics.loop_seam`: would
    a loop of it click). Images: the palette and gradient-statistics
    distances, and how visible the edges are where copies of it meet
    (:func:`~audiost.image_metrics.tile_seam`), pictures over
    ``max_megapixels`` refused.
    """
    if media_kind(style) == "audio":
        return audio.texture_measures(
            style,
            output,
            reading_limits(max_duration, max_channels),
            (style_start, style_duration),
        )
    if style_start or style_duration is not None:
        raise AudiostError("a style excerpt is for audio; crop a picture first")
    return images.texture_measures(style, output, max_megapixels=max_megapixels)
