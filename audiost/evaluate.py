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
"""

from __future__ import annotations

import os
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .caching import BoundedCache, file_key
from .errors import AudiostError
from .limits import MAX_CHANNELS, MAX_DURATION_S, MAX_MEGAPIXELS
from .media.edges import sounding_part
from .media.kind import media_kind
from .metrics import (
    ANALYSIS_RATE,
    StyleProfile,
    analysis_frame,
    content_profile,
    profile_measures,
    relative_gain,
    speech_intelligibility,
    style_profile,
)

Source = str | os.PathLike


@dataclass
class Evaluation:
    """Measures of one output; ``measures`` maps name to value (see the module docstring)."""

    kind: str
    measures: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: What each measure means, for ``audiost evaluate`` and the docs.
DESCRIPTIONS = {
    "style_gain": "share of the content's distance to the style closed by the output (0 = content, 1 = style)",
    "content_kept": "content structure kept (audio: onset-envelope correlation; images: 1 - relative feature distance)",
    "pitch_kept": "audio: the content's notes kept, each moment's pitch-class correlation weighed by how tonal the content is there (1 = the same notes, about 0 = unrelated; for tunes and singing, not for noise)",
    "style_distance_content": "distance of the content to the style's statistics",
    "style_distance_output": "distance of the output to the style's statistics",
    "content_distance_output": "distance of the output's deep features to the content's (images)",
    "content_distance_style": "distance of the style's deep features to the content's (images)",
    "style_onsets_content": "onset-envelope correlation of the content with the style (audio; their timelines are unrelated: about 0)",
    "style_onsets_output": "onset-envelope correlation of the output with the style (audio): near the content's own, or the style's timeline was pasted in",
    "modulation_gain": "audio: share of the content's distance to the style's modulation spectrum closed (how fast each band pulses and trembles, 1 to 64 Hz, which the statistics above average away; 0 = content, 1 = style)",
    "modulation_distance_content": "RMS difference (dB) of the content's modulation spectrum from the style's",
    "modulation_distance_output": "the same for the output",
    "noise_floor_db_content": "level of the content's quietest moments, dB re its mean power",
    "noise_floor_db_style": "level of the style's quietest moments, dB re its mean power",
    "noise_floor_db_output": "level of the output's quietest moments (a hiss floor raises it)",
    "noise_floor_added_db": "output's noise floor over the louder of the two inputs' floors: a floor neither input has (hiss) when above about 6 dB",
    "speech_intelligibility": "audio, --speech: STOI of the output against the spoken content (1 = as intelligible, about 0.4 = words lost, above 0.75 most words follow)",
    "palette_gain": "images, network-free: share of the content's colour-distribution distance to the style closed (0 = content, 1 = style)",
    "palette_distance_content": "sliced Wasserstein distance of the content's colours to the style's (RGB, 0..1)",
    "palette_distance_output": "the same for the output",
    "structure_kept": "images, network-free: correlation of the output's edge map with the content's at 64 px (1 = same layout of light and dark, about 0 = unrelated)",
    "texture_gain": "images, network-free: share of the content's distance to the style's gradient statistics closed, seen at 256 px (strokes that scale with the picture count, a fine grain does not)",
    "texture_distance_content": "distance of the content's gradient statistics to the style's",
    "texture_distance_output": "the same for the output",
    "longest_replay_s": "textures (audio): seconds, the longest stretch of the output that follows the style frame by frame (new material: tenths at most; a copied stretch: its length)",
    "loop_seam": "textures (audio): how abrupt the end running into the start is, against the texture's median moment (a --seamless loop: about 1; a click: tens to hundreds)",
    "tile_seam": "textures (images): the colour step where copies of the picture meet, over the median step between two neighbouring lines inside (a --seamless tile: about 1; a cut: 1.15 to 1.33, the size of its most abrupt line or more)",
    "spectral_convergence": "reconstruction: | |STFT(audio written)| - the optimised spectrogram | / |spectrogram| (0 = consistent; the waveform stage, optimising the audio itself, may move it away)",
}


def evaluate(
    content: Source, style: Source, output: Source, **options: Any
) -> Evaluation:
    """Measure ``output`` against the ``content`` and ``style`` it was made from.

    The kind (audio or image) is decided from the files; all three must be
    the same kind. ``options`` are those of :func:`evaluate_audio` (input
    limits) or :func:`evaluate_image` (the VGG used, input limits). Several
    outputs of one pair: :class:`Evaluator` reads and analyses the pair once.

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
    kept (nine minutes of speech: each output after the first took 6.4 s
    here, now 3.1). Images: one VGG is loaded, and the content's and
    style's features are kept for the last comparison size (512 px, VGG16:
    2.6 s an output after the first, now 1.0).

    ``options`` are those of :func:`evaluate_audio` or
    :func:`evaluate_image`. Raises AudiostError for an unreadable input,
    a content and style of different kinds, or an option of the other kind.
    """

    def __init__(self, content: Source, style: Source, **options: Any):
        kinds = {os.fspath(path): media_kind(path) for path in (content, style)}
        self.kind = kinds[os.fspath(content)]
        if len(set(kinds.values())) != 1:
            _mixed("content and style", kinds)
        audio = self.kind == "audio"
        foreign = [name for name in options if (name in _AUDIO_OPTIONS) != audio]
        if foreign:
            kind = "images" if audio else "audio"
            names = ", ".join("--" + name.replace("_", "-") for name in foreign)
            verb = "applies" if len(foreign) == 1 else "apply"
            raise AudiostError(f"{names} {verb} to {kind} only")
        self.content, self.style = content, style
        pair = _AudioPair if audio else _PicturePair
        self._pair: _AudioPair | _PicturePair = pair(content, style, **options)

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
        _warn_if_swapped(self.content, self.style, output)
        return result


def _mixed(roles: str, kinds: dict[str, str]) -> None:
    listed = ", ".join(f"{path} is {kind}" for path, kind in kinds.items())
    raise AudiostError(f"{roles} must be the same kind: {listed}")


def _warn_if_swapped(content: Source, style: Source, output: Source) -> None:
    """Warn when an input, not ``output``, carries audiost's record: the arguments are likely out of order.

    The measures cannot tell: with the output given as the content they are
    just as finite, only meaningless. An output styled again carries a
    record too, so a record on both sides says nothing.
    """
    from .provenance import read_record

    if read_record(output) is not None:
        return
    for role, path in (("CONTENT", content), ("STYLE", style)):
        if read_record(path) is not None:
            warnings.warn(
                f"{os.fspath(path)}, given as {role}, is an audiost output and "
                f"{os.fspath(output)} is not: the order is CONTENT STYLE OUTPUT",
                stacklevel=3,
            )


_AUDIO_OPTIONS = (
    "max_duration",
    "max_channels",
    "start",
    "duration",
    "style_start",
    "style_duration",
    "speech",
)
#: Images are compared at most at this long side (the output's size if smaller).
COMPARE_SIZE = 512


def evaluate_audio(
    content: Source,
    style: Source,
    output: Source,
    *,
    max_duration: float = MAX_DURATION_S,
    max_channels: int = MAX_CHANNELS,
    start: float = 0.0,
    duration: float | None = None,
    style_start: float = 0.0,
    style_duration: float | None = None,
    speech: bool = False,
) -> Evaluation:
    """Audio measures at :data:`~audiost.metrics.ANALYSIS_RATE` (all three files resampled to it, mono).

    Files longer than ``max_duration`` seconds or with more than
    ``max_channels`` channels are refused, as by a transfer. ``start`` and
    ``duration`` select the excerpt of the content that the output was
    made from (``transfer --start/--duration``), so that the two align;
    ``style_start`` and ``style_duration`` the excerpt of the style it
    imitated. The style is measured as it is imitated, without its quiet
    lead-in and tail (:func:`~audiost.metrics.style_profile`).
    With ``speech`` (the content is spoken), also ``speech_intelligibility``
    (:func:`~audiost.metrics.speech_intelligibility`, which needs pystoi).
    """
    return _AudioPair(
        content,
        style,
        max_duration=max_duration,
        max_channels=max_channels,
        start=start,
        duration=duration,
        style_start=style_start,
        style_duration=style_duration,
        speech=speech,
    ).measure(output)


class _AudioPair:
    """An audio content and style, read and analysed for :func:`evaluate_audio`'s measures of any number of outputs."""

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
        self.limits = {"max_seconds": max_duration, "max_channels": max_channels}
        self.wave, self.rate = _read_measurable(
            content, **self.limits, start=start, duration=duration
        )
        self.style = _style_profile(
            style, start=style_start, duration=style_duration, **self.limits
        )
        self.content = content_profile(self.wave, self.rate)
        if speech:  # said before any output is measured
            try:
                import pystoi  # noqa: F401
            except ImportError:
                raise AudiostError(
                    "measuring speech intelligibility needs pystoi: pip install 'audiost[speech]'"
                ) from None
        self.speech = speech

    def measure(self, output: Source) -> Evaluation:
        from .media.audio_io import read_spectral_convergence

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
    from .media.audio_io import check_audio, excerpt_name, load_audio

    wave, rate = load_audio(path, **limits)
    name = excerpt_name(
        os.fspath(path), limits.get("start", 0.0), limits.get("duration")
    )
    return check_audio(wave, rate, min_samples=analysis_frame(rate), name=name), rate


