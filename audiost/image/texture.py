"""Image texture synthesis: a picture of any size with a style's texture and no content.

The canvas starts as noise around the style's mean colour and only the
style terms pull on it: statistics averaged over all positions say nothing
about *where* anything is, so the result does not replay the source's layout.
A ``seamless`` texture's convolutions, smoothing and coarse-to-fine
upsampling wrap round its edges, so copies of it tile without a seam.
"""

from __future__ import annotations

import math
import os
from typing import Any

import torch

from ..config import ImageConfig, image_preset
from ..device import resolve_device, stage
from ..engine import Objective, Term, TotalVariationLoss
from ..engine.optimise import StepCallback
from ..errors import AudiostError
from ..features.vgg import VGG
from ..media.image import from_canvas, resize, to_canvas, to_uint8
from ..media.image_io import MIN_SIDE, OUTPUT_FORMATS, load_image
from ..memory import out_of_memory_reported, plan_image_memory
from ..outputs import check_output_path
from .inputs import ImageInput, image_input_name
from .objective import feature_objective, style_targets, tiles_for
from .result import ImageResult, finish_image, log_plan
from .scales import coarse_to_fine, style_size


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
        if cfg.seamless and tiles_for(height, width, tile_side) is not None:
            # Tiles are evaluated with their neighbours' pixels as context;
            # a picture that wraps has its opposite edge there instead.
            raise AudiostError(
                f"a seamless texture is made in one piece, and {width}x{height} px would go in tiles (it needs more memory than --max-memory or the device allows, or tile_size is set); ask for a smaller --size"
            )
        log_plan(image_input_name(style, "style"), size, tile_side, peak, device)

    generator = torch.Generator(device).manual_seed(cfg.seed)
    weights = cfg.style_layer_weights or (1.0,) * len(cfg.style_layers)

    def objective_at(scale_size: tuple[int, int]) -> Objective:
        style_canvas = to_canvas(
            resize(picture.rgb, style_size(picture.rgb, scale_size, cfg.style_scale)),
            device,
        )
        # A tiling texture's features read across its edges (FeatureNetwork.pad_edges).
        style_edges, edges = (
            ("replicate", "circular") if cfg.seamless else ("zeros",) * 2
        )
        targets = style_targets(
            cfg, network.pad_edges(style_edges), style_canvas, tile_side
        )
        network.pad_edges(edges)
        terms = [
            Term(
                f"style:{name}",
                targets[name],
                cfg.style_weight * weight / sum(weights),
                name,
            )
            for name, weight in zip(cfg.style_layers, weights, strict=True)
        ]
        terms.append(
            Term(
                "tv",
                TotalVariationLoss(style_canvas, wrap=cfg.seamless),
                cfg.tv_weight,
            )
        )
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
    return finish_image(cfg, device, pixels, result, timings, output, "texture")
