"""The end every image pipeline shares: the plan said before the work, the result record and its atomic write."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..config import ImageConfig
from ..device import stage
from ..engine.optimise import OptimisationResult
from ..engine.tiles import plan_tiles
from ..image_metrics import STRUCTURE_SIDE, analysis_view, structure_correlation
from ..limits import format_bytes
from ..media.image_io import OUTPUT_FORMATS, write_image
from ..provenance import make_record

LOG = logging.getLogger("audiost")

#: Below this correlation of the result's edge map with the photo's
#: (:func:`~audiost.image_metrics.structure_correlation`) the subject is gone.
#: Measured: a hedgehog in a flat teal vector artwork without the edge term
#: 0.23 to 0.28 at 256 to 1024 px, a teal blob; every other pair of the
#: image table at least 0.43 (Machu Picchu); the Gatys baseline's lowest
#: 0.37 (the hedgehog, still a hedgehog, in the wrong colours).
LAYOUT_LOST = 0.3


@dataclass
class ImageResult:
    """What a transfer produced: a uint8 image ``(H, W, 3)``, or ``(H, W, 4)`` with the content's alpha, and how it got there."""

    image: np.ndarray
    config: ImageConfig
    device: str
    losses: list[float] = field(default_factory=list)
    final_losses: dict[str, float] = field(default_factory=dict)
    #: Each iteration's loss terms (all passes in order), for loss curves.
    history: list[dict[str, float]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    output: Path | None = None
    warnings: list[str] = field(default_factory=list)


def log_plan(
    name: str,
    size: tuple[int, int],
    tile_side: int | None,
    peak: int,
    device: torch.device,
) -> None:
    """Say before the work starts how big it is, how it is split and the memory it will take."""
    tiles = (
        ""
        if tile_side is None
        else f" in {len(plan_tiles(size[1], size[0], tile_side))} tiles of at most {tile_side} px"
    )
    LOG.info(
        "%s: %dx%d px%s, peak memory about %s on %s",
        name,
        *size,
        tiles,
        format_bytes(peak),
        device,
    )


def finish_image(
    cfg: ImageConfig,
    device: torch.device,
    pixels: np.ndarray,
    result: OptimisationResult,
    timings: dict[str, float],
    output: Path | None,
    command: str = "transfer",
) -> ImageResult:
    """The end every image pipeline shares: the result record (made by ``command``) and its atomic write."""
    out = ImageResult(
        image=pixels,
        config=cfg,
        device=str(device),
        losses=result.losses,
        final_losses=result.parts,
        history=result.history,
        timings=timings,
        warnings=[result.stopped_early] if result.stopped_early else [],
    )
    if output is not None:
        if pixels.shape[2] == 4 and OUTPUT_FORMATS[output.suffix.lower()] == "JPEG":
            out.warnings.append(
                "JPEG has no alpha channel: the content's transparency was dropped; write .png to keep it"
            )
        with stage(timings, "write"):
            out.output = write_image(output, pixels, make_record(cfg, command))
    return out


def layout_warning(
    cfg: ImageConfig, content: np.ndarray, pixels: np.ndarray
) -> str | None:
    """A hint when a transfer kept little of the content's layout, which happens when the painting is nearly flat: its statistics then ask for no edges at all.

    ``content`` is float RGB in [0, 1], ``pixels`` the uint8 result. Nothing
    is said when only the style was asked for (no content weight) or the
    content has no layout to keep (a flat picture).
    """
    if not (cfg.content_weight and cfg.style_weight):
        return None
    # The measure's own small view: a 50-megapixel content is not read twice.
    content = analysis_view(content, STRUCTURE_SIDE)
    if content.std() < 1 / 255:
        return None
    kept = structure_correlation(content, pixels[..., :3].astype(np.float32) / 255)
    if kept >= LAYOUT_LOST:
        return None
    # The way out measured on the hedgehog at 160 / 512 / 1024 px: structure
    # 0.13 / 0.28 / 0.24 -> 0.55 / 0.69 / 0.74 with --edge-weight 1, palette
    # within 0.04 (docs/images.md).
    way_out = (
        f"a higher --edge-weight than {cfg.edge_weight:g}"
        if cfg.edge_weight
        else "--edge-weight 1"
    )
    return (
        f"little of the content's layout is left (structure {kept:.2f} of 1): the style's "
        f"flat areas outweigh its shapes; to keep the subject's outlines, try {way_out}"
    )
