"""Audio style transfer: the public ``transfer_audio`` pipeline.

load -> check -> encode (STFT) -> optimise the canvas -> Griffin-Lim ->
loudness -> write. Each stage is timed; the timings are part of the result
so benchmarks and reports read them instead of re-measuring.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .caching import BoundedCache, file_key
from .config import AudioConfig, audio_preset
from .device import resolve_device, stage
from .engine import (
    STYLE_LOSSES,
    ContentLoss,
    EnvelopeLoss,
    LevelDistributionLoss,
    Objective,
    Term,
    optimise_with,
)
from .engine.optimise import OptimisationResult, StepCallback
from .errors import AudiostError
from .features import VGG, AffineInput, BandedSpectralConv, FeatureNetwork
from .limits import format_bytes
from .media.audio import AudioCanvas, finish_loudness, left_right, mid_side
from .media.audio_io import (
    OUTPUT_SUBTYPES,
    check_audio,
    load_audio,
    read_sample_rate,
    resample,
    write_audio,
)
from .media.griffin_lim import griffin_lim
from .media.pghi import pghi_phase
from .media.sections import crossfade_weights, plan_sections
from .memory import check_audio_memory, out_of_memory_reported
from .outputs import check_output_path

AudioInput = str | os.PathLike | np.ndarray
LOG = logging.getLogger("audiost")
#: Neighbouring sections of a long content share this much audio (s).
SECTION_OVERLAP_S = 2.0
# Section edges where convolutions see a cut-off canvas are left out of the
# crossfade (frames; the widest preset kernel reaches 15).
_EDGE_FRAMES = 16
# log1p(|S| / floor) reaches about 12 at full scale: this maps it into [0, 1] for VGG.
_CANVAS_TO_IMAGE = 1 / 12
#: How far (20 dB, in canvas units) the start may rise above the style's
#: loudest in a bin. Measured on the corpus table: 0 flattened a content's
#: onsets, 40 dB left the train x 8 kHz hold music pair its slow residue.
_START_HEADROOM = math.log(10)


@dataclass
class AudioResult:
    """What a transfer produced: the audio ``(channels, samples)`` and how it got there."""

    audio: np.ndarray
    sr: int
    config: AudioConfig
    device: str
    losses: list[float] = field(default_factory=list)
    final_losses: dict[str, float] = field(default_factory=dict)
    #: Each iteration's loss terms, for loss curves.
    history: list[dict[str, float]] = field(default_factory=list)
    #: Of the audio written against the optimised spectrogram (0 = identical).
    spectral_convergence: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    output: Path | None = None
    warnings: list[str] = field(default_factory=list)


def transfer_audio(
    content: AudioInput,
    style: AudioInput,
    output: str | os.PathLike | None = None,
    *,
    config: AudioConfig | None = None,
    content_sr: int | None = None,
    style_sr: int | None = None,
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
        Where to write the result (.wav or .flac). Checked before any work;
        written atomically.
    config : AudioConfig, optional
        Defaults to the ``balanced`` preset; ``settings`` (any
        :class:`AudioConfig` field, e.g. ``iters=50``) override it.
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
        overwrite: bool = False,
        on_step: StepCallback | None = None,
    ) -> AudioResult:
        """Recompose ``content`` in the style of ``style``: see :func:`transfer_audio`."""
        with out_of_memory_reported(self.device, audio_input_name(content, "content")):
            return self._transfer(
                content, style, output, content_sr, style_sr, overwrite, on_step
            )

    def _transfer(
        self,
        content: AudioInput,
        style: AudioInput,
        output: str | os.PathLike | None,
        content_sr: int | None,
        style_sr: int | None,
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
                    suffixes=OUTPUT_SUBTYPES,
                )
            content_wave, content_rate = read_audio_input(
                content, content_sr, "content", cfg
            )
            sr = cfg.sample_rate or max(content_rate, _rate(style, style_sr, cfg))
            if cfg.mono:
                content_wave = content_wave.mean(axis=0, keepdims=True)
            audio_canvas = AudioCanvas(sr, device)
            # Checked at its own rate: resampling a constant (DC) signal rings at
            # its ends, which would hide that there is nothing to style.
            content_wave = check_audio(
                content_wave,
                content_rate,
                min_samples=audio_canvas.min_samples_at(content_rate),
                name=audio_input_name(content, "content"),
            )
            content_wave = resample(content_wave, content_rate, sr)
            peak = check_audio_memory(
                cfg,
                *content_wave.shape,
                sr,
                device,
                audio_input_name(content, "content"),
            )

        with stage(timings, "style", device):
            network = self._networks.get(
                sr, lambda: build_network(cfg, audio_canvas.stft.n_bins, sr).to(device)
            )
            key = file_key(style)
            channels = content_wave.shape[0]
            targets = self._styles.get(
                key and (key, sr, channels),
                lambda: self._prepare_style(
                    network, audio_canvas, style, style_sr, channels
                ),
            )
            # The content in the style's layout; the written result is left/right.
            styled_wave = mid_side(content_wave) if targets.mid_side else content_wave

        generator = torch.Generator(device).manual_seed(cfg.seed)
        spans = section_spans(cfg, audio_canvas, content_wave.shape[1])
        # Said once every input has been read, just before the long part.
        samples = content_wave.shape[1]
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
        result = _optimise_sections(
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
            wave = _decode_sections(
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


@dataclass
class StyleTargets:
    """What a style contributes to every objective.

    ``network`` is the feature network as it looks at canvases for this
    style (centred on its spectrum where the network asks for it),
    ``base`` the same network without that view, and ``losses`` the
    style's loss modules by term name.
    """

    network: FeatureNetwork
    base: FeatureNetwork
    losses: dict[str, nn.Module]
    #: The style's loudest log-magnitude in each bin, ``(N, 1, bins, 1)``.
    loudest: torch.Tensor
    #: The style (and so the content) is styled as mid and side, not left and right.
    mid_side: bool = False


def prepare_style(
    cfg: AudioConfig,
    network: FeatureNetwork,
    canvas: torch.Tensor,
    *,
    mid_side: bool = False,
) -> StyleTargets:
    """The style canvas's ``style_loss`` targets per style layer, its spectral envelope and level distribution.

    Every target is per channel of ``canvas`` (shape ``(N, 1, bins,
    frames)``): a canvas of as many channels is matched channel by channel,
    a one-channel style drives every channel. A network that is
    ``centre_on_style`` sees every canvas minus this style's mean
    log-magnitude per bin. ``mid_side``: the canvas's channels are mid and
    side (:func:`style_layout`).
    """
    base = network
    if network.centre_on_style:
        network = AffineInput(network, shift=canvas.mean(dim=(1, 3), keepdim=True))
    with torch.no_grad():
        features = network(canvas, network.style_layers)
    style_loss = STYLE_LOSSES[cfg.style_loss]
    losses: dict[str, nn.Module] = {
        f"style:{name}": style_loss(features[name], groups=network.groups)
        for name in network.style_layers
    }
    losses["spectral_envelope"] = EnvelopeLoss(canvas, "frequency")
    losses["level_distribution"] = LevelDistributionLoss(canvas, base.row_weights())
    return StyleTargets(
        network, base, losses, canvas.amax(dim=3, keepdim=True), mid_side
    )


def finish_audio(
    cfg: AudioConfig,
    device: torch.device,
    audio_canvas: AudioCanvas,
    result: OptimisationResult,
    wave: torch.Tensor,
    reference: np.ndarray,
    timings: dict[str, float],
    output: Path | None,
    *,
    mid_side: bool = False,
) -> AudioResult:
    """The end every audio pipeline shares: loudness, consistency, the result and its atomic write.

    ``reference`` is the audio whose loudness is matched (the content, or the
    style for a texture); its loudness pass counts to the ``reconstruct``
    stage the decode began; ``wave`` is in the canvas's layout (``mid_side``: mid and side channels).
    """
    with stage(timings, "reconstruct", device):
        consistency = audio_canvas.consistency(result.canvas, wave)
        audio = finish_loudness(
            (left_right(wave) if mid_side else wave).cpu().numpy(),
            reference if cfg.match_loudness else None,
        )
    out = AudioResult(
        audio=audio,
        sr=audio_canvas.sr,
        config=cfg,
        device=str(device),
        losses=result.losses,
        final_losses=result.parts,
        history=result.history,
        spectral_convergence=consistency,
        timings=timings,
        warnings=[result.stopped_early] if result.stopped_early else [],
    )
    if output is not None:
        with stage(timings, "write"):
            out.output = write_audio(
                output, audio, audio_canvas.sr, spectral_convergence=consistency
            )
    return out


def section_spans(
    cfg: AudioConfig, audio_canvas: AudioCanvas, samples: int
) -> list[tuple[int, int]]:
    """The STFT frame spans a content of ``samples`` is styled in: one span unless it is longer than ``section_seconds``."""
    frames_per_second = audio_canvas.sr / audio_canvas.stft.hop
    return plan_sections(
        samples // audio_canvas.stft.hop + 1,
        max(round(cfg.section_seconds * frames_per_second), 4 * _EDGE_FRAMES),
        round(SECTION_OVERLAP_S * frames_per_second),
    )


def _optimise_sections(
    cfg: AudioConfig,
    audio_canvas: AudioCanvas,
    content_wave: np.ndarray,
    style: StyleTargets,
    spans: list[tuple[int, int]],
    generator: torch.Generator,
    timings: dict[str, float],
    on_step: StepCallback | None,
) -> OptimisationResult:
    """Optimise the canvas section by section, each against the whole style's targets, and crossfade the sections.

    Memory is that of one section; the style statistics are the whole
    style file's for every section, so the sections share one style. A
    content that fits one section is optimised whole, exactly as before.
    """
    device = audio_canvas.device
    wave = torch.as_tensor(content_wave, dtype=torch.float32, device=device)
    total = spans[-1][1]
    merged = OptimisationResult(canvas=torch.empty(0))
    parts: dict[str, float] = {}
    notes = []
    for index, ((start, stop), weight) in enumerate(
        zip(spans, crossfade_weights(spans, _EDGE_FRAMES), strict=True)
    ):
        with stage(timings, "encode", device):
            content_canvas, _ = audio_canvas.encode_frames(wave, start, stop)
            objective = build_objective(cfg, style, content_canvas)
            init = (
                _content_start(cfg, content_canvas, style)
                if cfg.init == "content"
                else _noise_like(content_canvas, generator)
            )
        with stage(timings, "optimise", device):
            section = optimise_with(
                cfg,
                objective,
                init,
                # No upper bound: the level distribution already holds each
                # bin's loudest moments to the style's. A per-bin ceiling did
                # worse than nothing: cells the optimiser pushed past it got no
                # gradient and stayed there (81 % of the 65 Hz frames on
                # folk x game theme at strength 0.75, sub-bass 8.6 dB too loud).
                min_value=0.0,
                on_step=_overall_progress(on_step, index, len(spans), cfg.iters),
            )
        if index == 0:
            merged.canvas = torch.zeros(
                (*section.canvas.shape[:-1], total), device=device
            )
        merged.canvas[..., start:stop] += section.canvas * torch.as_tensor(
            weight, device=device
        )
        merged.losses += section.losses
        merged.history += section.history
        for name, value in section.parts.items():
            parts[name] = parts.get(name, 0.0) + value * (stop - start) / total
        if section.stopped_early:
            notes.append(
                section.stopped_early
                if len(spans) == 1
                else f"section {index + 1}: {section.stopped_early}"
            )
    merged.parts = parts
    merged.stopped_early = "; ".join(notes) or None
    return merged


def _overall_progress(
    on_step: StepCallback | None, index: int, count: int, iters: int
) -> StepCallback | None:
    """Report a section's iterations as progress through the whole run, in iterations of one section."""
    if on_step is None or count == 1:
        return on_step

    def report(iteration: int, loss: float) -> None:
        on_step(math.ceil((index * iters + iteration) / count), loss)

    return report


