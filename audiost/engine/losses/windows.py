"""Losses matched window by window along time: a style that changes (a morph)."""

from __future__ import annotations

import math

import torch
from torch import nn


class TimeWindows(nn.Module):
    """One loss per stretch of time: windows that overlap by half, each with its own target.

    The windows are fractions of the input's last axis (time, for audio
    canvases and features), so one schedule fits every layer whatever its
    time resolution. The loss is the windows' mean. A style that changes
    over time (a morph) is matched this way: each window holds its own
    blend of the styles' statistics.
    """

    def __init__(self, windows: list[nn.Module]):
        super().__init__()
        self.windows = nn.ModuleList(windows)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.stack(
            [
                loss(features[..., where])
                for loss, where in zip(
                    self.windows,
                    window_slices(features.shape[-1], len(self.windows)),
                    strict=True,
                )
            ]
        ).mean()


def window_slices(length: int, count: int) -> list[slice]:
    """``count`` windows over ``0:length``, each twice the hop long and overlapping its neighbours by half; never empty."""
    hop = length / (count + 1)
    slices = []
    for k in range(count):
        start = min(math.floor(k * hop), length - 1)
        slices.append(slice(start, max(start + 1, math.ceil((k + 2) * hop))))
    return slices
