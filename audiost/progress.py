"""Progress display for long optimisations (tqdm on stderr)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from tqdm import tqdm

if TYPE_CHECKING:
    from .engine.optimise import StepCallback

_BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]"


@contextlib.contextmanager
def progress_bar(
    total: int, description: str, *, quiet: bool = False
) -> Iterator[StepCallback]:
    """Yield a step callback that drives a bar showing iteration, loss, elapsed and remaining time.

    The bar appears at the first step, so input errors found before the
    optimisation starts are not preceded by an empty bar.
    """
    bars: list[tqdm] = []

    def on_step(iteration: int, loss: float) -> None:
        if quiet:
            return
        if not bars:
            bars.append(
                tqdm(
                    total=total,
                    desc=description,
                    file=sys.stderr,
                    bar_format=_BAR_FORMAT,
                    dynamic_ncols=True,
                )
            )
        bars[0].set_postfix_str(f"loss={loss:.4g}", refresh=False)
        bars[0].update(iteration - bars[0].n)

    try:
        yield on_step
    finally:
        for bar in bars:
            bar.close()
