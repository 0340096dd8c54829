"""Minimise an objective over a canvas tensor with L-BFGS or Adam."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .objective import Objective

_LINE_SEARCH_EVALS = 20

#: Called after every iteration with (iteration, total loss).
StepCallback = Callable[[int, float], None]


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
    objective: Objective,
    init: torch.Tensor,
    *,
    iters: int,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    min_value: float | None = None,
    max_value: float | None = None,
    on_step: StepCallback | None = None,
) -> OptimisationResult:
    """Run ``iters`` optimiser iterations from ``init``.

    Parameters
    ----------
    objective : Objective
    init : torch.Tensor
        Starting canvas (copied, not modified).
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
    max_value : float, optional
        Canvas values are clamped to at most this after each step (an image
        stays within [0, 1]).
    on_step : callable, optional
        Progress callback ``(iteration, loss)``.

    Returns
    -------
    OptimisationResult
        If the loss becomes NaN or infinite, optimisation stops, the last
        finite canvas is returned and ``stopped_early`` says why.
    """
    canvas = (
        init.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
    )
    if optimizer == "lbfgs":
        opt: torch.optim.Optimizer = torch.optim.LBFGS(
            [canvas],
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
        opt = torch.optim.Adam([canvas], lr=lr or 0.1)
    else:
        raise ValueError(f"optimizer must be 'lbfgs' or 'adam', got {optimizer!r}")

    def bounded(x: torch.Tensor) -> torch.Tensor:
        # The bounds are applied where the objective looks, not by clamping
        # the variable after each step: an in-place clamp moves the point
        # L-BFGS just accepted, so it would pay a full extra evaluation per
        # iteration and see curvature pairs from points it never visited.
        return (
            x
            if min_value is None and max_value is None
            else x.clamp(min=min_value, max=max_value)
        )

    last: dict[str, torch.Tensor] = {}

    def closure() -> torch.Tensor:
        # L-BFGS re-evaluates the point its line search just accepted at the
        # start of every step; answering from memory saves a full
        # forward/backward pass per iteration.
        if last and torch.equal(last["canvas"], canvas):
            return last["loss"]
        opt.zero_grad(set_to_none=True)
        total, parts = objective(bounded(canvas))
        total.backward()
        last["canvas"], last["loss"] = canvas.detach().clone(), total.detach()
        last.update({f"part:{name}": value.detach() for name, value in parts.items()})
        return total

    result = OptimisationResult(canvas=bounded(canvas).detach().clone())
    for iteration in range(1, iters + 1):
        loss = float(opt.step(closure).detach())
        if not (torch.isfinite(canvas).all() and torch.isfinite(torch.tensor(loss))):
            result.stopped_early = f"loss became non-finite at iteration {iteration}; kept iteration {iteration - 1}"
            warnings.warn(result.stopped_early, stacklevel=2)
            break
        result.canvas = bounded(canvas).detach().clone()
        result.losses.append(loss)
        result.history.append(
            {
                name[5:]: float(value)
                for name, value in last.items()
                if name.startswith("part:")
            }
        )
        if on_step is not None:
            on_step(iteration, loss)
    if result.stopped_early is None and last and torch.equal(last["canvas"], canvas):
        # L-BFGS ends on the point it evaluated last: no need to evaluate it again.
        total, parts = (
            last["loss"],
            {
                name[5:]: value
                for name, value in last.items()
                if name.startswith("part:")
            },
        )
    else:
        with torch.no_grad():
            total, parts = objective(result.canvas)
    result.parts = {name: float(value) for name, value in parts.items()} | {
        "total": float(total)
    }
    return result
