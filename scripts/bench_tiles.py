"""Image textures that tile: the same styles with and without ``--seamless``, side by side.

For each corpus texture and painting named, this synthesises a texture of
``--size`` pixels twice, as is and ``seamless``, with the same preset and
seed, and prints per style:

- ``palette`` and ``texture``: ``evaluate_texture``'s distances to the style
  (lower is nearer): a tile must stay the style's texture;
- ``seam``: :func:`audiost.image_metrics.tile_seam`, the colour step where
  copies meet over the median step between two neighbouring lines (about 1:
  no seam), and beside it the largest step between two neighbouring lines
  inside the picture, over the same median: a seam larger than every line
  inside is one an eye finds;
- ``time``.

``--sheet DIR`` writes each pair as 2 x 2 copies side by side
(``tiles.png``): the picture to look at.

Usage::

    PYTHONPATH=. python3 scripts/bench_tiles.py --weights W.pth [--net vgg16] [--size 256] [--preset balanced] [--threads 2] [--sheet DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from benchlib import machine_lines, markdown_table, set_threads, shared_corpus
from PIL import Image

from audiost import image_preset, synthesize_image
from audiost.evaluate import evaluate_texture
from audiost.image_metrics import line_steps, tile_seam

STYLES = (
    "texture_gravel_gray_512x512.png",
    "texture_mossy_log_960x638.jpg",
    "texture_rough_paper_512x512.png",
    "painting_hokusai_poppies_655x449.png",
    "painting_bruegel_the_harvesters_686x499.png",
)


def largest_inner_step(image: np.ndarray) -> float:
    """The largest mean step between two neighbouring rows or columns, over the median one."""
    steps = [line_steps(image, axis) for axis in (0, 1)]
    return max(float(s.max() / np.median(s)) for s in steps)


def measure(style: Path, args: argparse.Namespace, seamless: bool) -> dict:
    """One texture of ``style``, timed and measured."""
    with_seam = "tile" if seamless else "texture"
    out = args.out / f"{style.stem}_{with_seam}.png"
    started = time.perf_counter()
    result = synthesize_image(
        style,
        (args.size, args.size),
        out,
        config=image_preset(args.preset),
        net=args.net,
        weights=str(args.weights),
        seamless=seamless,
        overwrite=True,
    )
    took = time.perf_counter() - started
    measures = evaluate_texture(style, out).measures
    return {
        "style": style.stem,
        "seamless": seamless,
        "palette": measures["palette_distance_output"],
        "texture": measures["texture_distance_output"],
        "seam": tile_seam(result.image / 255),
        "inner": largest_inner_step(result.image / 255),
        "time": took,
        "image": result.image,
    }


def sheet(rows: list[dict], path: Path) -> None:
    """Each style's texture and tile as 2 x 2 copies, side by side, one style a row."""
    gap = 8
    lines = []
    for plain, tile in zip(rows[::2], rows[1::2], strict=True):
        copies = [np.tile(r["image"], (2, 2, 1)) for r in (plain, tile)]
        white = np.full((copies[0].shape[0], gap, 3), 255, np.uint8)
        lines.append(np.concatenate([copies[0], white, copies[1]], axis=1))
        lines.append(np.full((gap, lines[-1].shape[1], 3), 255, np.uint8))
    Image.fromarray(np.concatenate(lines[:-1])).save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--net", default="vgg16")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--preset", default="balanced")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("/tmp/audiost-tiles"))
    parser.add_argument("--sheet", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    set_threads(args.threads)
    corpus = shared_corpus()
    if corpus is None:
        sys.exit("bench_tiles: the shared corpus was not found; set AUDIOST_SHARED")
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"## Image textures that tile ({args.size} px, {args.preset})\n")
    print("\n".join(machine_lines("cpu", 1)[:-1]) + "\n")
    rows = [
        measure(corpus / name, args, seamless)
        for name in STYLES
        for seamless in (False, True)
    ]
    print(
        markdown_table(
            [
                "style",
                "palette: texture / tile",
                "texture: texture / tile",
                "seam: texture / tile",
                "largest line inside: texture / tile",
                "time (s): texture / tile",
            ],
            [
                [
                    plain["style"][:32],
                    *(
                        f"{plain[key]:.3f} / {tile[key]:.3f}"
                        for key in ("palette", "texture", "seam", "inner")
                    ),
                    f"{plain['time']:.0f} / {tile['time']:.0f}",
                ]
                for plain, tile in zip(rows[::2], rows[1::2], strict=True)
            ],
        )
    )
    if args.sheet:
        args.sheet.mkdir(parents=True, exist_ok=True)
        sheet(rows, args.sheet / "tiles.png")
    if args.json:
        kept = [{k: v for k, v in r.items() if k != "image"} for r in rows]
        args.json.write_text(json.dumps(kept, indent=1) + "\n")


if __name__ == "__main__":
    main()
