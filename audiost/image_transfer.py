"""Image style transfer: the public ``transfer_image`` pipeline.

load -> check -> resize (and colour handling) -> optimise the canvas, coarse
to fine -> re-attach alpha -> write. The same engine as audio: VGG features,
relative content and Gram losses, L-BFGS. Each stage is timed; the timings
are part of the result.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .config import ImageConfig, image_preset
from .device import resolve_device, seconds_since
from .engine import ContentLoss, GramLoss, Objective, Term, TotalVariationLoss, optimise
from .engine.optimise import StepCallback
from .errors import AudiostError
from .features.vgg import VGG, vgg_layer_names
from .media.image import (
    fit_size,
    from_canvas,
    match_colour,
    match_luminance,
    resize,
    rgb_to_yiq,
    to_canvas,
    to_uint8,
    yiq_to_rgb,
)
from .media.image_io import OUTPUT_FORMATS, Picture, load_image, write_image
from .outputs import check_output_path, default_output_path

ImageInput = str | os.PathLike | np.ndarray | Image.Image


@dataclass
class ImageResult:
    """What a transfer produced: a uint8 image ``(H, W, 3)``, or ``(H, W, 4)`` with the content's alpha, and how it got there."""

    image: np.ndarray
    config: ImageConfig
    device: str
    losses: list[float] = field(default_factory=list)
    final_losses: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    output: Path | None = None
    warnings: list[str] = field(default_factory=list)


def transfer_image(
    content: ImageInput,
    styles: ImageInput | Sequence[ImageInput],
    output: str | os.PathLike | None = None,
    *,
    config: ImageConfig | None = None,
    overwrite: bool = False,
    on_step: StepCallback | None = None,
    **settings: Any,
) -> ImageResult:
    """Repaint ``content`` in the style of one or several ``styles``.

    Parameters
    ----------
    content : path, np.ndarray or PIL.Image.Image
        The picture whose layout is kept. Its alpha channel, if any, is
        re-attached to the result.
    styles : image or sequence of images
        One style, or several blended by ``style_weights``. Each is resized to
        the content's pixel count times ``style_scale`` squared.
    output : path, optional
        Where to write the result (.png, or .jpg/.jpeg without alpha).
        Checked before any work; written atomically.
    config : ImageConfig, optional
        Defaults to the ``balanced`` preset; ``settings`` (any
        :class:`ImageConfig` field, e.g. ``iters=50``) override it.
    overwrite : bool
        Replace an existing ``output``.
    on_step : callable, optional
        Progress callback ``(iteration, loss)``; iterations count on across
        scales, up to ``iters * scales``.

    Returns
    -------
    ImageResult
        At the content's aspect ratio, long side at most ``max_size``.

    Raises
    ------
    AudiostError
        For unreadable, corrupt, too small or too large images, unusable
        weights, unknown layers and unwritable outputs; nothing is written then.
    """
    cfg = (config or image_preset()).replace(**settings)
    style_list = _as_list(styles)
    if not style_list:
        raise AudiostError("need at least one style image")
    if cfg.style_weights and len(cfg.style_weights) != len(style_list):
        raise AudiostError(f"{len(cfg.style_weights)} style weights given for {len(style_list)} style images")
    known = vgg_layer_names(cfg.net)
    unknown = [name for name in (*cfg.content_layers, *cfg.style_layers) if name not in known]
    if unknown:
        raise AudiostError(f"unknown layer(s) {', '.join(unknown)}; {cfg.net} has {', '.join(known)}")
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    if output is not None:
        paths = [p for p in (content, *style_list) if isinstance(p, (str, os.PathLike))]
        output = check_output_path(output, inputs=paths, overwrite=overwrite, suffixes=OUTPUT_FORMATS)
    device = resolve_device(cfg.device)

    content_picture = load_image(content)
    style_pictures = [load_image(style) for style in style_list]
    network = VGG(cfg.net, cfg.weights, pooling=cfg.pooling, seed=cfg.seed).to(device)
    timings["load"] = seconds_since(clock)

    clock = time.perf_counter()
    size = fit_size(content_picture.size, cfg.max_size)
    content_image, styles_images, colour = _prepare(cfg, content_picture, style_pictures, size)
    timings["prepare"] = seconds_since(clock)

    clock = time.perf_counter()
    generator = torch.Generator(device).manual_seed(cfg.seed)
    losses: list[float] = []
    problems: list[str] = []
    canvas: torch.Tensor | None = None
    for index, scale_size in enumerate(_scale_sizes(size, cfg.scales)):
        content_canvas = to_canvas(resize(content_image, scale_size), device)
        style_canvases = [to_canvas(resize(image, _style_size(image, scale_size, cfg.style_scale)), device) for image in styles_images]
        objective = _build_objective(cfg, network, content_canvas, style_canvases)
        init = _initial(cfg.init, content_canvas, style_canvases[0], generator) if canvas is None else _upsample(canvas, scale_size)
        offset = index * cfg.iters
        step = None if on_step is None else (lambda i, loss, offset=offset: on_step(offset + i, loss))
        result = optimise(objective, init, iters=cfg.iters, optimizer=cfg.optimizer, lr=cfg.lr, min_value=0.0, max_value=1.0, on_step=step)
        # A scale that stopped early still hands on its last finite canvas.
        canvas = result.canvas
        losses += result.losses
        problems += [result.stopped_early] if result.stopped_early else []
    timings["optimise"] = seconds_since(clock, device)

    clock = time.perf_counter()
    image = from_canvas(canvas)
    if colour is not None:
        image = yiq_to_rgb(np.concatenate([image[..., None], colour], axis=2))
    pixels = to_uint8(image)
    if content_picture.alpha is not None:
        pixels = np.concatenate([pixels, to_uint8(resize(content_picture.alpha, size))[..., None]], axis=2)
    timings["decode"] = seconds_since(clock)

    out = ImageResult(
        image=pixels,
        config=cfg,
        device=str(device),
        losses=losses,
        final_losses=result.parts,
        timings=timings,
        warnings=problems,
    )
    if output is not None:
        if pixels.shape[2] == 4 and OUTPUT_FORMATS[output.suffix.lower()] == "JPEG":
            out.warnings.append("JPEG has no alpha channel: the content's transparency was dropped; write .png to keep it")
        clock = time.perf_counter()
        out.output = write_image(output, pixels)
        timings["write"] = seconds_since(clock)
    return out


