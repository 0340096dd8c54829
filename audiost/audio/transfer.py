"""Audio style transfer: the public ``transfer_audio`` pipeline.

load -> check -> encode (STFT) -> optimise the canvas -> Griffin-Lim ->
loudness -> write. Each stage is timed; the timings are part of the result
so benchmarks and reports read them instead of re-measuring.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..caching import BoundedCache, file_key
from ..config import AudioConfig, audio_preset
from ..device import resolve_device, stage
from ..engine import Objective
from ..engine.optimise import CanvasCallback, OptimisationResult, StepCallback
from ..engine.parts import SILENT, Fraction, Parts
from ..errors import AudiostError
from ..features import FeatureNetwork
from ..limits import format_bytes
from ..media.audio import AudioCanvas
from ..media.audio_io import (
    AUDIO_OUTPUT_FORMATS,
    check_audio,
    check_audio_output,
    excerpt_name,
    resample,
)
from ..media.edges import sounding_part
from ..media.stereo import mid_side
from ..memory import check_audio_memory, out_of_memory_reported
from ..outputs import check_output_path, intermediate_path
from .inputs import (
    AudioInput,
    StyleSource,
    as_styles,
    audio_input_name,
    input_rate,
    is_near_mono,
    read_audio_input,
    result_channels,
    styles_layout,
    widened,
)
from .objective import (
    StyleTargets,
    analysis_parts,
    analysis_steps,
    build_network,
    build_problem,
    prepare_styles,
    within_style_range,
)
from .result import AudioResult, finish_audio
from .sections import (
    decode_sections,
    optimise_sections,
    section_objectives,
    section_spans,
)
from .waveform import optimise_waveform

LOG = logging.getLogger("audiost")


#: One style, or several (a list) to blend or morph.
Styles = AudioInput | Sequence[AudioInput]
#: The style's rate, for arrays: one for all, or one per style.
StyleRates = int | Sequence[int | None] | None


def transfer_audio(
    content: AudioInput,
    style: Styles,
    output: str | os.PathLike | None = None,
    *,
    config: AudioConfig | None = None,
    content_sr: int | None = None,
    style_sr: StyleRates = None,
    start: float = 0.0,
    duration: float | None = None,
    style_start: float = 0.0,
    style_duration: float | None = None,
    overwrite: bool = False,
    save_every: int = 0,
    on_step: StepCallback | None = None,
    on_style: Fraction | None = None,
    **settings: Any,
) -> AudioResult:
    """Recompose ``content`` in the style of ``style``.

    Parameters
    ----------
    content, style : path or np.ndarray
        Audio files, or arrays shaped ``(samples,)`` or ``(channels, samples)``
        with their rates given in ``content_sr`` / ``style_sr``. ``style``
        may be a list: the styles' statistics are blended in the
        proportions ``style_weights`` gives (equal by default), or, with
        ``morph=True``, the style moves from the first to the last over
        the content's duration.
    output : path, optional
        Where to write the result (.wav, .flac, .aiff, .ogg or .mp3).
        Checked before any work; written atomically.
    config : AudioConfig, optional
        Defaults to the ``balanced`` preset; ``settings`` (any
        :class:`AudioConfig` field, e.g. ``iters=50``) override it.
    start, duration : float, optional
        Style only ``duration`` seconds of the content (None: to its end)
        from ``start``, to audition a long take; a file is read from
        ``start`` on, not decoded whole.
    style_start, style_duration : float, optional
        Imitate only this excerpt of each style (a song's chorus, a minute
        of an hour's field recording); a file is read from ``style_start``
        on, not decoded whole.
    overwrite : bool
        Replace an existing ``output`` (and intermediate results).
    save_every : int
        Also write the result every this many iterations (counted over
        all sections), beside ``output``: ``out.iter0050.wav``, to judge
        a long run early. 0: only the final result.
    on_step : callable, optional
        Progress callback ``(iteration, loss)``.
    on_style : callable, optional
        Told the fraction (0 to 1) of the styles' analysis done, block by
        block, before the first iteration: a style of minutes takes
        seconds (an hour of stereo, about a minute on a laptop CPU). Not
        called when the style's targets are reused (:class:`AudioStylist`).

    Returns
    -------
    AudioResult
        At the higher of the content's and the style's sample rates (or
        ``sample_rate`` if set: a lower-rate content is resampled up, so a
        wideband style keeps its top octaves), with the content's channel
        count and duration.

    Raises
    ------
    AudiostError
        For unreadable, silent, too short or non-finite inputs and unwritable
        outputs; nothing is written then.

    See Also
    --------
    AudioStylist : the same for many pairs, reusing the network and style targets.
    """
    stylist = AudioStylist(config, **settings)
    return stylist.transfer(
        content,
        style,
        output,
        content_sr=content_sr,
        style_sr=style_sr,
        start=start,
        duration=duration,
        style_start=style_start,
        style_duration=style_duration,
        overwrite=overwrite,
        save_every=save_every,
        on_step=on_step,
        on_style=on_style,
    )


class AudioStylist:
    """Audio transfers sharing one configuration: the batch worker's unit of reuse.

    The feature network (per sample rate) and each style file's targets
    (Gram or mean/std statistics and spectral envelope, per sample rate) are
    computed on first use and reused for every later content, so styling many
    clips with one style pays for the style once.
    """

    def __init__(self, config: AudioConfig | None = None, **settings: Any):
        self.config = (config or audio_preset()).replace(**settings)
        if self.config.seamless:
            raise AudiostError(
                "seamless is for textures (audiost texture): a transfer follows its content's timeline, which does not loop; leave it out"
            )
        self.device = resolve_device(self.config.device)
        self._networks: BoundedCache[FeatureNetwork] = BoundedCache(4)
        self._styles: BoundedCache[StyleTargets] = BoundedCache(32)

    def transfer(
        self,
        content: AudioInput,
        style: Styles,
        output: str | os.PathLike | None = None,
        *,
        content_sr: int | None = None,
        style_sr: StyleRates = None,
        start: float = 0.0,
        duration: float | None = None,
        style_start: float = 0.0,
        style_duration: float | None = None,
        overwrite: bool = False,
        save_every: int = 0,
        on_step: StepCallback | None = None,
        on_style: Fraction | None = None,
    ) -> AudioResult:
        """Recompose ``content`` in the style of ``style``: see :func:`transfer_audio`."""
        with out_of_memory_reported(self.device, audio_input_name(content, "content")):
            return self._transfer(
                content,
                as_styles(style, style_sr, self.config, style_start, style_duration),
                output,
                content_sr=content_sr,
                excerpt=(start, duration),
                overwrite=overwrite,
                save_every=save_every,
                on_step=on_step,
                on_style=on_style,
            )

    def problem(
        self,
        content: AudioInput,
        style: Styles,
        *,
        content_sr: int | None = None,
        style_sr: StyleRates = None,
        start: float = 0.0,
        duration: float | None = None,
        style_start: float = 0.0,
        style_duration: float | None = None,
    ) -> tuple[Objective, torch.Tensor]:
        """The objective and starting canvas of the content's first section, built as :meth:`transfer` builds them (with the same excerpts).

        For benchmarks and custom optimisation loops. The waveform stage
        minimises the same objective through the STFT
        (:func:`audiost.audio.waveform.optimise_waveform`).
        """
        styles = as_styles(style, style_sr, self.config, style_start, style_duration)
        content_wave, audio_canvas = self._read_content(
            content, content_sr, styles, (start, duration)
        )
        channels = result_channels(self.config, content_wave)
        targets = self._style_targets(audio_canvas, styles, channels)
        _, styled_wave = self._content_layouts(
            content_wave, channels, targets, audio_canvas, styles
        )
        spans = section_spans(self.config, audio_canvas, content_wave.shape[1])
        start, stop = spans[0]
        canvas, _ = audio_canvas.encode_frames(
            torch.as_tensor(styled_wave, device=self.device), start, stop
        )
        return build_problem(
            self.config,
            targets.during(start, stop, spans[-1][1], audio_canvas.frames_per_second),
            canvas,
            torch.Generator(self.device).manual_seed(self.config.seed),
        )

    def _transfer(
        self,
        content: AudioInput,
        styles: list[StyleSource],
        output: str | os.PathLike | None,
        *,
        content_sr: int | None,
        excerpt: tuple[float, float | None],
        overwrite: bool,
        save_every: int,
        on_step: StepCallback | None,
        on_style: Fraction | None,
    ) -> AudioResult:
        cfg, device = self.config, self.device
        if save_every < 0 or (save_every and output is None):
            raise AudiostError(
                "save_every writes beside the output: give an output path and a count >= 1"
            )
        timings: dict[str, float] = {}
        files = [
            p
            for p in (content, *(style.source for style in styles))
            if not isinstance(p, np.ndarray)
        ]
        with stage(timings, "load"):
            if output is not None:
                output = check_output_path(
                    output,
                    inputs=files,
                    overwrite=overwrite,
                    suffixes=AUDIO_OUTPUT_FORMATS,
                )
            content_wave, audio_canvas = self._read_content(
                content, content_sr, styles, excerpt
            )
            channels, samples = (
                result_channels(cfg, content_wave),
                content_wave.shape[1],
            )
            sr = audio_canvas.sr
            if output is not None:
                check_audio_output(output, sr, channels, cfg.bit_depth)
            extents = [style.extent() for style in styles]
            peak = check_audio_memory(
                cfg,
                channels,
                samples,
                sr,
                device,
                audio_input_name(content, "content"),
                [extent for extent in extents if extent is not None],
            )

        with stage(timings, "style", device):
            parts = analysis_parts(on_style, _lengths(extents), analysis_steps(cfg))
            targets = self._style_targets(audio_canvas, styles, channels, parts)
            content_wave, styled_wave = self._content_layouts(
                content_wave, channels, targets, audio_canvas, styles
            )
            if targets.mid_side and not cfg.stereo and is_near_mono(content_wave):
                # Said, not done: a side of the style's own timeline is right
                # for a noise's side (crackle), not for a band's.
                LOG.info(
                    "%s: mono to any listener; the result's side will have the style's own "
                    "timeline (--stereo: the content's, as wide as the style)",
                    audio_input_name(content, "content"),
                )

        generator = torch.Generator(device).manual_seed(cfg.seed)
        spans = section_spans(cfg, audio_canvas, samples)
        snapshots = None
        if save_every:
            snapshots = (
                save_every,
                self._intermediate_writer(
                    audio_canvas, styled_wave, content_wave, targets, spans, output,
                    files, overwrite, save_every,
                ),
            )  # fmt: skip
        # Said once every input has been read, just before the long part.
        LOG.info(
            "%s: %.1f s, %d channel%s at %d Hz%s, peak memory about %s on %s",
            audio_input_name(content, "content"),
            samples / sr,
            channels,
            "s" * (channels != 1),
            sr,
            f" in {len(spans)} sections" if len(spans) > 1 else "",
            format_bytes(peak),
            device,
        )
        result = optimise_sections(
            cfg,
            audio_canvas,
            styled_wave,
            targets,
            spans,
            generator,
            timings,
            on_step,
            snapshots,
        )
        with stage(timings, "reconstruct", device):
            result.canvas = within_style_range(cfg, result.canvas, targets)
            wave = decode_sections(
                cfg, audio_canvas, result.canvas, styled_wave, spans, generator
            )
        waveform = optimise_waveform(
            cfg,
            audio_canvas,
            wave,
            spans,
            section_objectives(cfg, audio_canvas, styled_wave, targets, spans),
            timings,
            on_step,
        )
        return finish_audio(
            cfg,
            device,
            audio_canvas,
            result,
            wave,
            content_wave,
            timings,
            output,
            mid_side=targets.mid_side,
            dry=content_wave,
            waveform=waveform,
            channels=channels,
        )

    def _intermediate_writer(
        self,
        audio_canvas: AudioCanvas,
        styled_wave: np.ndarray,
        content_wave: np.ndarray,
        targets: StyleTargets,
        spans: list[tuple[int, int]],
        output: Path,
        inputs: list[AudioInput],
        overwrite: bool,
        every: int,
    ) -> CanvasCallback:
        """What writes each ``save_every`` result, decoded and levelled as the final one; every file it will write is checked now, before the work."""
        cfg, device = self.config, self.device
        last = len(spans) * cfg.iters
        for step in range(every, last, every):
            check_output_path(
                intermediate_path(output, step),
                inputs=inputs,
                overwrite=overwrite,
                suffixes=AUDIO_OUTPUT_FORMATS,
            )

        def write(step: int, canvas: torch.Tensor) -> None:
            if step >= last:  # the final result is the output itself
                return
            canvas = within_style_range(cfg, canvas, targets)
            # Its own generator: the final result must not depend on save_every.
            generator = torch.Generator(device).manual_seed(cfg.seed)
            wave = decode_sections(
                cfg, audio_canvas, canvas, styled_wave, spans, generator
            )
            finish_audio(
                cfg, device, audio_canvas, OptimisationResult(canvas=canvas), wave,
                content_wave, {}, intermediate_path(output, step),
                mid_side=targets.mid_side, dry=content_wave,
                channels=content_wave.shape[0],
            )  # fmt: skip

        return write

    def _read_content(
        self,
        content: AudioInput,
        content_sr: int | None,
        styles: list[StyleSource],
        excerpt: tuple[float, float | None],
    ) -> tuple[np.ndarray, AudioCanvas]:
        """The checked content (or its ``(start, duration)`` excerpt) at the working rate (the highest of the inputs', or ``sample_rate``), and the canvas for that rate."""
        cfg = self.config
        start, duration = excerpt
        content_wave, content_rate = read_audio_input(
            content, content_sr, "content", cfg, start=start, duration=duration
        )
        sr = cfg.sample_rate or max(
            content_rate,
            *(input_rate(style.source, style.rate, cfg) for style in styles),
        )
        if cfg.mono:
            content_wave = content_wave.mean(axis=0, keepdims=True)
        audio_canvas = AudioCanvas(sr, self.device)
        # Checked at its own rate: resampling a constant (DC) signal rings at
        # its ends, which would hide that there is nothing to style.
        content_wave = check_audio(
            content_wave,
            content_rate,
            min_samples=audio_canvas.min_samples_at(content_rate),
            name=excerpt_name(audio_input_name(content, "content"), start, duration),
        )
        return resample(content_wave, content_rate, sr), audio_canvas

    def _content_layouts(
        self,
        content_wave: np.ndarray,
        channels: int,
        targets: StyleTargets,
        audio_canvas: AudioCanvas,
        styles: list[StyleSource],
    ) -> tuple[np.ndarray, np.ndarray]:
        """The content as heard in the result's ``channels`` (the loudness matched, the dry signal) and as styled, in the style's layout.

        With ``stereo``, a mono content is heard in both channels and
        styled widened to the style's width (:func:`~.inputs.widened`), and
        so is a stereo content that is mono to any listener
        (:func:`~.inputs.is_near_mono`; a voice saved as two identical
        channels): styled as it is, its near-silent side grows a side of
        its own timeline. Not without ``stereo``: on the singer styled by
        the vinyl record, widening cost the mono mix 0.02 of content kept
        and 0.03 of pitch kept, and a noise's side (crackle) has no reason
        to follow the voice.
        """
        width = None if targets.width is None else targets.width.cpu().numpy()
        sr, seed = audio_canvas.sr, self.config.seed
        if width is not None and self.config.stereo and is_near_mono(content_wave):
            mono = content_wave.mean(axis=0, keepdims=True)
            return content_wave, mid_side(widened(mono, width, sr, seed))
        if content_wave.shape[0] == channels:  # the written result is left/right
            return content_wave, (
                mid_side(content_wave) if targets.mid_side else content_wave
            )
        heard = np.repeat(content_wave, channels, axis=0)
        if width is None:  # styled once, written to both (finish_audio's channels)
            warnings.warn(
                f"{' + '.join(style.name for style in styles)}: mono, or mono to any "
                "listener: the stereo result has the same sound in both channels",
                stacklevel=2,
            )
            return heard, content_wave
        return heard, mid_side(widened(content_wave, width, sr, seed))

    def _style_targets(
        self,
        audio_canvas: AudioCanvas,
        styles: list[StyleSource],
        channels: int,
        parts: Parts = SILENT,
    ) -> StyleTargets:
        """The styles' targets for a result of ``channels`` channels at the canvas's rate, from the cache when every style is a file.

        ``parts`` (:func:`analysis_parts`) hears the analysis's progress,
        if there is one.
        """
        sr = audio_canvas.sr
        network = self._networks.get(
            sr,
            lambda: build_network(self.config, audio_canvas.stft.n_bins, sr).to(
                self.device
            ),
        )
        keys = tuple(
            file_key(style.source, style.start, style.duration) for style in styles
        )
        return self._styles.get(
            None if None in keys else (keys, sr, channels),
            lambda: self._prepare_styles(
                network, audio_canvas, styles, channels, parts
            ),
        )

    def _prepare_styles(
        self,
        network: FeatureNetwork,
        audio_canvas: AudioCanvas,
        styles: list[StyleSource],
        channels: int,
        parts: Parts,
    ) -> StyleTargets:
        waves, is_mid_side = styles_layout(
            [
                self._read_style(style, audio_canvas, parts.part(("read", index)))
                for index, style in enumerate(styles)
            ],
            channels,
        )
        # Each wave is let go once encoded: a long style's samples and its
        # canvas (twice their size) are not all held at once.
        canvases = []
        while waves:
            encoded = parts.part(("encode", len(canvases)))
            canvases.append(audio_canvas.encode_canvas(waves.pop(0), encoded))
        targets = prepare_styles(
            self.config,
            network,
            canvases,
            sr=audio_canvas.sr,
            mid_side=is_mid_side,
            parts=parts,
        )
        parts.finish()
        return targets

    def _read_style(
        self,
        style: StyleSource,
        audio_canvas: AudioCanvas,
        progress: Fraction | None,
    ) -> np.ndarray:
        """One style's (excerpt's) checked samples at the canvas's rate, its quiet lead-in and tail left out.

        They are the file's, not the style's: counted in its statistics, a
        ship's 1.5 s fade asked the output for as many dark moments, and a
        voice styled by it kept 0.76 of the way to the waves' statistics
        (0.99 without; docs/quality.md).
        """
        wave, sr = style.read(self.config, progress)
        minimum = audio_canvas.min_samples_at(sr)
        wave = check_audio(wave, sr, min_samples=minimum, name=style.name)
        return resample(sounding_part(wave, sr, minimum), sr, audio_canvas.sr)


def _lengths(extents: list[tuple[float, int, int] | None]) -> list[float]:
    """Each style's seconds for its share of the progress; one whose length no header tells counts as the others' mean."""
    known = [extent[0] for extent in extents if extent is not None]
    guess = sum(known) / len(known) if known else 1.0
    return [guess if extent is None else extent[0] for extent in extents]