def _decode_sections(
    cfg: AudioConfig,
    audio_canvas: AudioCanvas,
    canvas: torch.Tensor,
    content_wave: np.ndarray,
    spans: list[tuple[int, int]],
    generator: torch.Generator,
) -> torch.Tensor:
    """Griffin-Lim section by section, crossfaded; memory stays that of one section.

    Each section starts, inside its overlap with the previous one, from the
    phase of the previous section's result: the two then agree there, so
    the crossfade neither cancels nor doubles anything.
    """
    stft, device = audio_canvas.stft, audio_canvas.device
    length = content_wave.shape[1]
    wave = torch.as_tensor(content_wave, dtype=torch.float32, device=device)
    samples = [
        (start * stft.hop, length if stop == spans[-1][1] else (stop - 1) * stft.hop)
        for start, stop in spans
    ]
    out = torch.zeros((content_wave.shape[0], length), device=device)
    previous: tuple[torch.Tensor, int] | None = None
    for (start, stop), (first, last), weight in zip(
        spans, samples, crossfade_weights(samples, stft.n_fft), strict=True
    ):
        magnitude = audio_canvas.magnitude(canvas[..., start:stop])
        phase = _start_phase(cfg, audio_canvas, magnitude, wave, start, stop, generator)
        if previous is not None:
            earlier, earlier_start = previous
            shared = stft.forward(earlier)[..., start - earlier_start :]
            shared = shared[..., : stop - start]
            phase[..., : shared.shape[-1]] = shared / shared.abs().clamp_min(1e-12)
        section = griffin_lim(
            magnitude, stft, last - first, n_iter=cfg.gl_iters, start_phase=phase
        )
        out[:, first:last] += section * torch.as_tensor(weight, device=device)
        previous = (section, start)
    return out


