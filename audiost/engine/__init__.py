"""The one optimisation engine shared by audio and images.

Losses are small modules (:mod:`.losses`), combined with weights and layer
names into an :class:`~.objective.Objective`; :func:`~.optimise.optimise`
minimises it over a canvas tensor, whatever media the canvas came from.
"""

from .losses import (
    STYLE_LOSSES,
    AutocorrelationLoss,
    ContentLoss,
    EdgeLoss,
    EnvelopeCorrelationLoss,
    EnvelopeLoss,
    GramLoss,
    LevelDistributionLoss,
    MeanStdLoss,
    PitchClassLoss,
    TimeWindows,
    TotalVariationLoss,
    autocorrelation,
    gram_matrix,
    mean_std,
)
from .objective import Objective, Term
from .optimise import OptimisationResult, optimise, optimise_with

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
    "Objective",
    "OptimisationResult",
    "PitchClassLoss",
    "Term",
    "TimeWindows",
    "TotalVariationLoss",
    "autocorrelation",
    "gram_matrix",
    "mean_std",
    "optimise",
    "optimise_with",
]
