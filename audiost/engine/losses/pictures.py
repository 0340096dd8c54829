"""Picture-only terms: a photo's outlines kept, and speckle smoothed."""

from __future__ import annotations

import math

import torch
from torch import nn


class EdgeLoss(nn.Module):
    """Relative squared error to the reference's blurred luminance Laplacian (Li et al. 2017).

    Gram statistics carry no layout, and conv4_2 keeps the photo's features
    rather than its lines: a style of flat fields erases the outlines the
    eye recognises a subject by. The Laplacian of the luminance blurred by
    a Gaussian of ``sigma`` pixels keeps the outlines of shapes that size
    and leaves finer detail, the brush marks, to the style. (Li et al. pool
    with strides; that leaves a block grid in the result, a blur does not.)
    """

    _LAPLACIAN = ((0.0, -1.0, 0.0), (-1.0, 4.0, -1.0), (0.0, -1.0, 0.0))
    # A flat reference has no outlines to keep: floored, so one does not
    # make the canvas's faintest edge cost millions (real pictures' mean
    # squares are 1e-5 (rough paper) to 5e-3).
    _FLOOR = 1e-8

    def __init__(self, reference: torch.Tensor, sigma: float):
        super().__init__()
        radius = max(1, math.ceil(3 * sigma))
        taps = torch.arange(-radius, radius + 1, dtype=torch.float32)
        gaussian = torch.exp(-0.5 * (taps / sigma) ** 2)
        gaussian = (gaussian / gaussian.sum()).to(reference)
        self.register_buffer("rows", gaussian.view(1, 1, -1, 1))
        self.register_buffer("columns", gaussian.view(1, 1, 1, -1))
        self.register_buffer(
            "laplacian", torch.tensor(self._LAPLACIAN).to(reference)[None, None]
        )
        self.step = max(1, round(sigma))
        target = self.edges(reference.detach())
        self.register_buffer("target", target)
        self.register_buffer("scale", target.pow(2).mean().clamp_min(self._FLOOR))

    def edges(self, canvas: torch.Tensor) -> torch.Tensor:
        # Replicated borders: outlines near the edge count too, and a canvas
        # narrower than the blur (a 5 x 256 px strip) still has edges.
        radius = self.rows.shape[-2] // 2
        luminance = _replicate(canvas.mean(1, keepdim=True), radius)
        blurred = nn.functional.conv2d(
            nn.functional.conv2d(luminance, self.rows), self.columns
        )
        return nn.functional.conv2d(
            _replicate(blurred, self.step), self.laplacian, dilation=self.step
        )

    def forward(self, canvas: torch.Tensor) -> torch.Tensor:
        return (self.edges(canvas) - self.target).pow(2).mean() / self.scale


def _replicate(image: torch.Tensor, width: int) -> torch.Tensor:
    return nn.functional.pad(image, (width,) * 4, mode="replicate")


class TotalVariationLoss(nn.Module):
    """Squared differences between neighbouring pixels, relative to a reference's.

    Optimising through a CNN leaves high-frequency speckle the features do
    not see; penalising roughness removes it. 1.0 means as rough as the
    reference (the content); a flat reference is floored so texture on it
    stays affordable.
    """

    _FLOOR = 1e-4  # about the roughness of 1/100 full-scale pixel noise

    def __init__(self, reference: torch.Tensor, *, wrap: bool = False):
        super().__init__()
        self.register_buffer(
            "scale", self.roughness(reference.detach()).clamp_min(self._FLOOR)
        )
        #: Also count the steps from the last row and column to the first:
        #: for a canvas that tiles, whose seam is smoothed like any edge.
        self.wrap = wrap

    @staticmethod
    def roughness(canvas: torch.Tensor, wrap: bool = False) -> torch.Tensor:
        if wrap:
            down = canvas - canvas.roll(1, dims=-2)
            across = canvas - canvas.roll(1, dims=-1)
        else:
            down = canvas[..., 1:, :] - canvas[..., :-1, :]
            across = canvas[..., :, 1:] - canvas[..., :, :-1]
        return down.pow(2).mean() + across.pow(2).mean()

    def forward(self, canvas: torch.Tensor) -> torch.Tensor:
        return self.roughness(canvas, self.wrap) / self.scale
