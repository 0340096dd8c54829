"""Baseline: image style transfer as Gatys, Ecker & Bethge (2015, 2016) describe it, for comparison only.

Written from the paper ("A Neural Algorithm of Artistic Style"), not from
audiost's engine (only the VGG feature stack is shared, so both methods see
the same features), so benchmarks compare audiost with the method it builds on:

- content: ``conv4_2`` activations; style: Gram matrices of ``conv1_1`` ..
  ``conv5_1``, equally weighted;
- both losses relative (divided by their target's size), the style weighted
  100 against the content;
- the style is resized to the content's size, once, at full resolution (no
  coarse-to-fine);
- L-BFGS from the photo, 300 iterations.
"""

from __future__ import annotations

import numpy as np
import torch

from audiost.features.vgg import VGG
from audiost.media.image import resize, to_canvas

CONTENT_LAYER = "conv4_2"
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
STYLE_WEIGHT = 100.0


def _gram(features: torch.Tensor) -> torch.Tensor:
    flat = features.flatten(2)
    return flat @ flat.transpose(1, 2) / flat.shape[-1]


def gatys_transfer(
    network: VGG, content: np.ndarray, style: np.ndarray, *, iters: int = 300
) -> np.ndarray:
    """Style ``content`` ``(H, W, 3)`` in [0, 1] with ``style`` on ``network``'s device; returns ``(H, W, 3)`` in [0, 1]."""
    size = (content.shape[1], content.shape[0])
    device = next(network.parameters()).device
    content_canvas = to_canvas(content, device)
    style_canvas = to_canvas(resize(style, size), device)
    layers = [*STYLE_LAYERS, CONTENT_LAYER]
    with torch.no_grad():
        target = network(content_canvas, [CONTENT_LAYER])[CONTENT_LAYER]
        style_features = network(style_canvas, list(STYLE_LAYERS))
        grams = {name: _gram(style_features[name]) for name in STYLE_LAYERS}
    canvas = content_canvas.clone().requires_grad_(True)
    optimiser = torch.optim.LBFGS(
        [canvas], max_iter=iters, history_size=50, line_search_fn="strong_wolfe"
    )

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        features = network(canvas, layers)
        loss = (features[CONTENT_LAYER] - target).pow(2).mean() / target.pow(2).mean()
        for name in STYLE_LAYERS:
            gram = grams[name]
            error = (_gram(features[name]) - gram).pow(2).sum() / gram.pow(2).sum()
            loss = loss + STYLE_WEIGHT / len(STYLE_LAYERS) * error
        loss.backward()
        return loss

    optimiser.step(closure)
    return canvas.detach().clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()
