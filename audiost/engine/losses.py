"""Loss modules: each holds its target and maps an activation to a scalar.

Every loss is *relative* (divided by the size of its target), so 1.0 means
"as far from the target as zero is" whatever the layer, network or media.
That keeps user-facing weights meaningful across networks and lets layers be
summed without per-layer fudge factors.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from .parts import Fraction

_EPS = 1e-12
# Power floor of the envelopes, so silence has a finite log.
_LOG_FLOOR = math.log(1e-8)
# Bins (canvas rows) per block where a long target is reduced row by row.
_ROWS = 64


def gram_matrix(features: torch.Tensor, groups: int = 1) -> torch.Tensor:
    """``(N, C, *positions) -> (N, C, C)`` channel correlations averaged over positions.

    Averaging (not summing) makes Grams of inputs of different lengths or
    sizes comparable, so a 3 s style can drive a 30 s content. With
    ``groups`` > 1 the channels are that many independent groups (bands of
    a spectrogram network) and the result is ``(N, groups, C/groups,
    C/groups)``: correlations within each group only.
    """
    flat = _grouped_positions(features, groups)
    return _ungroup(_Gram.apply(flat, flat.shape[-1]), features.shape[0], groups)


def _grouped_positions(features: torch.Tensor, groups: int) -> torch.Tensor:
    """``(N, C, *positions) -> (N * groups, C / groups, positions)``."""
    n, channels = features.shape[:2]
    if channels % groups:
        raise ValueError(f"{channels} channels do not split into {groups} groups")
    return features.reshape(n * groups, channels // groups, -1)


def _ungroup(grams: torch.Tensor, n: int, groups: int) -> torch.Tensor:
    """``(N * groups, F, F) -> (N, groups, F, F)``; ungrouped Grams stay ``(N, C, C)``."""
    return grams if groups == 1 else grams.unflatten(0, (n, groups))


class _Gram(torch.autograd.Function):
    """``F Fᵀ / P`` with a backward pass that uses the Gram's symmetry.

    Autograd's own backward of ``F @ F.T`` does two large matrix products and
    adds one result read transposed; ``(G + Gᵀ) F / P`` is one product. On
    VGG's first layers this is a tenth of a whole forward/backward pass.
    """

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx, flat: torch.Tensor, divisor: int
    ) -> torch.Tensor:
        ctx.save_for_backward(flat)
        ctx.divisor = divisor
        return flat @ flat.transpose(1, 2) / divisor

    @staticmethod
    def backward(
        ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor
    ) -> tuple[torch.Tensor, None]:
        (flat,) = ctx.saved_tensors
        return (grad + grad.transpose(1, 2)) @ flat / ctx.divisor, None


class ContentLoss(nn.Module):
    """Relative squared error to the content's activations (Gatys et al. 2015)."""

    def __init__(self, target: torch.Tensor):
        super().__init__()
        self.register_buffer("target", target.detach())
        self.register_buffer("scale", target.detach().pow(2).mean().clamp_min(_EPS))

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


class _StatisticLoss(nn.Module):
    """A style statistic's match (:class:`GramLoss`, :class:`MeanStdLoss`): a ``target`` and its ``scale``."""

    groups: int
    target: torch.Tensor

    @classmethod
    def blend(cls, losses: list[_StatisticLoss], shares: list[float]) -> _StatisticLoss:
        """Match the ``shares``-weighted mean of several styles' statistics.

        The mean Gram is the statistic of the styles heard in those
        proportions (their features pooled); matching it costs one
        statistic per layer however many styles there are.
        """
        blended = sum(
            share * loss.target for loss, share in zip(losses, shares, strict=True)
        )
        return cls(groups=losses[0].groups).set_target(blended)


