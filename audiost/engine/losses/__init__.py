"""Loss modules: each holds its target and maps an activation to a scalar.

Every loss is *relative* (divided by the size of its target), so 1.0 means
"as far from the target as zero is" whatever the layer, network or media.
That keeps user-facing weights meaningful across networks and lets layers be
summed without per-layer fudge factors.

By what they match: :mod:`.content` (a layer's activations),
:mod:`.statistics` (style statistics: Gram, mean and deviation),
:mod:`.rhythm` (how features recur over time), :mod:`.envelopes` (a
spectrogram's energy, band envelopes and pitch classes), :mod:`.levels`
(each bin's distribution of levels), :mod:`.windows` (a target per stretch
of time) and :mod:`.pictures` (outlines and smoothness).
"""

from .content import ContentLoss
from .envelopes import EnvelopeCorrelationLoss, EnvelopeLoss, PitchClassLoss
from .levels import LevelDistributionLoss
from .pictures import EdgeLoss, TotalVariationLoss
from .rhythm import AutocorrelationLoss, autocorrelation, autocovariance, normalised
from .statistics import STYLE_LOSSES, GramLoss, MeanStdLoss, gram_matrix, mean_std
from .windows import TimeWindows, window_slices

__all__ = [
    "STYLE_LOSSES",
    "AutocorrelationLoss",
    "ContentLoss",
    "EdgeLoss",
    "EnvelopeCorrelationLoss",
    "EnvelopeLoss",
    "GramLoss",
    "LevelDistributionLoss",
    "MeanStdLoss",
    "PitchClassLoss",
    "TimeWindows",
    "TotalVariationLoss",
    "autocorrelation",
    "autocovariance",
    "gram_matrix",
    "mean_std",
    "normalised",
    "window_slices",
]