def _start_phase(
    cfg: AudioConfig,
    audio_canvas: AudioCanvas,
    magnitude: torch.Tensor,
    wave: torch.Tensor,
    start: int,
    stop: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """Griffin-Lim's start for frames ``start:stop``: the content's phase, PGHI's, or random."""
    if cfg.phase_init == "content":
        return audio_canvas.encode_frames(wave, start, stop)[1]
    if cfg.phase_init == "pghi":
        return pghi_phase(magnitude, audio_canvas.stft, generator=generator)
    angles = torch.rand(
        magnitude.shape, generator=generator, device=magnitude.device
    ) * (2 * torch.pi)
    return torch.polar(torch.ones_like(angles), angles)


def build_network(cfg: AudioConfig, n_bins: int, sr: int) -> FeatureNetwork:
    """The feature network ``cfg.net`` names, for canvases of ``n_bins`` bins at ``sr``."""
    if cfg.net == "spectral-conv":
        return BandedSpectralConv(
            n_bins, sr, cfg.kernel_widths, cfg.n_filters, seed=cfg.seed
        )
    return AffineInput(VGG(cfg.net, cfg.weights, seed=cfg.seed), _CANVAS_TO_IMAGE)


def build_objective(
    cfg: AudioConfig, style: StyleTargets, content: torch.Tensor
) -> Objective:
    """The transfer's objective for one content canvas.

    ``content_weight`` weighs what is taken from the content (its features
    and its loudness over time), ``style_weight`` what is taken from the
    style (its statistics and its average spectrum): at ``style_weight=0``
    the result is the content, and raising it moves the result steadily
    toward the style's texture.
    """
    network = style.network
    content_weight = cfg.content_weight / len(network.content_layers)
    if style.base.centre_on_style:
        terms = [
            Term(
                f"content:{name}",
                VariationContentLoss(style.base, name, content),
                content_weight,
            )
            for name in network.content_layers
        ]
    else:  # VGG on the spectrogram: the canvas's own features (Gatys et al.)
        with torch.no_grad():
            targets = network(content, network.content_layers)
        terms = [
            Term(f"content:{name}", ContentLoss(targets[name]), content_weight, name)
            for name in network.content_layers
        ]
    # Off by default: built only when asked for, not once per section for nothing.
    if cfg.temporal_envelope_weight:
        terms.append(
            Term(
                "temporal_envelope",
                EnvelopeLoss(content, "time"),
                cfg.content_weight * cfg.temporal_envelope_weight,
            )
        )
    return Objective(network, terms + style_terms(cfg, style))


def style_terms(cfg: AudioConfig, style: StyleTargets) -> list[Term]:
    """Every term taken from the style, scaled by ``style_weight``: its statistics per layer, average spectrum and level distribution.

    Shared by transfers and textures, so both weigh the style the same way.
    """
    layers = style.network.style_layers
    terms = [
        Term(
            f"style:{name}",
            style.losses[f"style:{name}"],
            cfg.style_weight / len(layers),
            name,
        )
        for name in layers
    ]
    return terms + [
        Term(name, style.losses[name], cfg.style_weight * weight)
        for name, weight in (
            ("spectral_envelope", cfg.spectral_envelope_weight),
            ("level_distribution", cfg.level_distribution_weight),
        )
        if weight
    ]


class VariationContentLoss(nn.Module):
    """Content loss on the features of how the canvas varies over time: each bin minus its mean over frames.

    The content is then what happens when (articulation, notes, onsets),
    not the content's average spectrum, which the style's spectral
    envelope and statistics are free to replace: on the corpus table this
    kept more of the content (onset correlation 0.84 to 0.86) and let more
    of the style in (style gain 0.80 to 0.83) than features of the canvas
    itself.
    """

    def __init__(self, network: FeatureNetwork, layer: str, content: torch.Tensor):
        super().__init__()
        self.network, self.layer = network, layer
        with torch.no_grad():
            self.loss = ContentLoss(self.features(content))

    def features(self, canvas: torch.Tensor) -> torch.Tensor:
        varying = canvas - canvas.mean(dim=-1, keepdim=True)
        return self.network(varying, [self.layer])[self.layer]

    def forward(self, canvas: torch.Tensor) -> torch.Tensor:
        return self.loss(self.features(canvas))


def _content_start(
    cfg: AudioConfig, content: torch.Tensor, style: StyleTargets
) -> torch.Tensor:
    """The content, at most :data:`_START_HEADROOM` louder in any bin than the style ever is there (the content itself when the style has no weight).

    A band the style lacks then starts nearly empty: emptying it is slow
    (train x 8 kHz hold music kept a residue 78 dB down above 4 kHz after
    80 iterations; style gain 0.74, from this start 0.86). A start, not a
    bound: the optimiser may raise any cell. Capped at the style's loudest
    itself, the engine's onsets were flattened where they outdo the
    didgeridoo's drone (content kept 0.83 to 0.76).
    """
    if not cfg.style_weight:
        return content
    return torch.minimum(content, style.loudest + _START_HEADROOM)


def _noise_like(canvas: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Uniform noise at half the canvas's mean level: the classic texture-synthesis start."""
    noise = torch.rand(canvas.shape, generator=generator, device=canvas.device)
    return noise * canvas.mean()


def style_layout(wave: np.ndarray, channels: int) -> tuple[np.ndarray, bool]:
    """The style's channels as a result of ``channels`` channels takes them, and whether they are mid/side.

    Two stereo inputs are styled as mid and side (:func:`~.media.audio.mid_side`),
    channel by channel. Otherwise a style whose channels do not match the
    result's is mixed to mono and drives every channel: a mono result
    takes the style as a mono listener hears it.
    """
    if wave.shape[0] == channels == 2:
        return mid_side(wave), True
    if wave.shape[0] not in (1, channels):
        wave = wave.mean(axis=0, keepdims=True)
    return wave, False


def _rate(source: AudioInput, sr: int | None, cfg: AudioConfig) -> int:
    """The style's sample rate, without decoding it where the header tells."""
    if isinstance(source, np.ndarray):
        return read_audio_input(source, sr, "style", cfg)[1]
    return read_sample_rate(
        source, max_seconds=cfg.max_duration, max_channels=cfg.max_channels
    )


def read_audio_input(
    source: AudioInput, sr: int | None, role: str, cfg: AudioConfig
) -> tuple[np.ndarray, int]:
    """``(channels, samples)`` float32 audio and its rate, from a file (within ``cfg``'s limits) or an array with ``sr``."""
    if isinstance(source, np.ndarray):
        if sr is None:
            raise AudiostError(
                f"the {role} is an array: pass its sample rate ({role}_sr=...)"
            )
        return np.atleast_2d(source).astype(np.float32), int(sr)
    return load_audio(
        source, max_seconds=cfg.max_duration, max_channels=cfg.max_channels
    )


def audio_input_name(source: AudioInput, role: str) -> str:
    """What messages call an input: its path, or ``<role array>`` for an array."""
    return f"<{role} array>" if isinstance(source, np.ndarray) else os.fspath(source)
