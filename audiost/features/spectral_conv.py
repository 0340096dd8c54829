"""Random 1-D convolutions over time with frequency bins as channels.

Ulyanov & Lebedev (2016) showed that a single wide layer of *random* filters
over a log-magnitude spectrogram gives Gram statistics that capture a sound's
texture; Antognini, Hoffman & Weiss (2019) add parallel branches of several
kernel widths so both short (timbre) and long (rhythm) patterns count. No
training or weights download is needed: the seed fixes the filters.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

import torch
from torch import nn

from .base import FeatureNetwork


class RandomSpectralConv(FeatureNetwork):
    """Parallel random Conv1d branches, one layer ``conv<width>`` per kernel width.

    Parameters
    ----------
    n_bins : int
        Frequency bins of the canvas (the convolution's input channels).
    widths : sequence of int
        Kernel widths in STFT frames, one branch each.
    n_filters : int
        Filters per branch.
    seed : int
        Fixes the random filters, so the same seed gives the same features.
    """

    def __init__(
        self,
        n_bins: int,
        widths: Sequence[int] = (3, 7, 15),
        n_filters: int = 256,
        seed: int = 0,
    ):
        super().__init__()
        if not widths or any(w < 1 for w in widths):
            raise ValueError(f"kernel widths must be positive, got {tuple(widths)}")
        generator = torch.Generator().manual_seed(seed)
        self.branches = nn.ModuleDict()
        for width in widths:
            conv = nn.Conv1d(n_bins, n_filters, width, padding=width // 2, bias=False)
            # He initialisation keeps activations of different widths on the
            # same scale, so no branch dominates the summed style loss.
            std = math.sqrt(2.0 / (n_bins * width))
            conv.weight.data = torch.randn(conv.weight.shape, generator=generator) * std
            self.branches[f"conv{width}"] = conv
        self.layer_names = tuple(self.branches)
        self.content_layers = self.layer_names
        self.style_layers = self.layer_names
        self.freeze()

    def forward(
        self, canvas: torch.Tensor, layers: Collection[str]
    ) -> dict[str, torch.Tensor]:
        n, c, bins, frames = canvas.shape
        # (N, 1, bins, frames) -> (N, bins, frames): bins become input channels.
        series = canvas.reshape(n, c * bins, frames)
        return {name: torch.relu(self.branches[name](series)) for name in layers}
