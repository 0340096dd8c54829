"""Image style transfer: the public ``transfer_image`` pipeline.

load -> check -> resize (and colour handling) -> optimise the canvas, coarse
to fine -> re-attach alpha -> write. The same engine as audio: VGG features,
relative content and Gram losses, L-BFGS. Each stage is timed; the timings
are part of the result.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from .caching import BoundedCache, file_key
from .config import ImageConfig, image_preset
from .device import resolve_device, stage
from .engine import (
    STYLE_LOSSES,
    ContentLoss,
    Objective,
    Term,
    TotalVariationLoss,
    optimise_with,
)
from .engine.optimise import OptimisationResult, StepCallback
from .engine.tiles import (
    Tile,
    TiledObjective,
    plan_tiles,
    tiled_features,
    tiled_moments,
)
from .errors import AudiostError
from .features.vgg import VGG, layer_stride, vgg_layer_names
from .limits import format_bytes
from .media.image import (
    fit_size,
    from_canvas,
    match_colour,
    match_luminance,
    resize,
    rgb_to_yiq,
    to_canvas,
    to_uint8,
    transfer_palette,
    yiq_to_rgb,
)
from .media.image_io import OUTPUT_FORMATS, Picture, load_image, write_image
from .memory import out_of_memory_reported, plan_image_memory
from .outputs import check_output_path, default_output_path

ImageInput = str | os.PathLike | np.ndarray | Image.Image
LOG = logging.getLogger("audiost")


@dataclass
class ImageResult:
    """What a transfer produced: a uint8 image ``(H, W, 3)``, or ``(H, W, 4)`` with the content's alpha, and how it got there."""

    image: np.ndarray
    config: ImageConfig
    device: str
    losses: list[float] = field(default_factory=list)
    final_losses: dict[str, float] = field(default_factory=dict)
    #: Each iteration's loss terms (all passes in order), for loss curves.
    history: list[dict[str, float]] = field(default_factory=list)
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
        style_list = _as_list(styles)
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
            content_image, colour = _prepare_content(cfg, content_picture, size)

        passes = _Passes(
            self,
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

        return finish_image(cfg, device, pixels, result, timings, output)

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
        style_list = _as_list(styles)
        passes = _Passes(
            self,
            _prepare_content(self.config, picture, size)[0],
            style_list,
            [self._load(style) for style in style_list],
            size,
            None,
            {},
            torch.Generator(self.device).manual_seed(self.config.seed),
        )
        return passes.objective(size), passes.start(size)

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
            image = _prepare_style(self.config, picture, size, content_image)
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
        return _build_objective(
            stylist.config,
            stylist.network,
            content_canvas,
            style_losses,
            self.tile_side,
        )

    def start(self, scale_size: tuple[int, int]) -> torch.Tensor:
        """The first pass's canvas (``init``)."""
        cfg = self.stylist.config
        content_canvas = to_canvas(
            resize(self.content_image, scale_size), self.stylist.device
        )
        # Only the palette and style starts look at the styles, and only at
        # this pass's size.
        prepared = (
            [
                _prepare_style(cfg, picture, scale_size, self.content_image)
                for picture in self.pictures
            ]
            if cfg.init in ("palette", "style")
            else []
        )
        return _initial(cfg.init, content_canvas, prepared, self.generator)


def style_targets(
    cfg: ImageConfig, network: VGG, canvas: torch.Tensor, tile_side: int | None
) -> dict[str, nn.Module]:
    """A style canvas's losses by layer; its statistics are gathered in tiles when it is larger than ``tile_side``."""
    style_loss = STYLE_LOSSES[cfg.style_loss]
    tiles = tiles_for(*canvas.shape[-2:], tile_side)
    if tiles is None:
        with torch.no_grad():
            features = network(canvas, cfg.style_layers)
        return {name: style_loss(features[name]) for name in cfg.style_layers}
    statistics = tiled_moments(
        network,
        canvas,
        dict.fromkeys(cfg.style_layers, style_loss),
        tiles,
        {name: layer_stride(name) for name in cfg.style_layers},
    )
    return {
        name: style_loss().set_target(statistics[name]) for name in cfg.style_layers
    }


def log_plan(
    name: str,
    size: tuple[int, int],
    tile_side: int | None,
    peak: int,
    device: torch.device,
) -> None:
    """Say before the work starts how big it is, how it is split and the memory it will take."""
    tiles = (
        ""
        if tile_side is None
        else f" in {len(plan_tiles(size[1], size[0], tile_side))} tiles of at most {tile_side} px"
    )
    LOG.info(
        "%s: %dx%d px%s, peak memory about %s on %s",
        name,
        *size,
        tiles,
        format_bytes(peak),
        device,
    )


def finish_image(
    cfg: ImageConfig,
    device: torch.device,
    pixels: np.ndarray,
    result: OptimisationResult,
    timings: dict[str, float],
    output: Path | None,
) -> ImageResult:
    """The end every image pipeline shares: the result record and its atomic write."""
    out = ImageResult(
        image=pixels,
        config=cfg,
        device=str(device),
        losses=result.losses,
        final_losses=result.parts,
        history=result.history,
        timings=timings,
        warnings=[result.stopped_early] if result.stopped_early else [],
    )
    if output is not None:
        if pixels.shape[2] == 4 and OUTPUT_FORMATS[output.suffix.lower()] == "JPEG":
            out.warnings.append(
                "JPEG has no alpha channel: the content's transparency was dropped; write .png to keep it"
            )
        with stage(timings, "write"):
            out.output = write_image(output, pixels)
    return out


def coarse_to_fine(
    cfg: ImageConfig,
    size: tuple[int, int],
    objective_at: Callable[[tuple[int, int]], Objective],
    first_init: Callable[[tuple[int, int]], torch.Tensor],
    on_step: StepCallback | None = None,
) -> OptimisationResult:
    """Optimise at each size of :func:`scale_sizes` in turn, each pass starting from the last one's canvas upsampled.

    Returns one result for all passes: the final canvas and final losses,
    losses and history run on across passes (as does ``on_step``'s
    iteration count), and every pass's early stop. A pass that stopped
    early still hands on its last finite canvas.
    """
    losses: list[float] = []
    history: list[dict[str, float]] = []
    problems: list[str] = []
    canvas: torch.Tensor | None = None
    sizes = scale_sizes(size, cfg.start_size, cfg.scale_step)
    offset = 0
    for scale_size, iters in zip(
        sizes, pass_iterations(cfg.iters, cfg.refine_iters, len(sizes)), strict=True
    ):
        init = (
            first_init(scale_size) if canvas is None else _upsample(canvas, scale_size)
        )
        step = (
            None
            if on_step is None
            else (lambda i, loss, offset=offset: on_step(offset + i, loss))
        )
        result = optimise_with(
            cfg.replace(iters=iters),
            objective_at(scale_size),
            init,
            min_value=0.0,
            max_value=1.0,
            on_step=step,
        )
        canvas = result.canvas
        offset += iters
        losses += result.losses
        history += result.history
        problems += [result.stopped_early] if result.stopped_early else []
    result.losses, result.history = losses, history
    result.stopped_early = "; ".join(problems) or None
    return result


def default_image_output(
    content: str | os.PathLike, styles: str | os.PathLike | Sequence[str | os.PathLike]
) -> Path:
    """``<content-stem>_x_<style-stem>.png`` (stems of several styles joined by ``+``) in the current directory."""
    stems = "+".join(Path(style).stem for style in _as_list(styles))
    return default_output_path(content, Path(f"{stems}.png"), ".png")


def image_input_name(source: ImageInput, role: str) -> str:
    """What messages call an input: its path, or ``<role image>`` for an array or picture."""
    return (
        os.fspath(source)
        if isinstance(source, (str, os.PathLike))
        else f"<{role} image>"
    )


def _as_list(styles: ImageInput | Sequence[ImageInput]) -> list[ImageInput]:
    if isinstance(styles, (str, os.PathLike, np.ndarray, Image.Image)):
        return [styles]
    return list(styles)


def _prepare_content(
    cfg: ImageConfig, content: Picture, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray | None]:
    """The content at working size in the canvas's colour space, and, for
    luminance-only transfer, its I/Q colour planes to put back afterwards."""
    content_rgb = resize(content.rgb, size)
    if cfg.preserve_color == "luminance":
        content_yiq = rgb_to_yiq(content_rgb)
        return content_yiq[..., 0], content_yiq[..., 1:]
    return content_rgb, None


def _prepare_style(
    cfg: ImageConfig, style: Picture, size: tuple[int, int], content_image: np.ndarray
) -> np.ndarray:
    """A style at working size in the canvas's colour space, recoloured to the content if asked."""
    style_rgb = resize(style.rgb, style_size(style.rgb, size, cfg.style_scale))
    if cfg.preserve_color == "histogram":
        return match_colour(style_rgb, content_image)
    if cfg.preserve_color == "luminance":
        return match_luminance(rgb_to_yiq(style_rgb)[..., 0], content_image)
    return style_rgb


def scale_sizes(
    size: tuple[int, int], start_size: int, step: float
) -> list[tuple[int, int]]:
    """Coarse-to-fine sizes: from ``start_size`` px on the long side up to ``size``, in equal ratios of about ``step``.

    The network's receptive fields are fixed in pixels, so a large picture
    styled at full size only gets a fine grain; painted small first, its
    strokes are set relative to the whole picture, and each larger pass adds
    detail. ``start_size`` 0, or a picture no larger, is one pass.
    """
    long_side = max(size)
    if start_size <= 0 or long_side <= start_size:
        return [size]
    passes = round(math.log(long_side / start_size) / math.log(step))
    return [
        fit_size(size, start_size * (long_side / start_size) ** (k / passes))
        for k in range(passes)
    ] + [size]


def pass_iterations(iters: int, refine_iters: int, passes: int) -> list[int]:
    """Iterations of each coarse-to-fine pass: ``iters`` for the first, ``refine_iters`` for each refinement.

    The first pass paints; a refinement only adds detail to an upsampled
    result, so it needs far fewer. A pass costs in proportion to its pixels,
    which grow by ``step`` squared (about 2) per pass, so the refinements
    together cost about twice the last one, whatever their number.
    """
    return [iters] + [refine_iters] * (passes - 1)


def planned_iterations(cfg: ImageConfig, size: tuple[int, int]) -> int:
    """All the iterations a picture made at ``size`` (``(width, height)``, the output's) takes: a progress bar's total."""
    return sum(
        pass_iterations(
            cfg.iters,
            cfg.refine_iters,
            len(scale_sizes(size, cfg.start_size, cfg.scale_step)),
        )
    )


def style_size(
    style: np.ndarray, content_size: tuple[int, int], style_scale: float
) -> tuple[int, int]:
    """Scale the style to the content's pixel count times ``style_scale`` squared.

    Brush strokes then keep their size relative to the picture, whatever
    either image's resolution, and an extreme aspect ratio (a 16x800 strip)
    does not blow a style up to its long side.
    """
    height, width = style.shape[:2]
    scale = style_scale * math.sqrt(
        content_size[0] * content_size[1] / (width * height)
    )
    return fit_size((width, height), max(width, height) * scale, upscale=True)


def _build_objective(
    cfg: ImageConfig,
    network: VGG,
    content: torch.Tensor,
    style_losses: list[dict[str, nn.Module]],
    tile_side: int | None = None,
) -> Objective:
    tiles = tiles_for(*content.shape[-2:], tile_side)
    if tiles is None:
        with torch.no_grad():
            content_features = network(content, cfg.content_layers)
    else:
        content_features = tiled_features(
            network,
            content,
            list(cfg.content_layers),
            tiles,
            {name: layer_stride(name) for name in cfg.content_layers},
        )
    content_weights = _normalised(cfg.content_layer_weights, len(cfg.content_layers))
    layer_weights = _normalised(cfg.style_layer_weights, len(cfg.style_layers))
    mix = _normalised(cfg.style_weights, len(style_losses))
    terms = [
        Term(
            f"content:{name}",
            ContentLoss(content_features[name]),
            cfg.content_weight * weight,
            name,
        )
        for name, weight in zip(cfg.content_layers, content_weights, strict=True)
    ]
    for number, (losses, share) in enumerate(
        zip(style_losses, mix, strict=True), start=1
    ):
        prefix = "style" if len(style_losses) == 1 else f"style{number}"
        terms += [
            Term(
                f"{prefix}:{name}",
                losses[name],
                cfg.style_weight * share * weight,
                name,
            )
            for name, weight in zip(cfg.style_layers, layer_weights, strict=True)
        ]
    terms.append(Term("tv", TotalVariationLoss(content), cfg.tv_weight))
    return feature_objective(network, terms, tiles)


def tiles_for(height: int, width: int, tile_side: int | None) -> list[Tile] | None:
    """The tiles a canvas is evaluated in, or None when it is no larger than ``tile_side`` (or that is None)."""
    if tile_side is None or max(height, width) <= tile_side:
        return None
    return plan_tiles(height, width, tile_side)


def feature_objective(
    network: VGG, terms: list[Term], tiles: list[Tile] | None
) -> Objective:
    """The objective of ``terms``, evaluated whole or, given ``tiles``, tile by tile."""
    if tiles is None:
        return Objective(network, terms)
    strides = {t.layer: layer_stride(t.layer) for t in terms if t.layer is not None}
    return TiledObjective(network, terms, tiles, strides)


def _normalised(weights: tuple[float, ...], count: int) -> list[float]:
    """Weights summing to 1 (equal if none given), so totals stay comparable when layers or styles are added."""
    values = weights or (1.0,) * count
    total = sum(values)
    return [w / total for w in values]


def _initial(
    init: str,
    content: torch.Tensor,
    styles: list[np.ndarray],
    generator: torch.Generator,
) -> torch.Tensor:
    """The first pass's canvas; ``palette`` recolours the content to all styles' colours pooled."""
    if init == "content" or (init == "palette" and content.shape[1] == 1):
        return content
    if init == "palette":
        # The photo in the painting's colours: the optimisation then only has
        # to paint, not also to recolour (which it does slowly and partly).
        colours = np.concatenate([style.reshape(-1, 3) for style in styles])
        recoloured = transfer_palette(from_canvas(content), colours)
        return to_canvas(recoloured, content.device)
    if init == "style":
        return to_canvas(
            resize(styles[0], (content.shape[-1], content.shape[-2])), content.device
        )
    return torch.rand(content.shape, generator=generator, device=content.device)


def _upsample(canvas: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(
        canvas, size=(size[1], size[0]), mode="bicubic", align_corners=False
    ).clamp(0, 1)
