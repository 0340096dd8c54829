"""Progress display for long optimisations (tqdm on stderr)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from tqdm import tqdm

if TYPE_CHECKING:
    from .config import AudioConfig, ImageConfig
    from .engine.optimise import StepCallback
    from .engine.parts import Fraction

#: The bars fill by cost, not by steps (see :func:`progress_bar`), so the
#: count of steps goes in the postfix, beside the loss.
BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}{postfix}]"


@contextlib.contextmanager
def progress_bar(
    work: Sequence[tuple[int, float]],
    description: str,
    *,
    quiet: bool = False,
    then: tuple[int, str] | None = None,
) -> Iterator[StepCallback]:
    """Yield a step callback that drives a bar showing iteration, loss, elapsed and remaining time.

    ``work``, ``[(iterations, cost of each), ...]`` in order: the bar fills
    by cost, so that its remaining time holds when later iterations are
    slower (a picture's coarse-to-fine passes: on a 451 px photo the last
    pass's iterations cost 3.4 times the first's, and the remaining time
    counted in iterations was under half the truth from the middle on).
    The bar appears at the first step, so input errors found before the
    optimisation starts are not preceded by an empty bar. ``then``,
    ``(iterations, description)``: after that many iterations the bar says
    so (a second stage, whose loss is another thing's).
    """
    bars: list[tqdm] = []
    done = _work_done(work)
    total = sum(iterations for iterations, _ in work)

    def on_step(iteration: int, loss: float) -> None:
        if quiet:
            return
        if not bars:
            bars.append(_bar(done(total), description))
        bar = bars[0]
        if then is not None and iteration > then[0]:
            bar.set_description_str(then[1], refresh=False)
        bar.set_postfix_str(f"{iteration}/{total}, loss={loss:.4g}", refresh=False)
        bar.update(done(iteration) - bar.n)

    try:
        yield on_step
    finally:
        for bar in bars:
            bar.close()


#: A style's analysis shows a bar only once it has taken this long (s):
#: a clip's takes a fraction of a second, an hour of stereo about a minute.
_ANALYSIS_DELAY_S = 1.0


@contextlib.contextmanager
def analysis_progress(quiet: bool = False) -> Iterator[Fraction]:
    """Yield the ``on_style`` callback of a transfer or texture: a bar of the style's analysis, with elapsed and remaining time.

    The bar appears only when the analysis takes over
    :data:`_ANALYSIS_DELAY_S`, and is closed when it is done, before the
    optimisation's bar starts.
    """
    bars: list[tqdm] = []

    def on_fraction(fraction: float) -> None:
        if quiet:
            return
        if not bars:
            bars.append(_bar(1.0, "analysing the style", delay=_ANALYSIS_DELAY_S))
        bar = bars[0]
        bar.update(fraction - bar.n)
        if fraction >= 1:
            bar.close()

    try:
        yield on_fraction
    finally:
        for bar in bars:
            bar.close()


def _bar(total: float, description: str, delay: float = 0.0) -> tqdm:
    """A bar on stderr in :data:`BAR_FORMAT`, shown from ``delay`` seconds on."""
    return tqdm(
        total=total,
        desc=description,
        file=sys.stderr,
        bar_format=BAR_FORMAT,
        dynamic_ncols=True,
        delay=delay,
    )


def _work_done(work: Sequence[tuple[int, float]]) -> Callable[[int], float]:
    """Cost of the first ``n`` iterations of ``work`` (``[(iterations, cost of each), ...]``)."""

    def done(n: int) -> float:
        spent = 0.0
        for iterations, cost in work:
            spent += min(n, iterations) * cost
            n -= iterations
            if n <= 0:
                break
        return spent

    return done


#: What the Griffin-Lim decode between an audio run's two stages costs, in
#: canvas iterations per Griffin-Lim iteration: 64 took 1.07 s on 8 s of
#: stereo (0.23 s a canvas iteration) and 6.2 s on 77 s of mono (1.2 s),
#: about 5 iterations' worth either way.
_DECODE_PER_GL_ITERATION = 5 / 64


def audio_progress(
    config: AudioConfig, verb: str, quiet: bool = False
) -> contextlib.AbstractContextManager[StepCallback]:
    """The bar of an audio run: the spectrogram's iterations, then the waveform stage's ("<verb> the waveform").

    The decode between them counts with the waveform stage's first
    iteration, so the remaining time includes it from the start instead of
    running that much short until the decode is over.
    """
    work = [(config.iters, 1.0)]
    if config.wave_iters:
        decode = config.gl_iters * _DECODE_PER_GL_ITERATION
        work += [(1, 1.0 + decode), (config.wave_iters - 1, 1.0)]
    return progress_bar(
        work, verb, quiet=quiet, then=(config.iters, f"{verb} the waveform")
    )


def image_progress(
    config: ImageConfig, size: tuple[int, int], verb: str, quiet: bool = False
) -> contextlib.AbstractContextManager[StepCallback]:
    """The bar of a picture made at ``size`` (``(width, height)``): every coarse-to-fine pass, filled by its cost."""
    from .image.scales import planned_work

    return progress_bar(planned_work(config, size), verb, quiet=quiet)
