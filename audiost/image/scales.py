"""Coarse to fine: the sizes a picture is painted at, each pass's iterations, and the style's size at each.

The network's receptive fields are fixed in pixels; painting small first
sets the strokes relative to the whole picture, and each larger pass adds
detail.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..config import ImageConfig
from ..engine import Objective, optimise_with
from ..engine.optimise import OptimisationResult, StepCallback
from ..media.image import fit_size


def scale_sizes(
    size: tuple[int, int], start_size: int, step: float
) -> list[tuple[int, int]]:
    """Coarse-to-fine sizes: from ``start_size`` px on the long side up to ``size``, in equal ratios of about ``step``.

    The network's receptive fields are fixed in pixels, so a large picture
    styled at full size only gets a fine grain; painted small first, its
    strokes are set relative to the whole picture, and each larger pass adds
    detail. ``start_size`` 0, or a picture no larger, is one pass.
    """
    long_side = max(size)
    if start_size <= 0 or long_side <= start_size:
        return [size]
    passes = round(math.log(long_side / start_size) / math.log(step))
    return [
        fit_size(size, start_size * (long_side / start_size) ** (k / passes))
        for k in range(passes)
    ] + [size]


def pass_iterations(iters: int, refine_iters: int, passes: int) -> list[int]:
    """Iterations of each coarse-to-fine pass: ``iters`` for the first, ``refine_iters`` for each refinement.

    The first pass paints; a refinement only adds detail to an upsampled
    result, so it needs far fewer. A pass costs in proportion to its pixels,
    which grow by ``step`` squared (about 2) per pass, so the refinements
    together cost about twice the last one, whatever their number.
    """
    return [iters] + [refine_iters] * (passes - 1)


def planned_iterations(cfg: ImageConfig, size: tuple[int, int]) -> int:
    """All the iterations a picture made at ``size`` (``(width, height)``, the output's) takes: a progress bar's total."""
    return sum(iterations for iterations, _ in planned_work(cfg, size))


def planned_work(cfg: ImageConfig, size: tuple[int, int]) -> list[tuple[int, int]]:
    """Each coarse-to-fine pass's iterations and its pixels, which is what one of its iterations costs.

    VGG's convolutions dominate, so an iteration costs in proportion to the
    pixels: on a 451 x 300 photo with VGG16 on the CPU, the second and third
    passes' took 1.8 and 3.4 times the first's, with 2.0 and 3.1 times
    its pixels.
    """
    sizes = scale_sizes(size, cfg.start_size, cfg.scale_step)
    return [
        (iterations, width * height)
        for (width, height), iterations in zip(
            sizes,
            pass_iterations(cfg.iters, cfg.refine_iters, len(sizes)),
            strict=True,
        )
    ]


def style_size(
    style: np.ndarray, content_size: tuple[int, int], style_scale: float
) -> tuple[int, int]:
    """Scale the style to the content's pixel count times ``style_scale`` squared.

    Brush strokes then keep their size relative to the picture, whatever
    either image's resolution, and an extreme aspect ratio (a 16x800 strip)
    does not blow a style up to its long side.
    """
    height, width = style.shape[:2]
    scale = style_scale * math.sqrt(
        content_size[0] * content_size[1] / (width * height)
    )
    return fit_size((width, height), max(width, height) * scale, upscale=True)


def coarse_to_fine(
    cfg: ImageConfig,
    size: tuple[int, int],
    objective_at: Callable[[tuple[int, int]], Objective],
    first_init: Callable[[tuple[int, int]], torch.Tensor],
    on_step: StepCallback | None = None,
) -> OptimisationResult:
    """Optimise at each size of :func:`scale_sizes` in turn, each pass starting from the last one's canvas upsampled.

    Returns one result for all passes: the final canvas and final losses,
    losses and history run on across passes (as does ``on_step``'s
    iteration count), and every pass's early stop. A pass that stopped
    early still hands on its last finite canvas.
    """
    losses: list[float] = []
    history: list[dict[str, float]] = []
    problems: list[str] = []
    canvas: torch.Tensor | None = None
    sizes = scale_sizes(size, cfg.start_size, cfg.scale_step)
    offset = 0
    for scale_size, iters in zip(
        sizes, pass_iterations(cfg.iters, cfg.refine_iters, len(sizes)), strict=True
    ):
        init = (
            first_init(scale_size)
            if canvas is None
            else upsample(canvas, scale_size, wrap=cfg.seamless)
        )
        step = (
            None
            if on_step is None
            else (lambda i, loss, offset=offset: on_step(offset + i, loss))
        )
        result = optimise_with(
            cfg.replace(iters=iters),
            objective_at(scale_size),
            init,
            min_value=0.0,
            max_value=1.0,
            on_step=step,
        )
        canvas = result.canvas
        offset += iters
        losses += result.losses
        history += result.history
        problems += [result.stopped_early] if result.stopped_early else []
    result.losses, result.history = losses, history
    result.stopped_early = "; ".join(problems) or None
    return result


def upsample(
    canvas: torch.Tensor, size: tuple[int, int], *, wrap: bool = False
) -> torch.Tensor:
    """Bicubic to ``size``; ``wrap``: a tiling canvas's edges read the opposite edge, not themselves repeated."""
    if not wrap:
        return F.interpolate(
            canvas, size=(size[1], size[0]), mode="bicubic", align_corners=False
        ).clamp(0, 1)
    # Bicubic reads two pixels either side: pad with the opposite edges and
    # sample the padded canvas where interpolate would have sampled it.
    height, width = canvas.shape[-2:]
    padded = F.pad(canvas, (2, 2, 2, 2), mode="circular")
    along = [
        ((torch.arange(n_out, device=canvas.device) + 0.5) * n_in / n_out + 2)
        / (n_in + 4)
        * 2
        - 1
        for n_in, n_out in ((height, size[1]), (width, size[0]))
    ]
    rows, columns = torch.meshgrid(*along, indexing="ij")
    grid = torch.stack([columns, rows], dim=-1).expand(canvas.shape[0], -1, -1, -1)
    return F.grid_sample(padded, grid, mode="bicubic", align_corners=False).clamp(0, 1)