class GramLoss(_StatisticLoss):
    """Relative squared error between Gram matrices: matches texture statistics.

    The style batch holds one target per canvas in the batch (a stereo
    style's mid and side, each for its own channel) or one for all. With
    ``groups`` > 1 each group's Gram is compared on its own scale and the
    errors are averaged, so a quiet band's texture counts as much as a loud
    one's.
    """

    def __init__(self, target_features: torch.Tensor | None = None, groups: int = 1):
        super().__init__()
        self.groups = groups
        if target_features is not None:
            self.set_target(gram_matrix(target_features.detach(), groups))

    def set_target(self, statistic: torch.Tensor) -> GramLoss:
        """Match this Gram, ``(N, C, C)``: for targets gathered in tiles."""
        target = statistic.detach()
        self.register_buffer("target", target)
        self.register_buffer("scale", target.pow(2).sum(dim=(-2, -1)).clamp_min(_EPS))
        return self

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.from_statistic(gram_matrix(features, self.groups))

    def from_statistic(self, gram: torch.Tensor) -> torch.Tensor:
        return ((gram - self.target).pow(2).sum(dim=(-2, -1)) / self.scale).mean()

    # Sums over positions, so that tiles or blocks of a canvas add up (see
    # engine.tiles, engine.blocks).
    @staticmethod
    def moments(features: torch.Tensor, groups: int = 1) -> torch.Tensor:
        """``F Fᵀ`` summed, not averaged, over positions; within each of ``groups`` as :func:`gram_matrix`."""
        flat = _grouped_positions(features, groups)
        return _ungroup(_Gram.apply(flat, 1), features.shape[0], groups)

    @staticmethod
    def statistic(moments: torch.Tensor, positions: int) -> torch.Tensor:
        """The Gram from :meth:`moments` summed over ``positions`` positions."""
        return moments / positions


def mean_std(features: torch.Tensor) -> torch.Tensor:
    """``(N, C, *positions) -> (N, 2C)``: each channel's mean, then its standard deviation, over positions.

    Taken over positions, like the Gram, so inputs of different lengths or
    sizes compare. The variance is floored before the square root so that a
    constant (e.g. dead ReLU) channel still has a finite gradient.
    """
    var, mean = torch.var_mean(features.flatten(2), dim=-1, correction=0)
    return torch.cat([mean, (var + _EPS).sqrt()], dim=1)


class MeanStdLoss(_StatisticLoss):
    """Relative squared error between per-channel means and standard deviations.

    Li et al. (2017) showed that matching Gram matrices is aligning feature
    distributions, and that matching only these batch-norm statistics (what
    AdaIN matches) also transfers style: ``C`` numbers per layer to match
    instead of the Gram's ``C²`` channel correlations. Targets per canvas
    in the batch and ``groups`` are as for :class:`GramLoss`.
    """

    def __init__(self, target_features: torch.Tensor | None = None, groups: int = 1):
        super().__init__()
        self.groups = groups
        if target_features is not None:
            self.set_target(mean_std(target_features.detach()))

    def set_target(self, statistic: torch.Tensor) -> MeanStdLoss:
        """Match these means and deviations, ``(N, 2C)``: for targets gathered in tiles."""
        target = statistic.detach()
        self.register_buffer("target", target)
        self.register_buffer(
            "scale", self._by_group(target).pow(2).sum(dim=-1).clamp_min(_EPS)
        )
        return self

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.from_statistic(mean_std(features))

    def from_statistic(self, statistic: torch.Tensor) -> torch.Tensor:
        error = self._by_group(statistic - self.target).pow(2).sum(dim=-1)
        return (error / self.scale).mean()

    def _by_group(self, statistic: torch.Tensor) -> torch.Tensor:
        """``(N, 2C)`` -> ``(N, groups, 2C / groups)``: each group's means and deviations together."""
        means, stds = statistic.chunk(2, dim=1)
        return torch.cat(
            [
                means.unflatten(1, (self.groups, -1)),
                stds.unflatten(1, (self.groups, -1)),
            ],
            dim=-1,
        )

    # Sums over positions, so that tiles or blocks of a canvas add up (see
    # engine.tiles, engine.blocks).
    @staticmethod
    def moments(features: torch.Tensor, groups: int = 1) -> torch.Tensor:
        """Each channel's sum and sum of squares over positions, ``(N, 2C)``.

        ``groups`` is taken for a call like :meth:`GramLoss.moments`'s; the
        sums are per channel, which :meth:`from_statistic` groups.
        """
        flat = features.flatten(2)
        return torch.cat([flat.sum(-1), flat.pow(2).sum(-1)], dim=1)

    @staticmethod
    def statistic(moments: torch.Tensor, positions: int) -> torch.Tensor:
        """Means and deviations from :meth:`moments` summed over ``positions`` positions."""
        channels = moments.shape[1] // 2
        mean = moments[:, :channels] / positions
        var = (moments[:, channels:] / positions - mean.square()).clamp_min(0)
        return torch.cat([mean, (var + _EPS).sqrt()], dim=1)