def default_image_output(content: str | os.PathLike, styles: str | os.PathLike | Sequence[str | os.PathLike]) -> Path:
    """``<content-stem>_x_<style-stem>.png`` (stems of several styles joined by ``+``) in the current directory."""
    stems = "+".join(Path(style).stem for style in _as_list(styles))
    return default_output_path(content, Path(f"{stems}.png"), ".png")


def _as_list(styles: ImageInput | Sequence[ImageInput]) -> list[ImageInput]:
    if isinstance(styles, (str, os.PathLike, np.ndarray, Image.Image)):
        return [styles]
    return list(styles)


def _prepare(
    cfg: ImageConfig, content: Picture, styles: list[Picture], size: tuple[int, int]
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray | None]:
    """Content and styles at full working size, in the canvas's colour space.

    Returns the content image, the style images and, for luminance-only
    transfer, the content's I/Q colour planes to put back afterwards.
    """
    content_rgb = resize(content.rgb, size)
    style_rgbs = [resize(style.rgb, _style_size(style.rgb, size, cfg.style_scale)) for style in styles]
    if cfg.preserve_color == "histogram":
        return content_rgb, [match_colour(style, content_rgb) for style in style_rgbs], None
    if cfg.preserve_color == "luminance":
        content_yiq = rgb_to_yiq(content_rgb)
        luminance = content_yiq[..., 0]
        return luminance, [match_luminance(rgb_to_yiq(style)[..., 0], luminance) for style in style_rgbs], content_yiq[..., 1:]
    return content_rgb, style_rgbs, None


def _scale_sizes(size: tuple[int, int], scales: int) -> list[tuple[int, int]]:
    """Coarse-to-fine sizes, halving per scale: a coarse pass fixes large structures cheaply."""
    return [fit_size(size, max(size) / 2 ** (scales - 1 - k)) for k in range(scales)]


def _style_size(style: np.ndarray, content_size: tuple[int, int], style_scale: float) -> tuple[int, int]:
    """Scale the style to the content's pixel count times ``style_scale`` squared.

    Brush strokes then keep their size relative to the picture, whatever
    either image's resolution, and an extreme aspect ratio (a 16x800 strip)
    does not blow a style up to its long side.
    """
    height, width = style.shape[:2]
    scale = style_scale * math.sqrt(content_size[0] * content_size[1] / (width * height))
    return fit_size((width, height), max(width, height) * scale, upscale=True)


def _build_objective(cfg: ImageConfig, network: VGG, content: torch.Tensor, styles: list[torch.Tensor]) -> Objective:
    with torch.no_grad():
        content_features = network(content, cfg.content_layers)
        style_features = [network(style, cfg.style_layers) for style in styles]
    content_weights = _normalised(cfg.content_layer_weights, len(cfg.content_layers))
    layer_weights = _normalised(cfg.style_layer_weights, len(cfg.style_layers))
    mix = _normalised(cfg.style_weights, len(styles))
    terms = [
        Term(f"content:{name}", ContentLoss(content_features[name]), cfg.content_weight * weight, name)
        for name, weight in zip(cfg.content_layers, content_weights, strict=True)
    ]
    for number, (features, share) in enumerate(zip(style_features, mix, strict=True), start=1):
        prefix = "style" if len(styles) == 1 else f"style{number}"
        terms += [
            Term(f"{prefix}:{name}", GramLoss(features[name]), cfg.style_weight * share * weight, name)
            for name, weight in zip(cfg.style_layers, layer_weights, strict=True)
        ]
    terms.append(Term("tv", TotalVariationLoss(content), cfg.tv_weight))
    return Objective(network, terms)


def _normalised(weights: tuple[float, ...], count: int) -> list[float]:
    """Weights summing to 1 (equal if none given), so totals stay comparable when layers or styles are added."""
    values = weights or (1.0,) * count
    total = sum(values)
    return [w / total for w in values]


def _initial(init: str, content: torch.Tensor, style: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    if init == "content":
        return content
    if init == "style":
        return F.interpolate(style, size=content.shape[-2:], mode="bicubic", align_corners=False).clamp(0, 1)
    return torch.rand(content.shape, generator=generator, device=content.device)


def _upsample(canvas: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(canvas, size=(size[1], size[0]), mode="bicubic", align_corners=False).clamp(0, 1)
