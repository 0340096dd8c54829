"""What an image transfer optimises: content and style terms on VGG features, evaluated whole or in tiles, and the start.

Also the colour handling that decides what the canvas and the style
targets are made of (``preserve_color``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..config import ImageConfig, strength_of
from ..engine import (
    STYLE_LOSSES,
    ContentLoss,
    EdgeLoss,
    Objective,
    Term,
    TotalVariationLoss,
)
from ..engine.tiles import (
    Tile,
    TiledObjective,
    plan_tiles,
    tiled_features,
    tiled_moments,
)
from ..features.vgg import VGG, layer_stride
from ..image_metrics import analysis_view
from ..media.image import (
    from_canvas,
    match_colour,
    match_luminance,
    resize,
    rgb_to_yiq,
    to_canvas,
    transfer_palette,
)
from ..media.image_io import Picture
from .scales import style_size

# The edge term's blur, as a fraction of the picture's long side: outlines
# of shapes an eightieth of the picture and larger (a 256 px picture's 3 px
# blur), so the subject is kept at every size and the strokes are not.
EDGE_SCALE = 80
#: Below this ratio of the styles' outlines to the content's, a style has
#: almost none of its own to draw the subject with, and the edge term is on
#: by default. Measured on the corpus (:func:`outline_strength`): the flat
#: vector artwork's are 0.07 to 0.26 of each photo's (the hedgehog 0.14),
#: rough paper's 0.05 to 0.19; every other painting's and texture's 0.37 to
#: 3.7. The threshold sits in that gap.
FLAT_STYLE = 0.33
#: The edge weight a flat style gets by default: the hedgehog in the vector
#: artwork keeps its outlines (structure 0.24 -> 0.74 at 1024 px) and the
#: painting's palette (0.92 -> 0.88), docs/images.md.
FLAT_STYLE_EDGE_WEIGHT = 1.0


def outline_strength(image: np.ndarray) -> float:
    """The RMS of a picture's edge map at a 256 px analysis size: how much outline it has to offer."""
    canvas = to_canvas(analysis_view(image))
    return float(EdgeLoss(canvas, max(canvas.shape[-2:]) / EDGE_SCALE).scale.sqrt())


def style_presence(cfg: ImageConfig) -> float:
    """How much of what serves only the style applies: 1 from strength 0.5 (the defaults) up, in proportion below, none at 0.

    The recoloured start (:func:`initial_canvas`) and the roughness
    penalty exist for the style's sake; at full weight they kept a
    strength-0 result from being the photo (cat x Hokusai, 256 px: palette
    gain 0.72 from the start, texture gain -0.15 from the penalty's
    smoothing; without both, the photo to the rounding).
    """
    return min(1.0, 2 * strength_of(cfg))


def edge_weight_for(
    cfg: ImageConfig, content: np.ndarray, styles: list[np.ndarray]
) -> float:
    """``cfg.edge_weight``, or, when it is None (auto), :data:`FLAT_STYLE_EDGE_WEIGHT` for styles with almost no outlines of their own and 0 otherwise.

    Gram statistics paint what the style has: a style of flat fields paints
    the photo's subject away (its outlines are not in them), while a style
    with outlines of its own draws them where the content has them.
    """
    if cfg.edge_weight is not None:
        return cfg.edge_weight
    shares = _normalised(cfg.style_weights, len(styles))
    style_outlines = sum(
        share * outline_strength(style)
        for share, style in zip(shares, styles, strict=True)
    )
    # A flat content's strength is the loss's floor, which no style's is
    # below: the ratio is then at least 1 and there is nothing to keep.
    ratio = style_outlines / outline_strength(content)
    return FLAT_STYLE_EDGE_WEIGHT if ratio < FLAT_STYLE else 0.0


def prepare_content(
    cfg: ImageConfig, content: Picture, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray | None]:
    """The content at working size in the canvas's colour space, and, for
    luminance-only transfer, its I/Q colour planes to put back afterwards."""
    content_rgb = resize(content.rgb, size)
    if cfg.preserve_color == "luminance":
        content_yiq = rgb_to_yiq(content_rgb)
        return content_yiq[..., 0], content_yiq[..., 1:]
    return content_rgb, None


def prepare_style(
    cfg: ImageConfig, style: Picture, size: tuple[int, int], content_image: np.ndarray
) -> np.ndarray:
    """A style at working size in the canvas's colour space, recoloured to the content if asked."""
    style_rgb = resize(style.rgb, style_size(style.rgb, size, cfg.style_scale))
    if cfg.preserve_color == "histogram":
        return match_colour(style_rgb, content_image)
    if cfg.preserve_color == "luminance":
        return match_luminance(rgb_to_yiq(style_rgb)[..., 0], content_image)
    return style_rgb


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


def build_objective(
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
    terms.append(
        Term("tv", TotalVariationLoss(content), cfg.tv_weight * style_presence(cfg))
    )
    if cfg.edge_weight:
        sigma = max(content.shape[-2:]) / EDGE_SCALE
        terms.append(Term("edges", EdgeLoss(content, sigma), cfg.edge_weight))
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


def initial_canvas(
    init: str,
    content: torch.Tensor,
    styles: list[np.ndarray],
    generator: torch.Generator,
    seed: int,
) -> torch.Tensor:
    """The first pass's canvas; ``palette`` recolours the content to all styles' colours pooled.

    The palette's random axes come from ``seed`` and the ``noise`` start
    from ``generator``: with a pretrained network and the palette start
    they are the only chance in a run, so another seed gives a variation.
    """
    if init == "content" or (init == "palette" and content.shape[1] == 1):
        return content
    if init == "palette":
        # The photo in the painting's colours: the optimisation then only has
        # to paint, not also to recolour (which it does slowly and partly).
        colours = np.concatenate([style.reshape(-1, 3) for style in styles])
        recoloured = transfer_palette(from_canvas(content), colours, seed=seed)
        return to_canvas(recoloured, content.device)
    if init == "style":
        return to_canvas(
            resize(styles[0], (content.shape[-1], content.shape[-2])), content.device
        )
    return torch.rand(content.shape, generator=generator, device=content.device)
