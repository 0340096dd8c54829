"""Style statistics matched layer by layer: Gram matrices (Gatys et al. 2015) and per-channel means and deviations (Li et al. 2017)."""

from __future__ import annotations

import torch
from torch import nn

from ._common import EPS


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
        self.register_buffer("scale", target.pow(2).sum(dim=(-2, -1)).clamp_min(EPS))
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
    return torch.cat([mean, (var + EPS).sqrt()], dim=1)


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
            "scale", self._by_group(target).pow(2).sum(dim=-1).clamp_min(EPS)
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
        return torch.cat([mean, (var + EPS).sqrt()], dim=1)


#: Style losses by the name ``style_loss`` settings use; each is built from
#: the style's features at one layer.
STYLE_LOSSES: dict[str, type[nn.Module]] = {"gram": GramLoss, "meanstd": MeanStdLoss}
