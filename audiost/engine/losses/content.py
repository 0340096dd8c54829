"""The content term: a layer's activations kept (Gatys et al. 2015)."""

from __future__ import annotations

import torch
from torch import nn

from ._common import EPS


class ContentLoss(nn.Module):
    """Relative squared error to the content's activations (Gatys et al. 2015)."""

    def __init__(self, target: torch.Tensor):
        super().__init__()
        self.register_buffer("target", target.detach())
        self.register_buffer("scale", target.detach().pow(2).mean().clamp_min(EPS))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return (features - self.target).pow(2).mean() / self.scale

    def error_sum(
        self, features: torch.Tensor, where: tuple[slice, slice]
    ) -> torch.Tensor:
        """Squared error of one tile's features at ``where`` (rows, columns) of the target.

        Over tiles that cover the target these sum to ``forward`` times
        :attr:`normaliser`.
        """
        return (features - self.target[..., where[0], where[1]]).pow(2).sum()

    @property
    def normaliser(self) -> torch.Tensor:
        return self.target.numel() * self.scale
