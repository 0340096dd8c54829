"""Picture measures on VGG features, the pair's taken once for all outputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..caching import BoundedCache
from ..limits import MAX_MEGAPIXELS
from ..metrics import relative_gain
from .evaluation import Evaluation, Source

#: Images are compared at most at this long side (the output's size if smaller).
COMPARE_SIZE = 512


def evaluate_image(
    content: Source, style: Source, output: Source, **options: Any
) -> Evaluation:
    """Image measures on VGG features, all three images at the output's size (at most ``max_size``).

    ``options``: those of :class:`PicturePair` (the VGG, the size, limits).
    """
    return PicturePair(content, style, **options).measure(output)


class PicturePair:
    """A content and style picture, read once for the measures of any number of outputs.

    The measures are taken with the VGG ``net`` (``weights`` as for a
    transfer) on ``device``, at each output's size, at most ``max_size``
    on the long side. Images over ``max_megapixels`` are refused before
    decoding, as by a transfer. The VGG is loaded with the first output
    read (a typo in a path must not wait for, or fail on, a weights
    download), and what the outputs are measured against is kept for the
    last size.
    """

    def __init__(
        self,
        content: Source,
        style: Source,
        *,
        net: str = "vgg19",
        weights: str | None = None,
        max_size: int = COMPARE_SIZE,
        device: str = "auto",
        max_megapixels: float = MAX_MEGAPIXELS,
    ):
        from ..device import resolve_device
        from ..image_metrics import picture_statistics
        from ..media.image_io import load_image

        self.max_pixels = int(max_megapixels * 1e6)
        self.content, self.style = (
            load_image(path, max_pixels=self.max_pixels).rgb
            for path in (content, style)
        )
        # The network-free measures' side of the pair, taken once.
        self.statistics = (
            picture_statistics(self.content),
            picture_statistics(self.style),
        )
        self.net, self.weights, self.max_size = net, weights, max_size
        self.device = resolve_device(device)
        self._network: Any = None
        # One size's: a sweep's outputs share their size.
        self._targets: BoundedCache[_PairTargets] = BoundedCache(1)

    def measure(self, output: Source) -> Evaluation:
        import torch

        from ..image_metrics import profile_image_measures
        from ..media.image import fit_size
        from ..media.image_io import load_image

        picture = load_image(output, max_pixels=self.max_pixels)
        rgb, size = picture.rgb, fit_size(picture.size, self.max_size)
        network, pair = self._pair_at(size)
        with torch.no_grad():
            features = network(
                self._canvas(rgb, size), [*pair.grams, pair.content_layer]
            )
            after_style = _style_distance(pair.grams, features)
            after_content = float(pair.content_loss(features[pair.content_layer]))
        measures: dict[str, float | None] = {
            "style_gain": relative_gain(pair.before_style, after_style),
            "content_kept": 1.0 - after_content / max(pair.before_content, 1e-12),
            "style_distance_content": pair.before_style,
            "style_distance_output": after_style,
            "content_distance_output": after_content,
            "content_distance_style": pair.before_content,
        }
        measures |= profile_image_measures(self.content, *self.statistics, rgb)
        return Evaluation("image", measures)

    def _pair_at(self, size: tuple[int, int]) -> tuple[Any, _PairTargets]:
        """The network, and what the pair's outputs at ``size`` are measured against (made once per size)."""
        import torch

        from ..engine import ContentLoss, GramLoss
        from ..features.vgg import VGG
        from ..image.scales import style_size

        if self._network is None:
            self._network = VGG(self.net, self.weights).to(self.device)
        network = self._network
        layers, content_layer = list(network.style_layers), network.content_layers[0]

        def targets() -> _PairTargets:
            # Styles are compared at the content's pixel count, as the transfer
            # sees them; content distances need equal shapes, so the style is
            # also taken at the content's exact size.
            with torch.no_grad():
                content = network(
                    self._canvas(self.content, size), [*layers, content_layer]
                )
                style = network(
                    self._canvas(self.style, style_size(self.style, size, 1.0)),
                    layers,
                )
                style_as_content = network(
                    self._canvas(self.style, size), [content_layer]
                )[content_layer]
                grams = {name: GramLoss(style[name]) for name in layers}
                content_loss = ContentLoss(content[content_layer])
                return _PairTargets(
                    grams=grams,
                    content_layer=content_layer,
                    content_loss=content_loss,
                    before_style=_style_distance(grams, content),
                    before_content=float(content_loss(style_as_content)),
                )

        return network, self._targets.get(size, targets)

    def _canvas(self, rgb: np.ndarray, shape: tuple[int, int]) -> Any:
        from ..media.image import resize, to_canvas

        return to_canvas(resize(rgb, shape), self.device)


@dataclass(frozen=True)
class _PairTargets:
    """A pair's side of the picture measures at one size: the style's Gram matrices, the content's features, and the content's and style's own distances."""

    grams: dict[str, Any]
    content_layer: str
    content_loss: Any
    before_style: float
    before_content: float


def _style_distance(grams: dict[str, Any], features: dict[str, Any]) -> float:
    """Mean relative Gram error of ``features`` to the style's (``grams``, one per style layer)."""
    return float(np.mean([float(gram(features[name])) for name, gram in grams.items()]))


def texture_measures(
    style: Source, output: Source, *, max_megapixels: float
) -> Evaluation:
    """:func:`~audiost.evaluate.evaluate_texture` of a picture's texture."""
    from ..image_metrics import palette_distance, texture_distance, tile_seam
    from ..media.image_io import load_image

    max_pixels = int(max_megapixels * 1e6)
    style_rgb, output_rgb = (
        load_image(path, max_pixels=max_pixels).rgb for path in (style, output)
    )
    return Evaluation(
        "image",
        {
            "palette_distance_output": palette_distance(output_rgb, style_rgb),
            "texture_distance_output": texture_distance(output_rgb, style_rgb),
            "tile_seam": tile_seam(output_rgb),
        },
    )
