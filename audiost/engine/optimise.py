"""Minimise an objective over a canvas tensor with L-BFGS or Adam."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

_LINE_SEARCH_EVALS = 20

#: What is minimised: ``point -> (total, {term name: unweighted value})``; an
#: :class:`~audiost.engine.Objective` on a canvas, or one seen through a
#: transform (the waveform stage looks at samples through the STFT).
Loss = Callable[[torch.Tensor], tuple[torch.Tensor, dict[str, torch.Tensor]]]

#: Called after every iteration with (iteration, total loss).
StepCallback = Callable[[int, float], None]
#: Called after every iteration with (iteration, the canvas reached), for
#: intermediate results; the canvas must not be modified.
CanvasCallback = Callable[[int, torch.Tensor], None]


class OptimiserSettings(Protocol):
    """The settings :func:`optimise_with` reads: any audio or image configuration has them."""

    iters: int
    optimizer: str
    lr: float | None


class _NonFinite(Exception):
    """The objective was NaN or infinite at the point being evaluated."""


@dataclass
class _Evaluation:
    canvas: torch.Tensor
    loss: torch.Tensor
    parts: dict[str, torch.Tensor]


@dataclass
class OptimisationResult:
    """The optimised canvas and how the loss evolved."""

    canvas: torch.Tensor
    losses: list[float] = field(default_factory=list)
    parts: dict[str, float] = field(default_factory=dict)
    #: Each iteration's unweighted loss terms (at its last evaluation), for loss curves.
    history: list[dict[str, float]] = field(default_factory=list)
    stopped_early: str | None = None


def optimise(
    objective: Loss,
    init: torch.Tensor,
    *,
    iters: int,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    min_value: float | None = None,
    max_value: float | torch.Tensor | None = None,
    on_step: StepCallback | None = None,
    on_canvas: CanvasCallback | None = None,
) -> OptimisationResult:
    """Run ``iters`` optimiser iterations from ``init``.

    Parameters
    ----------
    objective : Loss
        Usually an :class:`~audiost.engine.Objective` of the canvas; any
        function of the point with the same result will do.
    init : torch.Tensor
        Starting canvas (or other point: a waveform), copied, not modified.
    iters : int
        Optimiser iterations (an L-BFGS iteration may evaluate the objective
        more than once in its line search).
    optimizer : {"lbfgs", "adam"}
        L-BFGS converges in far fewer iterations for this smooth problem;
        Adam needs less memory per step and tolerates rough objectives.
    lr : float, optional
        Step size; defaults to 1 for L-BFGS (with line search) and 0.1 for Adam.
    min_value : float, optional
        Canvas values are clamped to at least this after each step (a
        log-magnitude cannot be negative).
    max_value : float or torch.Tensor, optional
        Canvas values are clamped to at most this after each step (an image
        stays within [0, 1]); a tensor broadcast against the canvas bounds
        each position on its own (a spectrogram's bins).
    on_step : callable, optional
        Progress callback ``(iteration, loss)``.
    on_canvas : callable, optional
        ``(iteration, canvas)`` after each iteration, for intermediate results.

    Returns
    -------
    OptimisationResult
        If the loss becomes NaN or infinite, optimisation stops, the last
        finite canvas is returned and ``stopped_early`` says why (the
        pipelines pass it on as a result warning, which the CLI prints).
    """
    point = (
        init.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
    )
    if optimizer == "lbfgs":
        opt: torch.optim.Optimizer = torch.optim.LBFGS(
            [point],
            lr=lr or 1.0,
            max_iter=1,
            # Stepped one iteration at a time (for progress), so the line search needs its own evaluation budget: torch derives it
            # from max_iter otherwise, which leaves it none.
            max_eval=_LINE_SEARCH_EVALS,
            history_size=20,
            line_search_fn="strong_wolfe",
            # Relative losses give tiny absolute gradients; torch's absolute
            # tolerances would stop at once.
            tolerance_grad=0.0,
            tolerance_change=0.0,
        )
    elif optimizer == "adam":
        opt = torch.optim.Adam([point], lr=lr or 0.1)
    else:
        raise ValueError(f"optimizer must be 'lbfgs' or 'adam', got {optimizer!r}")

    def bounded(x: torch.Tensor) -> torch.Tensor:
        # The bounds are applied where the objective looks, not by clamping
        # the variable after each step: an in-place clamp moves the point
        # L-BFGS just accepted, so it would pay a full extra evaluation per
        # iteration and see curvature pairs from points it never visited.
        if min_value is not None:
            x = x.clamp(min=min_value)
        return x if max_value is None else x.clamp(max=max_value)

    # `last`: the latest evaluation (the memo). `accepted`: the evaluation at
    # the current iterate, which every step evaluates first; the state to go
    # back to when the loss blows up.
    last: _Evaluation | None = None
    accepted: _Evaluation | None = None
    step_started = False
    lbfgs = optimizer == "lbfgs"

    def closure() -> torch.Tensor:
        nonlocal last, accepted, step_started
        # L-BFGS re-evaluates the point its line search just accepted at the
        # start of every step; answering from memory saves a full
        # forward/backward pass per iteration. Adam never asks twice, so it
        # skips the comparison (a wait for the device).
        if last is None or not (lbfgs and torch.equal(last.canvas, point)):
            point.grad = None  # zero_grad(set_to_none=True), for the one tensor
            total, parts = objective(bounded(point))
            # L-BFGS: checked at every evaluation, not once per step: a line
            # search that meets a NaN can accept a wild point whose loss the
            # step never reports. Adam's loss is checked once per iteration,
            # with the progress values.
            if lbfgs and not torch.isfinite(total):
                raise _NonFinite
            total.backward()
            last = _Evaluation(
                point.detach().clone(),
                total.detach(),
                {name: value.detach() for name, value in parts.items()},
            )
        if not step_started:
            accepted, step_started = last, True
        return last.loss

    result = OptimisationResult(canvas=bounded(point).detach().clone())
    finite: _Evaluation | None = None  # the latest iterate known to be finite
    for iteration in range(1, iters + 1):
        step_started = False
        try:
            step_loss = opt.step(closure)
        except _NonFinite:
            result.stopped_early = _stopped(iteration)
            break
        # The loop's one copy to the host per iteration (beyond L-BFGS's own
        # line-search decisions): the loss for progress, every term for the
        # history, and Adam's finiteness check, together.
        loss, *values = torch.stack(
            [step_loss.detach().float(), *(v.float() for v in last.parts.values())]
        ).tolist()
        if not math.isfinite(loss):  # Adam: it stepped from a NaN gradient
            result.stopped_early = _stopped(iteration)
            accepted = finite
            break
        finite = accepted
        result.canvas = bounded(point).detach().clone()
        result.losses.append(loss)
        result.history.append(dict(zip(last.parts, values, strict=True)))
        if on_step is not None:
            on_step(iteration, loss)
        if on_canvas is not None:
            on_canvas(iteration, result.canvas)
    if result.stopped_early is None:
        total, parts = _final_loss(objective, result.canvas, bounded, last)
        if not torch.isfinite(total):
            # Adam's last step moved to a point it never evaluated, and its
            # loss is not finite.
            result.stopped_early = "loss became non-finite after the last iteration; kept the last finite result"
    if result.stopped_early is not None:
        if accepted is not None:
            result.canvas = bounded(accepted.canvas)
            total, parts = accepted.loss, accepted.parts
        else:  # the starting point itself: nothing better to keep
            with torch.no_grad():
                total, parts = objective(result.canvas)
    result.parts = {name: float(value) for name, value in parts.items()} | {
        "total": float(total)
    }
    return result


def optimise_with(
    settings: OptimiserSettings,
    objective: Loss,
    init: torch.Tensor,
    **options: Any,
) -> OptimisationResult:
    """:func:`optimise` with the iterations, optimiser and step size of a configuration."""
    return optimise(
        objective,
        init,
        iters=settings.iters,
        optimizer=settings.optimizer,
        lr=settings.lr,
        **options,
    )


def _stopped(iteration: int) -> str:
    return (
        f"loss became non-finite at iteration {iteration}; "
        "stopped and kept the last finite result"
    )


def _final_loss(
    objective: Loss,
    canvas: torch.Tensor,
    bounded: Callable[[torch.Tensor], torch.Tensor],
    last: _Evaluation | None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The loss at the result, from memory when the last evaluation was there (L-BFGS ends on it)."""
    if last is not None and torch.equal(bounded(last.canvas), canvas):
        return last.loss, last.parts
    with torch.no_grad():
        return objective(canvas)
