"""Progress display for long optimisations (tqdm on stderr)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from tqdm import tqdm

if TYPE_CHECKING:
    from .config import AudioConfig
    from .engine.optimise import StepCallback

_BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]"


@contextlib.contextmanager
def progress_bar(
    total: int,
    description: str,
    *,
    quiet: bool = False,
    then: tuple[int, str] | None = None,
) -> Iterator[StepCallback]:
    """Yield a step callback that drives a bar showing iteration, loss, elapsed and remaining time.

    The bar appears at the first step, so input errors found before the
    optimisation starts are not preceded by an empty bar. ``then``,
    ``(iterations, description)``: after that many iterations the bar says
    so (a second stage, whose loss is another thing's).
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
        if then is not None and iteration > then[0]:
            bars[0].set_description_str(then[1], refresh=False)
        bars[0].set_postfix_str(f"loss={loss:.4g}", refresh=False)
        bars[0].update(iteration - bars[0].n)

    try:
        yield on_step
    finally:
        for bar in bars:
            bar.close()


def audio_progress(
    config: AudioConfig, verb: str, quiet: bool = False
) -> contextlib.AbstractContextManager[StepCallback]:
    """The bar of an audio run: the spectrogram's iterations, then the waveform stage's ("<verb> the waveform")."""
    return progress_bar(
        config.iters + config.wave_iters,
        verb,
        quiet=quiet,
        then=(config.iters, f"{verb} the waveform"),
    )
