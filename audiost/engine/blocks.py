"""A long canvas's style statistics, gathered a block of its last axis (time) at a time.

A style's statistics are taken once, over the whole style, without
gradients. Taken at once, a ten-minute style's features at every layer
held 2.6 GB (4.8 GB for stereo); block by block they hold a block's.
Each block is read with the frames its features need either side (the
network's ``time_context``), so the statistics are the whole canvas's, to
float rounding: the style images of :mod:`.tiles`, in one dimension.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from typing import Any

import torch
from torch import nn

from ..features import FeatureNetwork
from .losses import autocovariance, normalised
from .parts import Fraction

#: Frames per block: about 24 s at 44.1 kHz, less than a content section,
#: so the style's blocks never hold more than the transfer's own features.
BLOCK_FRAMES = 2048


def wide_dtype(device: torch.device) -> torch.dtype:
    """What sums over many blocks or tiles are kept in: float64, or float32 on Apple's MPS, which has no float64."""
    return torch.float32 if torch.device(device).type == "mps" else torch.float64


class MomentSums:
    """Moments summed over blocks or tiles, in :func:`wide_dtype`, then turned into the statistics the losses match.

    ``losses`` maps each key (a layer's name) to a loss class or module
    with ``moments`` and ``statistic`` (:class:`~.losses.GramLoss`,
    :class:`~.losses.MeanStdLoss`); ``sums`` holds each key's total so far.
    """

    def __init__(
        self,
        losses: Mapping[Hashable, type[nn.Module] | nn.Module],
        device: torch.device,
    ):
        self.losses, self.wide = losses, wide_dtype(device)
        self.sums: dict[Hashable, torch.Tensor] = {}

    def add(self, key: Hashable, features: torch.Tensor, groups: int = 1) -> None:
        part = self.losses[key].moments(features, groups).to(self.wide)
        self.sums[key] = self.sums[key] + part if key in self.sums else part

    def statistics(
        self, positions: Mapping[Hashable, int]
    ) -> dict[Hashable, torch.Tensor]:
        """Each key's statistic over ``positions[key]`` positions, in float32."""
        return {
            key: loss.statistic(self.sums[key], positions[key]).float()
            for key, loss in self.losses.items()
        }


def _blocks(
    network: FeatureNetwork, canvas: torch.Tensor, block: int | None, after: int = 0
) -> Iterator[tuple[int, int, int, int]]:
    """``(start, stop, first, last)``: each block's frames, and the frames to read for its features and those of the ``after`` frames past it.

    A network without a ``time_context`` gets one block, the whole canvas,
    whose features (at whatever stride) are all kept.
    """
    frames = canvas.shape[-1]
    block, context = block or BLOCK_FRAMES, network.time_context
    if context is None:
        block, context = frames, 0
    for start in range(0, frames, block):
        stop = min(start + block, frames)
        yield start, stop, max(start - context, 0), min(stop + after + context, frames)


def statistics_in_blocks(
    network: FeatureNetwork,
    canvas: torch.Tensor,
    losses: dict[str, type[nn.Module]],
    block: int | None = None,
    progress: Fraction | None = None,
) -> dict[str, torch.Tensor]:
    """Each layer's position-averaged statistic over ``canvas`` (what ``losses[layer]`` matches), within ``network.groups``.

    ``losses`` maps layer names to loss classes with ``moments`` and
    ``statistic`` (:class:`~.losses.GramLoss`,
    :class:`~.losses.MeanStdLoss`). A network without a ``time_context``
    sees the canvas whole. ``block``: frames per block (default
    :data:`BLOCK_FRAMES`). ``progress`` hears the fraction of frames done
    after each block.
    """
    sums = MomentSums(losses, canvas.device)
    positions = dict.fromkeys(losses, 0)
    with torch.no_grad():
        for start, stop, first, last in _blocks(network, canvas, block):
            features = network(canvas[..., first:last], list(losses))
            for name in losses:
                kept = features[name][..., start - first : stop - first]
                sums.add(name, kept, network.groups)
                positions[name] += kept[0, 0].numel()
            if progress is not None:
                progress(stop / canvas.shape[-1])
    return sums.statistics(positions)


def autocorrelations_in_blocks(
    *arguments: Any, **options: Any
) -> dict[str, torch.Tensor]:
    """Each layer's :func:`~.losses.autocorrelation` over a canvas, gathered a block of frames at a time (arguments as for :func:`autocovariances_in_blocks`)."""
    covariances = autocovariances_in_blocks(*arguments, **options)
    return {name: normalised(c).float() for name, c in covariances.items()}


def autocovariances_in_blocks(
    network: FeatureNetwork,
    canvas: torch.Tensor,
    layers: list[str],
    max_lag: int,
    block: int | None = None,
    progress: Fraction | None = None,
) -> dict[str, torch.Tensor]:
    """Each layer's :func:`~.losses.autocovariance` over ``canvas``, gathered a block of frames at a time.

    A block's frames are correlated with the ``max_lag`` frames after it,
    uncentred, in float64 (:func:`wide_dtype`); the features' mean is
    taken out at the end from their total and their first and last
    ``max_lag`` frames, which is all the centring needs: ``sum (x_t -
    m)(x_t+l - m)`` is ``sum x_t x_t+l - m (A_l + B_l) + (T - l) m²``, with
    ``A_l`` and ``B_l`` the sums over the frames each side covers. A
    network without a ``time_context`` (whose features span frequency as
    well) sees the canvas whole. ``progress``: as for
    :func:`statistics_in_blocks`.
    """
    # As in losses.autocovariance: imported only by the runs that need it.
    from scipy.fft import next_fast_len

    if network.time_context is None:  # features over more than time: whole
        with torch.no_grad():
            features = network(canvas, layers)
        return {name: autocovariance(features[name], max_lag) for name in layers}
    frames = canvas.shape[-1]
    wide = wide_dtype(canvas.device)
    products: dict[str, torch.Tensor] = {}
    totals: dict[str, torch.Tensor] = {}
    first: dict[str, torch.Tensor] = {}
    last: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for start, stop, low, high in _blocks(network, canvas, block, max_lag):
            reach = min(stop + max_lag, frames)
            features = network(canvas[..., low:high], layers)
            for name in layers:
                series = features[name].flatten(2)[..., start - low : reach - low]
                series = series.to(wide)
                head = series[..., : stop - start]
                n = next_fast_len(stop - start + max_lag, real=True)
                lagged = torch.fft.irfft(
                    torch.fft.rfft(head, n).conj() * torch.fft.rfft(series, n), n
                )[..., : max_lag + 1]
                products[name] = products.get(name, 0) + lagged
                totals[name] = totals.get(name, 0) + head.sum(-1)
                if start == 0:
                    first[name] = series[..., :max_lag]
                if reach == frames and name not in last:
                    # The first block to reach the end holds its last max_lag frames.
                    last[name] = series[..., series.shape[-1] - max_lag :]
            if progress is not None:
                progress(stop / frames)
    out = {}
    for name in layers:
        mean = (totals[name] / frames)[..., None]
        lags = torch.arange(max_lag + 1, dtype=wide, device=canvas.device)
        # Sums over the frames without the last l (A_l) and without the first l (B_l).
        zero = torch.zeros_like(totals[name])[..., None]
        tail = torch.cat([zero, last[name].flip(-1).cumsum(-1)], -1)
        lead = torch.cat([zero, first[name].cumsum(-1)], -1)
        covered = 2 * totals[name][..., None] - tail - lead
        centred = products[name] - mean * covered + (frames - lags) * mean.square()
        out[name] = centred / (frames - lags)
    return out
