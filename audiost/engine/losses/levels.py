"""Each frequency bin's distribution of levels over time, matched to the style's by sorting (Risser et al. 2017)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..parts import Fraction
from ._common import EPS, ROWS


class LevelDistributionLoss(nn.Module):
    """Each bin's distribution of log-magnitudes over time, matched to the style's.

    The sorted values of every bin (its quantiles) are compared with the
    style's quantiles at the same ranks: a one-dimensional optimal transport
    per bin (the histogram loss of Risser et al. 2017, on the spectrogram).
    Sorting forgets *when*, so the style's timeline is not copied, but the
    style's dynamics are: how often each bin is loud and how dark its quiet
    moments are. A mean-per-bin envelope cannot tell a steady drone from
    croaks between silences; this can, and it keeps the output's quiet
    moments as dark as the style's (no hiss where the style has none).

    ``row_weights`` (one per bin) weigh each bin's error: a network that
    reads some bins many times over pulls on them as hard, and each bin
    must be held at least as firmly (:meth:`FeatureNetwork.row_weights`).
    ``progress`` hears the fraction of the style's bins sorted.
    """

    #: Ranks kept of a long style's distribution in each bin. A content
    #: section has about 2,600 frames (30 s at 44.1 kHz), and its ranks are
    #: read between these: a style over 4096 frames (47 s) keeps 17 MB per
    #: channel, not its whole canvas (210 MB for ten minutes).
    RANKS = 4096

    def __init__(
        self,
        target_canvas: torch.Tensor,
        row_weights: torch.Tensor | None = None,
        progress: Fraction | None = None,
    ):
        super().__init__()
        # (N, 1, bins, frames): one distribution per bin of each channel.
        target = target_canvas.detach()
        self.register_buffer(
            "row_weights", None if row_weights is None else row_weights[:, None]
        )
        # A block of bins at a time: sorting a long canvas whole takes three
        # times its memory (the values and their int64 order).
        rows = target.split(ROWS, dim=-2)
        ranks = min(target.shape[-1], self.RANKS)
        quantiles = []
        for done, row in enumerate(rows, 1):
            quantiles.append(_at_ranks(_sorted(row), ranks))
            if progress is not None:
                progress(done / len(rows))
        self.register_buffer("sorted_target", torch.cat(quantiles, -2))
        variances = torch.cat([r.var(dim=-1, correction=0) for r in rows], -1)
        self.register_buffer("scale", variances.mean().clamp_min(EPS))
        self._quantiles: dict[int, torch.Tensor] = {}

    @classmethod
    def blend(
        cls, losses: list[LevelDistributionLoss], shares: list[float]
    ) -> LevelDistributionLoss:
        """Match the ``shares``-weighted mean of several styles' quantiles, rank by rank.

        Averaging quantile functions is the 1-D optimal-transport
        (Wasserstein) barycentre of the distributions: a blend of a drone
        and of croaks between silences has levels in between, not a
        histogram with both peaks.
        """
        ranks = max(loss.sorted_target.shape[-1] for loss in losses)
        blended = sum(
            share * loss.quantiles(ranks)
            for loss, share in zip(losses, shares, strict=True)
        )
        rows = losses[0].row_weights
        return cls(blended, None if rows is None else rows[:, 0])

    def quantiles(self, frames: int) -> torch.Tensor:
        """The style's per-bin values at ``frames`` evenly spaced ranks, ``(N, 1, bins, frames)``."""
        if frames not in self._quantiles:
            self._quantiles[frames] = _at_ranks(self.sorted_target, frames)
        return self._quantiles[frames]

    def forward(self, canvas: torch.Tensor) -> torch.Tensor:
        ranked = canvas.sort(dim=-1).values
        target = self.quantiles(canvas.shape[-1]).to(canvas.dtype)
        error = (ranked - target).pow(2)
        if self.row_weights is not None:
            error = error * self.row_weights
        return error.mean() / self.scale


def _sorted(values: torch.Tensor) -> torch.Tensor:
    """``values`` sorted along the last axis, without the order.

    On the CPU by NumPy: its value-only sort took 1.4 s where torch's,
    which also returns the order, took 2.1 (a ten-minute style's canvas).
    """
    if values.device.type != "cpu":
        return values.sort(dim=-1).values
    return torch.from_numpy(np.sort(values.numpy(), axis=-1))


def _at_ranks(ordered: torch.Tensor, ranks: int) -> torch.Tensor:
    """Values sorted along the last axis, read at ``ranks`` evenly spaced ranks (linearly between neighbours).

    Each value stands for the quantile at the middle of its share of the
    ranks, so reading ``n`` values at ``n`` ranks gives them back.
    """
    known = ordered.shape[-1]
    if ranks == known:
        return ordered
    position = (torch.arange(ranks, device=ordered.device) + 0.5) * (
        known / ranks
    ) - 0.5
    position = position.clamp(0, known - 1)
    below = position.floor().long()
    above = (below + 1).clamp_max(known - 1)
    share = (position - below).to(ordered.dtype)
    return torch.lerp(ordered[..., below], ordered[..., above], share)
