"""Audio style transfer: the public ``transfer_audio`` pipeline.

load -> check -> encode (STFT) -> optimise the canvas -> Griffin-Lim ->
loudness -> write. Each stage is timed; the timings are part of the result
so benchmarks and reports read them instead of re-measuring.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np
import torch

from ..caching import BoundedCache, file_key
from ..config import AudioConfig, audio_preset
from ..device import resolve_device, stage
from ..engine import Objective
from ..engine.optimise import StepCallback
from ..features import FeatureNetwork
from ..limits import format_bytes
from ..media.audio import AudioCanvas, mid_side
from ..media.audio_io import (
    AUDIO_OUTPUT_FORMATS,
    check_audio,
    check_audio_output,
    resample,
)
from ..memory import check_audio_memory, out_of_memory_reported
from ..outputs import check_output_path
from .inputs import (
    AudioInput,
    audio_input_name,
    input_rate,
    read_audio_input,
    style_layout,
)
from .objective import StyleTargets, build_network, build_problem, prepare_style
from .result import AudioResult, finish_audio
from .sections import decode_sections, optimise_sections, section_spans

LOG = logging.getLogger("audiost")


def transfer_audio(
    content: AudioInput,
    style: AudioInput,
    output: str | os.PathLike | None = None,
    *,
    config: AudioConfig | None = None,
    content_sr: int | None = None,
    style_sr: int | None = None,
    start: float = 0.0,
    duration: float | None = None,
    overwrite: bool = False,
    on_step: StepCallback | None = None,
    **settings: Any,
) -> AudioResult:
    """Recompose ``content`` in the style of ``style``.

    Parameters
    ----------
    content, style : path or np.ndarray
        Audio files, or arrays shaped ``(samples,)`` or ``(channels, samples)``
        with their rates given in ``content_sr`` / ``style_sr``.
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
    overwrite : bool
        Replace an existing ``output``.
    on_step : callable, optional
        Progress callback ``(iteration, loss)``.

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
        overwrite=overwrite,
        on_step=on_step,
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
        self.device = resolve_device(self.config.device)
        self._networks: BoundedCache[FeatureNetwork] = BoundedCache(4)
        self._styles: BoundedCache[StyleTargets] = BoundedCache(32)

    def transfer(
        self,
        content: AudioInput,
        style: AudioInput,
        output: str | os.PathLike | None = None,
        *,
        content_sr: int | None = None,
        style_sr: int | None = None,
        start: float = 0.0,
        duration: float | None = None,
        overwrite: bool = False,
        on_step: StepCallback | None = None,
    ) -> AudioResult:
        """Recompose ``content`` in the style of ``style``: see :func:`transfer_audio`."""
        with out_of_memory_reported(self.device, audio_input_name(content, "content")):
            return self._transfer(
                content,
                style,
                output,
                content_sr=content_sr,
                style_sr=style_sr,
                excerpt=(start, duration),
                overwrite=overwrite,
                on_step=on_step,
            )

    def problem(
        self,
        content: AudioInput,
        style: AudioInput,
        *,
        content_sr: int | None = None,
        style_sr: int | None = None,
    ) -> tuple[Objective, torch.Tensor]:
        """The objective and starting canvas of the content's first section, built as :meth:`transfer` builds them.

        For benchmarks and custom optimisation loops.
        """
        content_wave, audio_canvas = self._read_content(
            content, content_sr, style, style_sr
        )
        targets = self._style_targets(
            audio_canvas, style, style_sr, content_wave.shape[0]
        )
        start, stop = section_spans(self.config, audio_canvas, content_wave.shape[1])[0]
        canvas, _ = audio_canvas.encode_frames(
            torch.as_tensor(
                _in_style_layout(content_wave, targets), device=self.device
            ),
            start,
            stop,
        )
        return build_problem(
            self.config,
            targets,
            canvas,
            torch.Generator(self.device).manual_seed(self.config.seed),
        )

    def _transfer(
        self,
        content: AudioInput,
        style: AudioInput,
        output: str | os.PathLike | None,
        *,
        content_sr: int | None,
        style_sr: int | None,
        excerpt: tuple[float, float | None],
        overwrite: bool,
        on_step: StepCallback | None,
    ) -> AudioResult:
        cfg, device = self.config, self.device
        timings: dict[str, float] = {}
        with stage(timings, "load"):
            if output is not None:
                output = check_output_path(
                    output,
                    inputs=[
                        p for p in (content, style) if not isinstance(p, np.ndarray)
                    ],
                    overwrite=overwrite,
                    suffixes=AUDIO_OUTPUT_FORMATS,
                )
            content_wave, audio_canvas = self._read_content(
                content, content_sr, style, style_sr, excerpt
            )
            channels, samples = content_wave.shape
            sr = audio_canvas.sr
            if output is not None:
                check_audio_output(output, sr, channels, cfg.bit_depth)
            peak = check_audio_memory(
                cfg,
                channels,
                samples,
                sr,
                device,
                audio_input_name(content, "content"),
            )

        with stage(timings, "style", device):
            targets = self._style_targets(audio_canvas, style, style_sr, channels)
            styled_wave = _in_style_layout(content_wave, targets)

        generator = torch.Generator(device).manual_seed(cfg.seed)
        spans = section_spans(cfg, audio_canvas, samples)
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
        )
        with stage(timings, "reconstruct", device):
            wave = decode_sections(
                cfg, audio_canvas, result.canvas, styled_wave, spans, generator
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
        )

    def _read_content(
        self,
        content: AudioInput,
        content_sr: int | None,
        style: AudioInput,
        style_sr: int | None,
        excerpt: tuple[float, float | None] = (0.0, None),
    ) -> tuple[np.ndarray, AudioCanvas]:
        """The checked content (or its ``(start, duration)`` excerpt) at the working rate (the higher of the two inputs', or ``sample_rate``), and the canvas for that rate."""
        cfg = self.config
        start, duration = excerpt
        content_wave, content_rate = read_audio_input(
            content, content_sr, "content", cfg, start=start, duration=duration
        )
        sr = cfg.sample_rate or max(content_rate, input_rate(style, style_sr, cfg))
        if cfg.mono:
            content_wave = content_wave.mean(axis=0, keepdims=True)
        audio_canvas = AudioCanvas(sr, self.device)
        # Checked at its own rate: resampling a constant (DC) signal rings at
        # its ends, which would hide that there is nothing to style.
        content_wave = check_audio(
            content_wave,
            content_rate,
            min_samples=audio_canvas.min_samples_at(content_rate),
            name=audio_input_name(content, "content"),
        )
        return resample(content_wave, content_rate, sr), audio_canvas

    def _style_targets(
        self,
        audio_canvas: AudioCanvas,
        style: AudioInput,
        style_sr: int | None,
        channels: int,
    ) -> StyleTargets:
        """The style's targets for a result of ``channels`` channels at the canvas's rate, from the cache when the style is a file."""
        sr = audio_canvas.sr
        network = self._networks.get(
            sr,
            lambda: build_network(self.config, audio_canvas.stft.n_bins, sr).to(
                self.device
            ),
        )
        key = file_key(style)
        return self._styles.get(
            key and (key, sr, channels),
            lambda: self._prepare_style(
                network, audio_canvas, style, style_sr, channels
            ),
        )

    def _prepare_style(
        self,
        network: FeatureNetwork,
        audio_canvas: AudioCanvas,
        style: AudioInput,
        style_sr: int | None,
        channels: int,
    ) -> StyleTargets:
        wave, sr = read_audio_input(style, style_sr, "style", self.config)
        wave = check_audio(
            wave,
            sr,
            min_samples=audio_canvas.min_samples_at(sr),
            name=audio_input_name(style, "style"),
        )
        wave, is_mid_side = style_layout(resample(wave, sr, audio_canvas.sr), channels)
        return prepare_style(
            self.config, network, audio_canvas.encode(wave)[0], mid_side=is_mid_side
        )


def _in_style_layout(wave: np.ndarray, targets: StyleTargets) -> np.ndarray:
    """The content in the style's channel layout (mid/side or as is); the written result is left/right."""
    return mid_side(wave) if targets.mid_side else wave
