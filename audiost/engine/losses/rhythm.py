"""How each feature recurs over time: autocorrelations, a texture's rhythm and a transfer's pulse (Antognini et al. 2019)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ._common import EPS


def autocovariance(features: torch.Tensor, max_lag: int) -> torch.Tensor:
    """``(N, C, *positions) -> (N, C, max_lag + 1)``: each channel's autocovariance at lags 0..max_lag.

    Along the last axis (time, for audio features), computed by FFT, each lag
    averaged over the positions it covers so that signals of different
    lengths compare.
    """
    # Here, not at the top: importing scipy.fft takes about 0.2 s, and only
    # textures and modulation terms come here; other transfers and pictures
    # never pay it.
    from scipy.fft import next_fast_len

    series = features.flatten(2)
    series = series - series.mean(dim=-1, keepdim=True)
    length = series.shape[-1]
    # Zero-padding to length + max_lag keeps lags up to max_lag free of
    # wrap-around; rounded up to a size with small prime factors, the FFTs
    # and their gradients cost 2.6x less than at 2 x length (1920 features
    # of 345 frames, 129 lags: 28 -> 11 ms forward and backward).
    n = next_fast_len(length + max_lag, real=True)
    raw = _LaggedProducts.apply(series, max_lag, n)
    counts = torch.arange(
        length, length - max_lag - 1, -1, device=features.device, dtype=features.dtype
    )
    return raw / counts


class _LaggedProducts(torch.autograd.Function):
    """``sum_t x[t] x[t + k]`` for k = 0..max_lag, by FFTs of size ``n`` (at least length + max_lag: no wrap-around), with a gradient by FFTs too.

    autograd's own gradient runs back through the inverse FFT, the squared
    magnitude and the forward FFT, whose backward is a complex FFT over a
    zero-filled copy: in a texture's profile those took 4.1 of 9.5 s. The
    gradient of ``sum_k g[k] sum_t x[t] x[t + k]`` is
    ``sum_k g[k] (x[t + k] + x[t - k])``, a correlation and a convolution
    with ``g``: in frequency ``X (conj G + G) = 2 X Re G``, one small
    forward and one inverse FFT. A 10 s texture of the djembe
    (``balanced``, 2-core EPYC, medians of 3): optimisation 31.7 -> 25.7 s,
    the whole run 44.1 -> 37.9 s.
    """

    @staticmethod
    def forward(ctx: Any, series: torch.Tensor, max_lag: int, n: int) -> torch.Tensor:
        spectrum = torch.fft.rfft(series, n=n)
        ctx.save_for_backward(spectrum)
        ctx.length, ctx.n = series.shape[-1], n
        power = spectrum.real.square() + spectrum.imag.square()
        return torch.fft.irfft(power, n=n)[..., : max_lag + 1]

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (spectrum,) = ctx.saved_tensors
        lags = torch.fft.rfft(grad, n=ctx.n).real
        # Real times complex as pairs of reals: a complex product would first
        # copy the real factor into a complex tensor.
        weighted = torch.view_as_real(spectrum) * (2 * lags).unsqueeze(-1)
        series = torch.fft.irfft(torch.view_as_complex(weighted), n=ctx.n)
        return series[..., : ctx.length], None, None


def autocorrelation(features: torch.Tensor, max_lag: int) -> torch.Tensor:
    """``(N, C, *positions) -> (N, C, max_lag)``: each channel's :func:`autocovariance` at lags 1..max_lag over lag 0.

    Divided by lag 0 so only the *shape* counts: when things recur, not how
    loud they are (the Gram sees that).
    """
    return normalised(autocovariance(features, max_lag))


def normalised(covariance: torch.Tensor) -> torch.Tensor:
    """Autocovariances at lags 0..L -> autocorrelations at lags 1..L."""
    return covariance[..., 1:] / covariance[..., :1].clamp_min(EPS)


class AutocorrelationLoss(nn.Module):
    """Relative squared error between feature autocorrelations over time: the style's rhythm.

    Gram matrices average over time and so cannot tell a steady drone from a
    beat with the same timbre; matching how each feature's activity recurs
    brings back periodicity and onsets (the rhythm term of Antognini, Hoffman
    & Weiss 2019). Textures match lags of a few seconds (their rhythm); a
    transfer's modulation term a quarter second (a croak, a tremolo).

    ``channel_weights`` (``(N or 1, C, 1)``), where given, weigh each
    channel's error (:meth:`from_autocovariance`: by the style's variance
    in it). A canvas shorter than twice the lags is matched on the lags it
    has room for.
    """

    def __init__(
        self,
        target_features: torch.Tensor | None,
        max_lag: int,
        *,
        target: torch.Tensor | None = None,
        channel_weights: torch.Tensor | None = None,
    ):
        super().__init__()
        self.max_lag = max_lag
        if target is None:  # else the style's, gathered in blocks (engine.blocks)
            target = autocorrelation(target_features.detach(), max_lag)
        weights = (
            torch.ones((), device=target.device)
            if channel_weights is None
            else channel_weights
        )
        self.register_buffer("target", target.detach())
        self.register_buffer("weights", weights.detach())
        self.register_buffer("scale", (target.pow(2) * weights).mean().clamp_min(EPS))

    @classmethod
    def from_autocovariance(cls, covariance: torch.Tensor) -> AutocorrelationLoss:
        """Match the autocorrelations of ``covariance`` (``(N, C, lags + 1)``), each channel weighed by its share of the variance.

        A channel the style leaves silent (a band above an 8 kHz style's
        4 kHz) has an autocorrelation of rounding noise; unweighted, matching
        it filled the band (train x 8 kHz hold music at weight 0.3: style
        gain 0.85 -> 0.72, noise floor +18 dB; weighted, 0.85 and unchanged).
        """
        variance = covariance[..., :1]
        weights = variance / variance.mean(dim=1, keepdim=True).clamp_min(EPS)
        return cls(
            None,
            covariance.shape[-1] - 1,
            target=normalised(covariance).float(),
            channel_weights=weights.float(),
        )

    @classmethod
    def blend(
        cls, losses: list[AutocorrelationLoss], shares: list[float]
    ) -> AutocorrelationLoss:
        """Match the ``shares``-weighted mean of several styles' autocorrelations and channel weights, at the lags all of them have."""
        lags = min(loss.max_lag for loss in losses)
        target = sum(
            share * loss.target[..., :lags]
            for loss, share in zip(losses, shares, strict=True)
        )
        weights = sum(
            share * loss.weights for loss, share in zip(losses, shares, strict=True)
        )
        return cls(None, lags, target=target, channel_weights=weights)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        lags = min(self.max_lag, features.shape[-1] // 2)
        if lags < 1:  # a window too short to recur in: nothing to match
            return features.sum() * 0
        error = (autocorrelation(features, lags) - self.target[..., :lags]).pow(2)
        return (error * self.weights).mean() / self.scale
