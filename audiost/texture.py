"""Texture synthesis: new sound of any length, or a picture of any size, with a style's texture and no content.

The canvas starts as noise and only the style terms pull on it: the style's
statistics (Gram matrices, or ``style_loss``) averaged over all positions,
plus, for audio, its average spectrum (Ulyanov & Lebedev 2016; Antognini et
al. 2019). Position-averaged statistics say nothing about *when* or *where*
anything happens, so the result does not replay the source's timeline, and
one canvas covers the whole length, so there are no seams to hide.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import torch

from .audio_transfer import (
    AudioInput,
    AudioResult,
    audio_input_name,
    build_network,
    finish_audio,
    prepare_style,
    read_audio_input,
    style_layout,
    style_terms,
)
from .config import AudioConfig, ImageConfig, audio_preset, image_preset
from .device import resolve_device, stage
from .engine import (
    AutocorrelationLoss,
    Objective,
    Term,
    TotalVariationLoss,
    optimise_with,
)
from .engine.optimise import StepCallback
from .errors import AudiostError
from .features.vgg import VGG
from .image_transfer import (
    ImageInput,
    ImageResult,
    coarse_to_fine,
    feature_objective,
    finish_image,
    image_input_name,
    log_plan,
    style_size,
    style_targets,
    tiles_for,
)
from .media.audio import AudioCanvas
from .media.audio_io import OUTPUT_SUBTYPES, check_audio, resample
from .media.image import from_canvas, resize, to_canvas, to_uint8
from .media.image_io import (
    MIN_SIDE,
    OUTPUT_FORMATS,
    load_image,
)
from .media.pghi import pghi_phase
from .memory import check_audio_memory, out_of_memory_reported, plan_image_memory
from .outputs import check_output_path

#: Weight of the rhythm (feature autocorrelation) term in audio textures.
RHYTHM_WEIGHT = 1.0
#: Longest lag, in seconds, the rhythm term matches: a few beats.
MAX_RHYTHM_S = 4.0


def synthesize_audio(
    style: AudioInput,
    seconds: float,
    output: str | os.PathLike | None = None,
    *,
    config: AudioConfig | None = None,
    style_sr: int | None = None,
    rhythm_weight: float = RHYTHM_WEIGHT,
    overwrite: bool = False,
    on_step: StepCallback | None = None,
    **settings: Any,
) -> AudioResult:
    """``seconds`` of new audio with the texture of ``style``, at its sample rate and channel count.

    ``config`` (default: the ``balanced`` preset) and ``settings`` are as for
    :func:`audiost.transfer_audio`; the content terms do not apply. The
    result is loudness-matched to the style. ``rhythm_weight`` weighs the
    match of each feature's autocorrelation over time (lags up to half the
    style's length, at most :data:`MAX_RHYTHM_S`), which keeps beats and
    onsets that the time-averaged statistics lose.

    Raises
    ------
    AudiostError
        For an unreadable or silent style, a duration shorter than one STFT
        frame, or an unwritable output.
    """
    cfg = (config or audio_preset()).replace(**settings)
    with out_of_memory_reported(
        resolve_device(cfg.device), audio_input_name(style, "style")
    ):
        return _synthesize_audio(
            cfg, style, seconds, output, style_sr, rhythm_weight, overwrite, on_step
        )


def _synthesize_audio(
    cfg: AudioConfig,
    style: AudioInput,
    seconds: float,
    output: str | os.PathLike | None,
    style_sr: int | None,
    rhythm_weight: float,
    overwrite: bool,
    on_step: StepCallback | None,
) -> AudioResult:
    if seconds > cfg.max_duration:
        raise AudiostError(
            f"texture duration {seconds:g} s is over the {cfg.max_duration:g} s limit; raise it with --max-duration"
        )
    timings: dict[str, float] = {}
    with stage(timings, "load"):
        if output is not None:
            inputs = [] if isinstance(style, np.ndarray) else [style]
            output = check_output_path(
                output, inputs=inputs, overwrite=overwrite, suffixes=OUTPUT_SUBTYPES
            )
        device = resolve_device(cfg.device)
        wave, sr = read_audio_input(style, style_sr, "style", cfg)
        if cfg.sample_rate:
            wave, sr = resample(wave, sr, cfg.sample_rate), cfg.sample_rate
        if cfg.mono:
            wave = wave.mean(axis=0, keepdims=True)
        audio_canvas = AudioCanvas(sr, device)
        wave = check_audio(
            wave,
            sr,
            min_samples=audio_canvas.min_samples,
            name=audio_input_name(style, "style"),
        )
        length = round(seconds * sr)
        if length < audio_canvas.min_samples:
            raise AudiostError(
                f"texture duration {seconds:g} s is shorter than one analysis frame ({audio_canvas.min_samples / sr:.3f} s)"
            )
        check_audio_memory(
            cfg,
            wave.shape[0],
            max(length, wave.shape[1]),
            sr,
            device,
            audio_input_name(style, "style"),
        )

    with stage(timings, "style", device):
        styled_wave, is_mid_side = style_layout(wave, wave.shape[0])
        style_canvas, _ = audio_canvas.encode(styled_wave)
        targets = prepare_style(
            cfg,
            build_network(cfg, audio_canvas.stft.n_bins, sr).to(device),
            style_canvas,
        )
        network = targets.network
        with torch.no_grad():
            features = network(style_canvas, network.style_layers)
        terms = style_terms(cfg, targets)
        frames = (
            1 + length // audio_canvas.stft.hop
        )  # centred frames, as the STFT makes them
        max_lag = min(
            style_canvas.shape[-1] // 2,
            frames // 2,
            round(MAX_RHYTHM_S * sr / audio_canvas.stft.hop),
        )
        if max_lag >= 1:
            terms += [
                Term(
                    f"rhythm:{name}",
                    AutocorrelationLoss(features[name], max_lag),
                    rhythm_weight / len(network.style_layers),
                    name,
                )
                for name in network.style_layers
            ]
        objective = Objective(network, terms)
        generator = torch.Generator(device).manual_seed(cfg.seed)
        # Noise shaped by the style's average spectrum: the optimiser starts with
        # the right timbre and spends its iterations on the texture's structure.
        level = style_canvas.mean(dim=-1, keepdim=True)
        init = (
            torch.rand(
                (wave.shape[0], 1, audio_canvas.stft.n_bins, frames),
                generator=generator,
                device=device,
            )
            * 2
            * level
        )

    with stage(timings, "optimise", device):
        result = optimise_with(
            cfg,
            objective,
            init,
            min_value=0.0,
            on_step=on_step,
        )

    with stage(timings, "reconstruct", device):
        # There is no content phase to start from: PGHI's estimate from the
        # magnitude beats a random start (docs/phase_reconstruction.md),
        # unless a random start is asked for.
        phase = None
        if cfg.phase_init != "random":
            phase = pghi_phase(
                audio_canvas.magnitude(result.canvas),
                audio_canvas.stft,
                generator=generator,
            )
        synthesised = audio_canvas.decode(
            result.canvas,
            length,
            n_iter=cfg.gl_iters,
            phase=phase,
            generator=generator,
        )
    return finish_audio(
        cfg,
        device,
        audio_canvas,
        result,
        synthesised,
        wave,
        timings,
        output,
        mid_side=is_mid_side,
    )


def synthesize_image(
    style: ImageInput,
    size: tuple[int, int],
    output: str | os.PathLike | None = None,
    *,
    config: ImageConfig | None = None,
    overwrite: bool = False,
    on_step: StepCallback | None = None,
    **settings: Any,
) -> ImageResult:
    """A new ``size`` = ``(width, height)`` picture with the texture of ``style``.

    The style is scaled to the output's pixel count times ``style_scale``
    squared, as in a transfer, so its motifs keep their size relative to the
    picture; larger than ``start_size``, it is synthesised coarse to fine.

    Raises
    ------
    AudiostError
        For an unreadable style, an unusable size or weights, or an unwritable output.
    """
    cfg = (config or image_preset()).replace(**settings)
    with out_of_memory_reported(
        resolve_device(cfg.device), image_input_name(style, "style")
    ):
        return _synthesize_image(cfg, style, size, output, overwrite, on_step)


def _synthesize_image(
    cfg: ImageConfig,
    style: ImageInput,
    size: tuple[int, int],
    output: str | os.PathLike | None,
    overwrite: bool,
    on_step: StepCallback | None,
) -> ImageResult:
    width, height = size
    if min(width, height) < MIN_SIDE or width * height > cfg.max_megapixels * 1e6:
        raise AudiostError(
            f"texture size {width}x{height} px: each side must be at least {MIN_SIDE} px and the total at most {cfg.max_megapixels:g} megapixels (--max-megapixels)"
        )
    timings: dict[str, float] = {}
    with stage(timings, "load"):
        if output is not None:
            inputs = [style] if isinstance(style, (str, os.PathLike)) else []
            output = check_output_path(
                output, inputs=inputs, overwrite=overwrite, suffixes=OUTPUT_FORMATS
            )
        device = resolve_device(cfg.device)
        picture = load_image(style, max_pixels=int(cfg.max_megapixels * 1e6))
        tile_side, peak = plan_image_memory(
            cfg,
            size,
            [math.prod(style_size(picture.rgb, size, cfg.style_scale))],
            device,
            what=image_input_name(style, "style"),
        )
        network = VGG(cfg.net, cfg.weights, pooling=cfg.pooling, seed=cfg.seed).to(
            device
        )
        log_plan(image_input_name(style, "style"), size, tile_side, peak, device)

    generator = torch.Generator(device).manual_seed(cfg.seed)
    weights = cfg.style_layer_weights or (1.0,) * len(cfg.style_layers)

    def objective_at(scale_size: tuple[int, int]) -> Objective:
        style_canvas = to_canvas(
            resize(picture.rgb, style_size(picture.rgb, scale_size, cfg.style_scale)),
            device,
        )
        targets = style_targets(cfg, network, style_canvas, tile_side)
        terms = [
            Term(
                f"style:{name}",
                targets[name],
                cfg.style_weight * weight / sum(weights),
                name,
            )
            for name, weight in zip(cfg.style_layers, weights, strict=True)
        ]
        terms.append(Term("tv", TotalVariationLoss(style_canvas), cfg.tv_weight))
        tiles = tiles_for(scale_size[1], scale_size[0], tile_side)
        return feature_objective(network, terms, tiles)

    def first_init(scale_size: tuple[int, int]) -> torch.Tensor:
        # Noise around the style's mean colour: the right palette from the start.
        mean = torch.as_tensor(
            picture.rgb.reshape(-1, 3).mean(axis=0), device=device
        ).view(1, 3, 1, 1)
        noise = torch.rand(
            (1, 3, scale_size[1], scale_size[0]), generator=generator, device=device
        )
        return (mean + 0.5 * (noise - 0.5)).clamp(0, 1)

    with stage(timings, "optimise", device):
        result = coarse_to_fine(cfg, (width, height), objective_at, first_init, on_step)
    canvas = result.canvas

    pixels = to_uint8(from_canvas(canvas))
    return finish_image(cfg, device, pixels, result, timings, output)