#: Style losses by the name ``style_loss`` settings use; each is built from
#: the style's features at one layer.
STYLE_LOSSES: dict[str, type[nn.Module]] = {"gram": GramLoss, "meanstd": MeanStdLoss}


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
    return covariance[..., 1:] / covariance[..., :1].clamp_min(_EPS)


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
        self.register_buffer("scale", (target.pow(2) * weights).mean().clamp_min(_EPS))

    @classmethod
    def from_autocovariance(cls, covariance: torch.Tensor) -> AutocorrelationLoss:
        """Match the autocorrelations of ``covariance`` (``(N, C, lags + 1)``), each channel weighed by its share of the variance.

        A channel the style leaves silent (a band above an 8 kHz style's
        4 kHz) has an autocorrelation of rounding noise; unweighted, matching
        it filled the band (train x 8 kHz hold music at weight 0.3: style
        gain 0.85 -> 0.72, noise floor +18 dB; weighted, 0.85 and unchanged).
        """
        variance = covariance[..., :1]
        weights = variance / variance.mean(dim=1, keepdim=True).clamp_min(_EPS)
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


class EnvelopeLoss(nn.Module):
    """Energy envelope of a log-magnitude canvas (Verma & Smith 2018).

    ``axis="time"`` compares log energy per frame (the temporal envelope,
    which keeps the content's rhythm and articulation); ``axis="frequency"``
    compares log energy per bin averaged over time (the spectral envelope,
    which carries the style's timbre). The canvas is ``log1p(|STFT| / floor)``.
    """

    def __init__(
        self,
        target_canvas: torch.Tensor | None,
        axis: str,
        *,
        target: torch.Tensor | None = None,
    ):
        super().__init__()
        if axis not in ("time", "frequency"):
            raise ValueError(f"axis must be 'time' or 'frequency', got {axis!r}")
        self.axis = axis
        if target is None:
            target = self._envelope_by_rows(target_canvas.detach())
        self.register_buffer("target", target.detach())

    @classmethod
    def blend(cls, losses: list[EnvelopeLoss], shares: list[float]) -> EnvelopeLoss:
        """Match the ``shares``-weighted mean of several log envelopes (a geometric mean of their powers)."""
        blended = sum(
            share * loss.target for loss, share in zip(losses, shares, strict=True)
        )
        return cls(None, losses[0].axis, target=blended)

    def envelope(self, canvas: torch.Tensor) -> torch.Tensor:
        """``log(mean(expm1(canvas)²) + 1e-8)`` over bins (time) or frames (frequency).

        Computed in the log domain: an optimiser's trial step can reach
        log-magnitudes near 50, where ``expm1(c)²`` overflows float32 and
        the loss would be infinite instead of merely large.
        """
        magnitude = canvas.clamp_min(1e-6)
        # log(expm1(c)²) = 2 (c + log(1 - e⁻ᶜ)), finite for any c > 0.
        log_power = 2 * (magnitude + torch.log(-torch.expm1(-magnitude)))
        # canvas is (N, 1, bins, frames): average over bins for the temporal
        # envelope, over frames for the spectral one.
        dim = -2 if self.axis == "time" else -1
        log_mean = torch.logsumexp(log_power, dim=dim) - math.log(log_power.shape[dim])
        return torch.logaddexp(log_mean, torch.full_like(log_mean, _LOG_FLOOR))

    def _envelope_by_rows(self, canvas: torch.Tensor) -> torch.Tensor:
        """:meth:`envelope`, a block of bins at a time where bins are independent (the spectral envelope).

        A style's canvas may be minutes long; the envelope's temporaries are
        then those of a block, not four copies of the canvas.
        """
        if self.axis == "time":
            return self.envelope(canvas)
        return torch.cat([self.envelope(rows) for rows in canvas.split(_ROWS, -2)], -1)

    def forward(self, canvas: torch.Tensor) -> torch.Tensor:
        return (self.envelope(canvas) - self.target).pow(2).mean() / self.target.var(
            dim=-1
        ).mean().clamp_min(_EPS)


