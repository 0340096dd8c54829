"""Image style transfer: the public ``transfer_image`` pipeline.

load -> check -> resize (and colour handling) -> optimise the canvas, coarse
to fine -> re-attach alpha -> write. The same engine as audio: VGG features,
relative content and Gram losses, L-BFGS. Each stage is timed; the timings
are part of the result.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..caching import BoundedCache, file_key
from ..config import ImageConfig, image_preset
from ..device import resolve_device, stage
from ..engine import Objective
from ..engine.optimise import StepCallback
from ..errors import AudiostError
from ..features.vgg import VGG, vgg_layer_names
from ..media.image import fit_size, from_canvas, resize, to_canvas, to_uint8, yiq_to_rgb
from ..media.image_io import MIN_SIDE, OUTPUT_FORMATS, Picture, load_image
from ..memory import out_of_memory_reported, plan_image_memory
from ..outputs import check_output_path
from .inputs import ImageInput, as_list, image_input_name
from .objective import (
    build_objective,
    edge_weight_for,
    initial_canvas,
    prepare_content,
    prepare_style,
    style_presence,
    style_targets,
)
from .result import LOG, ImageResult, finish_image, layout_warning, log_plan
from .scales import coarse_to_fine, style_size


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
        coarse-to-fine passes, up to :func:`planned_iterations`.

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
    return ImageStylist(config, **settings).transfer(
        content, styles, output, overwrite=overwrite, on_step=on_step
    )


class ImageStylist:
    """Image transfers sharing one configuration: the batch worker's unit of reuse.

    The VGG is built once (on first use), and each style file's Gram (or mean/std)
    targets are kept per working size, so a folder of same-size photos styled with one
    painting pays for the painting once. Targets are reused only when
    ``preserve_color="none"``: the other modes recolour the style to each content.
    """

    def __init__(self, config: ImageConfig | None = None, **settings: Any):
        cfg = (config or image_preset()).replace(**settings)
        if cfg.seamless:
            raise AudiostError(
                "seamless is for textures (audiost texture): a transfer keeps its photo's layout, which does not tile; leave it out"
            )
        known = vgg_layer_names(cfg.net)
        unknown = [
            name
            for name in (*cfg.content_layers, *cfg.style_layers)
            if name not in known
        ]
        if unknown:
            raise AudiostError(
                f"unknown layer(s) {', '.join(unknown)}; {cfg.net} has {', '.join(known)}"
            )
        self.config = cfg
        self.device = resolve_device(cfg.device)
        self._network: VGG | None = None
        self._pictures: BoundedCache[Picture] = BoundedCache(16)
        self._targets: BoundedCache[dict[str, nn.Module]] = BoundedCache(64)

    @property
    def network(self) -> VGG:
        """The VGG, loaded on first use so that a bad weights file is reported with the first pair."""
        if self._network is None:
            cfg = self.config
            self._network = VGG(
                cfg.net, cfg.weights, pooling=cfg.pooling, seed=cfg.seed
            ).to(self.device)
        return self._network

    def transfer(
        self,
        content: ImageInput,
        styles: ImageInput | Sequence[ImageInput],
        output: str | os.PathLike | None = None,
        *,
        overwrite: bool = False,
        on_step: StepCallback | None = None,
    ) -> ImageResult:
        """Repaint ``content`` in the style of ``styles``: see :func:`transfer_image`."""
        with out_of_memory_reported(self.device, image_input_name(content, "content")):
            return self._transfer(content, styles, output, overwrite, on_step)

    def _transfer(
        self,
        content: ImageInput,
        styles: ImageInput | Sequence[ImageInput],
        output: str | os.PathLike | None,
        overwrite: bool,
        on_step: StepCallback | None,
    ) -> ImageResult:
        cfg, device = self.config, self.device
        style_list = as_list(styles)
        if not style_list:
            raise AudiostError("need at least one style image")
        if cfg.style_weights and len(cfg.style_weights) != len(style_list):
            raise AudiostError(
                f"{len(cfg.style_weights)} style weights given for {len(style_list)} style images"
            )
        timings: dict[str, float] = {}
        with stage(timings, "load"):
            if output is not None:
                paths = [
                    p
                    for p in (content, *style_list)
                    if isinstance(p, (str, os.PathLike))
                ]
                output = check_output_path(
                    output, inputs=paths, overwrite=overwrite, suffixes=OUTPUT_FORMATS
                )
            content_picture = self._load(content)
            style_pictures = [
                self._pictures.get(
                    file_key(style), lambda style=style: self._load(style)
                )
                for style in style_list
            ]
            size = fit_size(content_picture.size, cfg.max_size)
            if max(size) > cfg.max_size:
                LOG.info(
                    "%s: the short side is kept at %d px, the least the features "
                    "need, so the long side is %d px, over the maximum size %d",
                    image_input_name(content, "content"),
                    MIN_SIDE,
                    max(size),
                    cfg.max_size,
                )
            tile_side, peak = plan_image_memory(
                cfg,
                size,
                [
                    math.prod(style_size(p.rgb, size, cfg.style_scale))
                    for p in style_pictures
                ],
                device,
                image_input_name(content, "content"),
            )
            # Built here, so reading the weights is part of the load stage.
            _ = self.network
            # Said once every input has been read, just before the long part.
            log_plan(
                image_input_name(content, "content"), size, tile_side, peak, device
            )

        with stage(timings, "prepare"):
            content_image, colour = prepare_content(cfg, content_picture, size)
            cfg = self._pair_config(content_picture, style_pictures)
            if cfg.edge_weight and self.config.edge_weight is None:
                LOG.info(
                    "%s: the style has almost no outlines of its own; keeping the "
                    "content's (edge weight %g; --edge-weight 0 turns it off)",
                    image_input_name(content, "content"),
                    cfg.edge_weight,
                )

        passes = _Passes(
            self,
            cfg,
            content_image,
            style_list,
            style_pictures,
            size,
            tile_side,
            timings,
            torch.Generator(device).manual_seed(cfg.seed),
        )
        # The style targets of each pass are made inside: their stage is
        # counted apart and taken out of the optimisation's.
        with stage(timings, "optimise", device):
            result = coarse_to_fine(cfg, size, passes.objective, passes.start, on_step)
        timings["optimise"] -= timings.get("style", 0.0)
        canvas = result.canvas

        with stage(timings, "decode"):
            image = from_canvas(canvas)
            if colour is not None:
                image = yiq_to_rgb(np.concatenate([image[..., None], colour], axis=2))
            pixels = to_uint8(image)
            if content_picture.alpha is not None:
                pixels = np.concatenate(
                    [pixels, to_uint8(resize(content_picture.alpha, size))[..., None]],
                    axis=2,
                )

        styled = finish_image(cfg, device, pixels, result, timings, output)
        if warning := layout_warning(cfg, content_picture.rgb, pixels):
            styled.warnings.append(warning)
        return styled

    def problem(
        self,
        content: ImageInput,
        styles: ImageInput | Sequence[ImageInput],
        size: tuple[int, int] | None = None,
    ) -> tuple[Objective, torch.Tensor]:
        """One pass's objective and starting canvas, built as :meth:`transfer` builds its first pass (whole, not tiled).

        ``size`` is ``(width, height)``, by default the output's. For
        benchmarks and custom optimisation loops.
        """
        picture = self._load(content)
        size = size or fit_size(picture.size, self.config.max_size)
        style_list = as_list(styles)
        style_pictures = [self._load(style) for style in style_list]
        passes = _Passes(
            self,
            self._pair_config(picture, style_pictures),
            prepare_content(self.config, picture, size)[0],
            style_list,
            style_pictures,
            size,
            None,
            {},
            torch.Generator(self.device).manual_seed(self.config.seed),
        )
        return passes.objective(size), passes.start(size)

    def _pair_config(self, content: Picture, styles: list[Picture]) -> ImageConfig:
        """The configuration for one pair: the edge weight decided (auto: on for a style with almost no outlines)."""
        return self.config.replace(
            edge_weight=edge_weight_for(
                self.config, content.rgb, [style.rgb for style in styles]
            )
        )

    def _load(self, source: ImageInput) -> Picture:
        return load_image(source, max_pixels=int(self.config.max_megapixels * 1e6))

    def _style_losses(
        self,
        source: ImageInput,
        picture: Picture,
        content_image: np.ndarray,
        size: tuple[int, int],
        scale_size: tuple[int, int],
        tile_side: int | None,
    ) -> dict[str, nn.Module]:
        """One style's ``style_loss`` losses by layer at one scale, from the cache when the style is a file and not recoloured."""
        key = file_key(source) if self.config.preserve_color == "none" else None

        def make() -> dict[str, nn.Module]:
            image = prepare_style(self.config, picture, size, content_image)
            canvas = to_canvas(
                resize(image, style_size(image, scale_size, self.config.style_scale)),
                self.device,
            )
            return style_targets(self.config, self.network, canvas, tile_side)

        return self._targets.get(key and (key, size, scale_size, tile_side), make)


