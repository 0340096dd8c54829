"""Feature passes in tiles, for canvases whose activations do not fit in memory at once.

A style loss compares statistics averaged over positions (a Gram matrix,
per-channel means and deviations), and a content loss is a sum over
positions, so both can be gathered tile by tile: each tile is run with a
margin (``halo``) of surrounding pixels so its features near the seams see
what they would see in the whole image, and only its *core* positions, which
partition the feature map, are counted. The loss is then exactly a function
of the summed statistics, and its gradient is found in a second pass over
the tiles: with ``dL/dS`` known for each summed statistic ``S``, the tile's
share of the gradient is that of ``<dL/dS, S_tile>``. Peak memory is one
tile's activations instead of the whole canvas's, for one extra forward pass.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
from torch import nn

from ..features.base import FeatureNetwork
from .blocks import MomentSums
from .losses import ContentLoss
from .objective import Objective, Term

#: Tiles start on multiples of the deepest pooling stride (VGG's conv5 sees
#: every 16th pixel), so each tile's feature grid lines up with the whole
#: canvas's.
ALIGN = 16
#: Margin around each tile, in pixels: a VGG19 conv5_1 unit sees 78 px either
#: side (VGG16's 66), so with 80 px a tile's features are the whole canvas's
#: and the tiled loss and gradient match the untiled ones (tests measure it).
HALO = 80


@dataclass(frozen=True)
class Tile:
    """A core rectangle of the canvas and the larger one its features are computed on.

    Boxes are ``(top, bottom, left, right)`` in pixels, ends exclusive.
    """

    core: tuple[int, int, int, int]
    outer: tuple[int, int, int, int]

    def crop(self, canvas: torch.Tensor) -> torch.Tensor:
        top, bottom, left, right = self.outer
        return canvas[..., top:bottom, left:right]

    def core_slices(
        self, stride: int, height: int, width: int
    ) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
        """Where the core lies in a layer of this ``stride`` over a ``height x width`` canvas:
        ``(in the tile's own features, in the whole canvas's)``.

        Pooling floors odd sizes, so every layer has ``height // stride``
        rows, and a core's end, a multiple of the stride unless it is the
        canvas's edge, maps to ``end // stride`` either way.
        """
        top, bottom, left, right = self.core
        whole = (
            slice(top // stride, bottom // stride),
            slice(left // stride, right // stride),
        )
        row0, col0 = self.outer[0] // stride, self.outer[2] // stride
        local = (
            slice(whole[0].start - row0, whole[0].stop - row0),
            slice(whole[1].start - col0, whole[1].stop - col0),
        )
        return local, whole


def plan_tiles(height: int, width: int, side: int, halo: int = HALO) -> list[Tile]:
    """Cover a ``height x width`` canvas with tiles whose cores are at most ``side`` px (rounded to :data:`ALIGN`).

    Cores are as equal as alignment allows (the last in a row or column takes
    the remainder); the outer boxes add ``halo`` px on every side that is not
    the canvas's edge.
    """
    if side < ALIGN:
        raise ValueError(f"tile side must be at least {ALIGN} px, got {side}")

    def cuts(length: int) -> list[int]:
        count = math.ceil(length / side)
        step = math.ceil(length / count / ALIGN) * ALIGN
        return [*range(0, length, step), length] if count > 1 else [0, length]

    rows, cols = cuts(height), cuts(width)
    return [
        Tile(
            (top, bottom, left, right),
            (
                max(top - halo, 0),
                min(bottom + halo, height),
                max(left - halo, 0),
                min(right + halo, width),
            ),
        )
        for top, bottom in itertools.pairwise(rows)
        for left, right in itertools.pairwise(cols)
    ]


#: One tile's activations at each layer, cut to its core, with where that core
#: lies in the whole canvas's layer: ``{layer: (values, (rows, columns))}``.
Cores = dict[str, tuple[torch.Tensor, tuple[slice, slice]]]


def tile_cores(
    network: FeatureNetwork,
    piece: torch.Tensor,
    tile: Tile,
    layers: list[str],
    strides: dict[str, int],
    size: tuple[int, int],
) -> Cores:
    """Run ``network`` on ``piece`` (``tile``'s outer box of a canvas of ``size``, height and width) and keep the cores."""
    activations = network(piece, layers)
    out: Cores = {}
    for name in layers:
        local, whole = tile.core_slices(strides[name], *size)
        out[name] = (activations[name][..., local[0], local[1]], whole)
    return out


def tiled_features(
    network: FeatureNetwork,
    canvas: torch.Tensor,
    layers: list[str],
    tiles: list[Tile],
    strides: dict[str, int],
) -> dict[str, torch.Tensor]:
    """The whole canvas's activations at ``layers``, assembled from tiles' cores (no gradients)."""
    height, width = size = canvas.shape[-2:]
    out: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for tile in tiles:
            cores = tile_cores(network, tile.crop(canvas), tile, layers, strides, size)
            for name, (values, whole) in cores.items():
                if name not in out:
                    rows, cols = height // strides[name], width // strides[name]
                    out[name] = values.new_zeros((*values.shape[:2], rows, cols))
                out[name][..., whole[0], whole[1]] = values
    return out


def tiled_moments(
    network: FeatureNetwork,
    canvas: torch.Tensor,
    losses: dict[str, type[nn.Module]],
    tiles: list[Tile],
    strides: dict[str, int],
) -> dict[str, torch.Tensor]:
    """Each layer's position-averaged statistic (what ``losses[layer]`` matches), gathered tile by tile.

    For style targets too large to pass through the network at once.
    """
    height, width = size = canvas.shape[-2:]
    sums = MomentSums(losses, canvas.device)
    with torch.no_grad():
        for tile in tiles:
            cores = tile_cores(
                network, tile.crop(canvas), tile, list(losses), strides, size
            )
            for name in losses:
                sums.add(name, cores[name][0])
    return sums.statistics(
        {name: (height // strides[name]) * (width // strides[name]) for name in losses}
    )


class TiledObjective(Objective):
    """An :class:`~.objective.Objective` evaluated tile by tile: same terms, same values, bounded memory.

    Feature terms must be :class:`~.losses.ContentLoss` or a style loss with
    ``moments`` and ``statistic`` (Gram, mean/std); terms on the canvas
    itself (total variation) are evaluated whole, as they are cheap.
    """

    def __init__(
        self,
        network: FeatureNetwork,
        terms: list[Term],
        tiles: list[Tile],
        strides: dict[str, int],
    ):
        super().__init__(network, terms)
        self.tiles = tiles
        self.strides = strides
        untileable = [
            t.name
            for t in self.terms
            if t.layer is not None
            and not isinstance(t.loss, ContentLoss)
            and not hasattr(t.loss, "moments")
        ]
        if untileable:
            raise ValueError(f"cannot evaluate {', '.join(untileable)} in tiles")

    def forward(
        self, canvas: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        features = [t for t in self.terms if t.layer is not None]
        style = [t for t in features if not isinstance(t.loss, ContentLoss)]
        content = [t for t in features if isinstance(t.loss, ContentLoss)]
        height, width = size = canvas.shape[-2:]

        def cores(tile: Tile, piece: torch.Tensor) -> Cores:
            return tile_cores(
                self.network, piece, tile, self.layers, self.strides, size
            )

        # Several styles share each layer's statistic: one sum per layer and kind.
        kinds = {t.name: (t.layer, type(t.loss)) for t in style}
        shared = {kinds[t.name]: t.loss for t in style}

        # Pass 1, without gradients: the summed statistics and content errors.
        sums = MomentSums(shared, canvas.device)
        errors = {t.name: canvas.new_zeros((), dtype=sums.wide) for t in content}
        with torch.no_grad():
            for tile in self.tiles:
                core = cores(tile, tile.crop(canvas))
                for key in shared:
                    sums.add(key, core[key[0]][0])
                for t in content:
                    values, whole = core[t.layer]
                    errors[t.name] += t.loss.error_sum(values, whole).to(sums.wide)

        count = {
            name: (height // stride) * (width // stride)
            for name, stride in self.strides.items()
        }
        leaves = {key: value.requires_grad_() for key, value in sums.sums.items()}
        with torch.enable_grad():
            style_parts = {
                t.name: t.loss.from_statistic(
                    t.loss.statistic(leaves[kinds[t.name]], count[t.layer]).float()
                )
                for t in style
            }
        parts: dict[str, torch.Tensor] = {
            name: value.detach().float() for name, value in style_parts.items()
        }
        parts |= {t.name: (errors[t.name] / t.loss.normaliser).float() for t in content}
        whole_terms = [t for t in self.terms if t.layer is None]
        with torch.enable_grad() if canvas.requires_grad else torch.no_grad():
            whole_parts = {t.name: t.loss(canvas) for t in whole_terms}
        feature_total = sum(
            t.weight * parts[t.name] for t in features
        ) + canvas.new_zeros(())
        total = feature_total + sum(t.weight * whole_parts[t.name] for t in whole_terms)
        parts |= whole_parts
        if not (canvas.requires_grad and torch.is_grad_enabled()):
            return total, parts

        # Pass 2: each tile's share of the feature terms' gradient.
        with torch.enable_grad():
            style_total = sum(t.weight * style_parts[t.name] for t in style)
            slopes = (
                dict(
                    zip(
                        leaves,
                        torch.autograd.grad(style_total, list(leaves.values())),
                        strict=True,
                    )
                )
                if style
                else {}
            )
            gradient = torch.zeros_like(canvas)
            for tile in self.tiles:
                piece = tile.crop(canvas).detach().requires_grad_()
                core = cores(tile, piece)
                share = piece.new_zeros(())
                for key, loss in shared.items():
                    moments = loss.moments(core[key[0]][0])
                    share = share + (slopes[key].to(moments.dtype) * moments).sum()
                for t in content:
                    values, whole = core[t.layer]
                    share = (
                        share
                        + t.weight * t.loss.error_sum(values, whole) / t.loss.normaliser
                    )
                top, bottom, left, right = tile.outer
                gradient[..., top:bottom, left:right] += torch.autograd.grad(
                    share, piece
                )[0]
        # Value of the tiled total, gradient of the passes above: autograd
        # carries it on through whatever produced ``canvas`` (the bounds clamp).
        surrogate = (canvas * gradient).sum()
        return total + surrogate - surrogate.detach(), parts