class EnvelopeCorrelationLoss(nn.Module):
    """How little each band's envelope rises and falls with a target's: ``1 - correlation``, in short windows.

    What keeps words intelligible is when each band's level rises and
    falls over a few hundred milliseconds (the envelopes STOI correlates,
    Taal et al. 2011). A correlation is blind to a band's level and depth
    of modulation, which stay the style's to set: the style is the
    carrier, the content the modulator, as in a channel vocoder.

    Envelopes are linear magnitudes averaged over each band: they are heard
    by their loud moments. On log magnitudes the style's quiet
    fluctuations between syllables counted as much as the syllables, and
    the term barely helped (speech x mariachi, STOI 0.63 -> 0.69 at ten
    times the weight that takes it to 0.85 on linear magnitudes).

    Parameters
    ----------
    target_canvas : torch.Tensor
        ``(N, 1, bins, frames)`` log-magnitude canvas, ``log1p(|S| / floor)``.
    bands : torch.Tensor
        ``(B, bins)``: each row averages the bins of one band.
    window : int
        Frames per window; windows overlap by half.
    band_mask : torch.Tensor, optional
        ``(N or 1, B, 1)``: 1 for the bands that count.
    """

    #: A window counts where the target's envelope is within this of its loudest:
    #: silence has no envelope to follow (STOI drops such frames too).
    SILENCE_DB = 40.0

    def __init__(
        self,
        target_canvas: torch.Tensor,
        bands: torch.Tensor,
        window: int,
        band_mask: torch.Tensor | None = None,
    ):
        super().__init__()
        self.window = min(window, target_canvas.shape[-1])
        self.register_buffer("bands", bands)
        with torch.no_grad():
            envelopes = self.windows(target_canvas)
            level = envelopes.mean(dim=-1)
            loud = level >= level.amax(dim=(1, 2), keepdim=True) * 10 ** (
                -self.SILENCE_DB / 20
            )
            if band_mask is not None:
                loud = loud & band_mask.bool()
            # Scale-free from here: the envelopes' size only sets the epsilon's.
            self.register_buffer("scale", level.amax().clamp_min(_EPS))
            self.register_buffer("target", self.standardised(envelopes))
        self.register_buffer("counted", loud.float())

    def windows(self, canvas: torch.Tensor) -> torch.Tensor:
        """``(N, B, windows, window)``: each band's magnitude envelope, cut into half-overlapping windows, the last one ending at the last frame."""
        # 30 is 160 dB over full scale: no canvas a result is made of comes
        # near it, and expm1 stays finite in float32 for an optimiser's trial steps.
        magnitude = torch.expm1(canvas[:, 0].clamp(0, 30))
        envelopes = torch.matmul(self.bands, magnitude)
        hop = self.window // 2
        windows = envelopes.unfold(-1, self.window, hop)
        if (envelopes.shape[-1] - self.window) % hop:
            windows = torch.cat([windows, envelopes[..., None, -self.window :]], dim=-2)
        return windows

    def standardised(self, windows: torch.Tensor) -> torch.Tensor:
        return _standardised(windows, -1, self.scale)

    def forward(self, canvas: torch.Tensor) -> torch.Tensor:
        correlation = (self.standardised(self.windows(canvas)) * self.target).sum(-1)
        return ((1 - correlation) * self.counted).sum() / self.counted.sum().clamp_min(
            1
        )