@dataclass
class _Passes:
    """What every coarse-to-fine pass of one transfer is built from."""

    stylist: ImageStylist
    config: ImageConfig
    content_image: np.ndarray
    styles: list[ImageInput]
    pictures: list[Picture]
    size: tuple[int, int]
    tile_side: int | None
    timings: dict[str, float]
    generator: torch.Generator

    def objective(self, scale_size: tuple[int, int]) -> Objective:
        """The objective at one pass's size; making its style targets is timed as the ``style`` stage."""
        stylist = self.stylist
        with stage(self.timings, "style", stylist.device):
            style_losses = [
                stylist._style_losses(
                    source,
                    picture,
                    self.content_image,
                    self.size,
                    scale_size,
                    self.tile_side,
                )
                for source, picture in zip(self.styles, self.pictures, strict=True)
            ]
        content_canvas = to_canvas(
            resize(self.content_image, scale_size), stylist.device
        )
        return build_objective(
            self.config,
            stylist.network,
            content_canvas,
            style_losses,
            self.tile_side,
        )

    def start(self, scale_size: tuple[int, int]) -> torch.Tensor:
        """The first pass's canvas (``init``).

        The palette start is recoloured by :func:`style_presence`, down to
        the content's own colours at strength 0: the content term holds
        features, which do not pull colours back, so a full recolouring
        kept the painting's palette at any strength (palette gain 0.72 at
        strength 0, 0.77 at 0.25 against 0.84 at 0.5, on the cat x Hokusai
        pair at 256 px; docs/images.md).
        """
        cfg = self.config
        recolour = style_presence(cfg) if cfg.init == "palette" else 1.0
        init = "content" if not recolour else cfg.init
        content_canvas = to_canvas(
            resize(self.content_image, scale_size), self.stylist.device
        )
        # Only the palette and style starts look at the styles, and only at
        # this pass's size.
        prepared = (
            [
                prepare_style(cfg, picture, scale_size, self.content_image)
                for picture in self.pictures
            ]
            if init in ("palette", "style")
            else []
        )
        start = initial_canvas(init, content_canvas, prepared, self.generator, cfg.seed)
        if recolour < 1:
            start = content_canvas + recolour * (start - content_canvas)
        return start
