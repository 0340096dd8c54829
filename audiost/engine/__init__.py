"""The one optimisation engine shared by audio and images.

Losses are small modules (:mod:`.losses`), combined with weights and layer
names into an :class:`~.objective.Objective`; :func:`~.optimise.optimise`
minimises it over a canvas tensor, whatever media the canvas came from.
"""

from . import losses
from .losses import *  # every loss, as losses.__all__ lists them
from .objective import Objective, Term
from .optimise import OptimisationResult, optimise, optimise_with

__all__ = ["Objective", "OptimisationResult", "Term", "optimise", "optimise_with"]
__all__ += losses.__all__
