"""Batch processing: plan pairs, resume, run them on local workers or Ray, record a manifest."""

from .plan import DEFAULT_TEMPLATE
from .recipe import Recipe, load_recipe, resolve_recipe
from .runner import BatchInterrupted, BatchSummary, plan_batch, run_batch

__all__ = [
    "DEFAULT_TEMPLATE",
    "BatchInterrupted",
    "BatchSummary",
    "Recipe",
    "load_recipe",
    "plan_batch",
    "resolve_recipe",
    "run_batch",
]