def evaluate_image(
    content: Source,
    style: Source,
    output: Source,
    *,
    net: str = "vgg19",
    weights: str | None = None,
    max_size: int = COMPARE_SIZE,
    device: str = "auto",
    max_megapixels: float = MAX_MEGAPIXELS,
) -> Evaluation:
    """Image measures on VGG features, all three images at the output's size (at most ``max_size``).

    Images over ``max_megapixels`` are refused before decoding, as by a transfer.
    """
    return _PicturePair(
        content,
        style,
        net=net,
        weights=weights,
        max_size=max_size,
        device=device,
        max_megapixels=max_megapixels,
    ).measure(output)


class _PicturePair:
    """A content and style picture, read for :func:`evaluate_image`'s measures of any number of outputs.

    The VGG is loaded with the first output read (a typo in a path must not
    wait for, or fail on, a weights download), and the pair's features are
    kept per comparison size.
    """

    def __init__(
        self,
        content: Source,
        style: Source,
        *,
        net: str = "vgg19",
        weights: str | None = None,
        max_size: int = COMPARE_SIZE,
        device: str = "auto",
        max_megapixels: float = MAX_MEGAPIXELS,
    ):
        from .device import resolve_device
        from .media.image_io import load_image

        self.max_pixels = int(max_megapixels * 1e6)
        self.content, self.style = (
            load_image(path, max_pixels=self.max_pixels).rgb
            for path in (content, style)
        )
        self.net, self.weights, self.max_size = net, weights, max_size
        self.device = resolve_device(device)
        self._network: Any = None
        # One size's: a sweep's outputs share their size (about 240 MB at 512 px).
        self._features: BoundedCache[dict[str, Any]] = BoundedCache(1)

    def measure(self, output: Source) -> Evaluation:
        import torch

        from .engine import ContentLoss, GramLoss
        from .image_metrics import image_measures
        from .media.image import fit_size
        from .media.image_io import load_image

        picture = load_image(output, max_pixels=self.max_pixels)
        rgb, size = picture.rgb, fit_size(picture.size, self.max_size)
        network, pair = self._pair_features(size)
        layers, content_layer = list(network.style_layers), network.content_layers[0]
        with torch.no_grad():
            features = network(self._canvas(rgb, size), [*layers, content_layer])

            def style_distance(of: dict[str, torch.Tensor]) -> float:
                return float(
                    np.mean(
                        [
                            float(GramLoss(pair["style"][name])(of[name]))
                            for name in layers
                        ]
                    )
                )

            content_loss = ContentLoss(pair["content"][content_layer])
            before_style = style_distance(pair["content"])
            after_style = style_distance(features)
            after_content = float(content_loss(features[content_layer]))
            before_content = float(content_loss(pair["style_as_content"]))
        measures: dict[str, float | None] = {
            "style_gain": relative_gain(before_style, after_style),
            "content_kept": 1.0 - after_content / max(before_content, 1e-12),
            "style_distance_content": before_style,
            "style_distance_output": after_style,
            "content_distance_output": after_content,
            "content_distance_style": before_content,
        }
        measures |= image_measures(self.content, self.style, rgb)
        return Evaluation("image", measures)

    def _pair_features(self, size: tuple[int, int]) -> tuple[Any, dict[str, Any]]:
        """The network, and the content's and style's features at ``size`` (taken once per size)."""
        import torch

        from .features.vgg import VGG
        from .image.scales import style_size

        if self._network is None:
            self._network = VGG(self.net, self.weights).to(self.device)
        network = self._network
        layers = [*network.style_layers, network.content_layers[0]]

        def features() -> dict[str, Any]:
            # Styles are compared at the content's pixel count, as the transfer
            # sees them; content distances need equal shapes, so the style is
            # also taken at the content's exact size.
            with torch.no_grad():
                return {
                    "content": network(self._canvas(self.content, size), layers),
                    "style": network(
                        self._canvas(self.style, style_size(self.style, size, 1.0)),
                        layers,
                    ),
                    "style_as_content": network(
                        self._canvas(self.style, size), network.content_layers
                    )[network.content_layers[0]],
                }

        return network, self._features.get(size, features)

    def _canvas(self, rgb: np.ndarray, shape: tuple[int, int]) -> Any:
        from .media.image import resize, to_canvas

        return to_canvas(resize(rgb, shape), self.device)


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
        from .media.audio_io import resample
        from .metrics import (
            logmel_distance,
            longest_replay_s,
            loop_seam,
            modulation_distance,
            modulation_spectrum,
            noise_floor_db,
        )

        limits = {"max_seconds": max_duration, "max_channels": max_channels}
        style_wave, style_rate = _read_measurable(
            style, **limits, start=style_start, duration=style_duration
        )
        style_wave = sounding_part(style_wave, style_rate, analysis_frame(style_rate))
        written, written_rate = _read_measurable(output, **limits)
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
            },
        )
    if style_start or style_duration is not None:
        raise AudiostError("a style excerpt is for audio; crop a picture first")
    from .image_metrics import palette_distance, texture_distance, tile_seam
    from .media.image_io import load_image

    max_pixels = int(max_megapixels * 1e6)
    style_rgb, output_rgb = (
        load_image(path, max_pixels=max_pixels).rgb for path in (style, output)
    )
    return Evaluation(
        "image",
        {
            "palette_distance_output": palette_distance(output_rgb, style_rgb),
            "texture_distance_output": texture_distance(output_rgb, style_rgb),
            "tile_seam": tile_seam(output_rgb),
        },
    )