class PitchClassLoss(nn.Module):
    """Each frame's pitch classes correlated with the target's: the notes of a tune, kept.

    A frame's linear magnitudes are folded into the twelve pitch classes
    (``folding``, :func:`~audiost.media.mel.pitch_class_matrix`) and
    compared with the target's by correlation, so only which notes sound
    counts, not how loud or in which octave, and the style is free to
    voice them. Its onsets and band envelopes keep a tune's rhythm; the
    notes went with the style's statistics (a folk tune styled by frogs
    kept 0.29 of its pitch-class correlation, docs/quality.md). A frame
    counts by the spread of the target's pitch classes there, so a tune's
    notes weigh and its pauses, noise and unpitched hits do not.

    Parameters
    ----------
    target_canvas : torch.Tensor
        ``(N, 1, bins, frames)`` log-magnitude canvas, ``log1p(|S| / floor)``.
    folding : torch.Tensor
        ``(12, bins)``: each row sums the bins of one pitch class.
    """

    def __init__(self, target_canvas: torch.Tensor, folding: torch.Tensor):
        super().__init__()
        self.register_buffer("folding", folding)
        with torch.no_grad():
            classes = self.classes(target_canvas)
            spread = (classes - classes.mean(dim=1, keepdim=True)).norm(dim=1)
            # Scale-free from here: the classes' size only sets the epsilon's.
            self.register_buffer("scale", spread.amax().clamp_min(_EPS))
            self.register_buffer("target", _standardised(classes, 1, self.scale))
        self.register_buffer("counted", spread / spread.sum().clamp_min(_EPS))

    def classes(self, canvas: torch.Tensor) -> torch.Tensor:
        """``(N, 12, frames)``: each frame's magnitude in each pitch class."""
        # As in EnvelopeCorrelationLoss.windows: finite for trial steps.
        return torch.matmul(self.folding, torch.expm1(canvas[:, 0].clamp(0, 30)))

    def forward(self, canvas: torch.Tensor) -> torch.Tensor:
        standardised = _standardised(self.classes(canvas), 1, self.scale)
        correlation = (standardised * self.target).sum(1)
        return ((1 - correlation) * self.counted).sum()


def _standardised(values: torch.Tensor, dim: int, scale: torch.Tensor) -> torch.Tensor:
    """``values`` centred and scaled to unit length along ``dim``, so a product summed there is a correlation.

    ``scale`` is the target's size: the epsilon is a millionth of it, so a
    silent stretch divides by no zero and a loud one is not biased.
    """
    centred = values - values.mean(dim=dim, keepdim=True)
    norm = centred.pow(2).sum(dim=dim, keepdim=True)
    return centred / (norm + (1e-6 * scale) ** 2).sqrt()


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
        rows = target.split(_ROWS, dim=-2)
        ranks = min(target.shape[-1], self.RANKS)
        quantiles = []
        for done, row in enumerate(rows, 1):
            quantiles.append(_at_ranks(_sorted(row), ranks))
            if progress is not None:
                progress(done / len(rows))
        self.register_buffer("sorted_target", torch.cat(quantiles, -2))
        variances = torch.cat([r.var(dim=-1, correction=0) for r in rows], -1)
        self.register_buffer("scale", variances.mean().clamp_min(_EPS))
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
