"""Image quality table: audiost against the Gatys baseline on fixed corpus photo x painting pairs, at several sizes.

For each pair and size (the long side; a photo is never enlarged) this
script makes, unless ``--reuse`` finds it already made in ``--out``:

- ``gatys``: the baseline of ``scripts/baseline_gatys.py`` (written from
  the paper: full size at once, L-BFGS from the photo);
- ``before``: the image defaults before coarse-to-fine (one pass at full
  size, style weight 10), as settings, to measure a change against;
- each audiost preset asked for, and each ``--set`` variant.

Every output is measured with ``audiost evaluate``
(an :class:`audiost.evaluate.Evaluator` per pair and size, the same VGG): palette_gain and
texture_gain (network-free, at 256 px relative to the picture),
structure_kept (network-free: the photo's edges at 64 px), the VGG
style_gain and content_kept at the output's size. Times are the whole call
on this machine. ``--sheet`` writes a contact sheet per size: photo,
painting, then each method.

Usage::

    PYTHONPATH=. python3 scripts/bench_images.py --weights W.pth [--net vgg16]
        [--sizes 256,512,1024] [--methods gatys,before,balanced] [--pairs 1,2]
        [--set NAME:style_weight=30,init=noise] [--out DIR] [--reuse]
        [--sheet docs/images] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import torch
from baseline_gatys import gatys_transfer

from audiost import transfer_image
from audiost.config import IMAGE_PRESETS, image_preset
from audiost.device import resolve_device
from audiost.evaluate import Evaluator
from audiost.features.vgg import VGG
from audiost.media.image import fit_size, resize, to_uint8
from audiost.media.image_io import load_image, write_image

#: (photo, painting) corpus files: portraits, animals, landscapes and a deep
#: field; oil paintings, a woodblock print and a flat vector artwork (flat
#: fields and sharp lines: the hardest style for a photo's busy texture).
PAIRS = (
    ("photo_chelsea_cat_451x300.png", "painting_hokusai_poppies_655x449.png"),
    (
        "photo_grace_hopper_portrait_512x600.jpg",
        "painting_bruegel_the_harvesters_686x499.png",
    ),
    (
        "photo_hedgehog_in_grass_1024x731.webp",
        "painting_debian_emerald_vector_artwork_1280x720.png",
    ),
    (
        "photo_hubble_extreme_deep_field_1000x872.jpg",
        "painting_cassatt_summertime_598x441.png",
    ),
    ("photo_machu_picchu_1024x576.webp", "painting_hokusai_poppies_655x449.png"),
    ("photo_ocean_waves_960x638.jpg", "painting_da_vinci_mona_lisa_322x500.png"),
    (
        "photo_sheep_pasture_1138x665.jpg",
        "painting_bruegel_the_harvesters_686x499.png",
    ),
    ("photo_sheep_pasture_1138x665.jpg", "painting_cassatt_summertime_598x441.png"),
)
#: The image defaults before coarse-to-fine (session 8), for before/after tables.
BEFORE: dict[str, Any] = {
    "start_size": 0,
    "iters": 100,
    "style_weight": 10.0,
    "init": "content",
}
STYLE_SCALES = (0.5, 1.0, 2.0)
MEASURES = (
    "palette_gain",
    "texture_gain",
    "structure_kept",
    "style_gain",
    "content_kept",
)


def short(name: str) -> str:
    return name.split("_", 1)[1].rsplit("_", 1)[0]


def method_settings(name: str, variants: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if name in variants:
        return variants[name]
    if name == "before":
        return BEFORE
    return {"preset": name}


def make_output(
    method: str,
    settings: dict[str, Any],
    photo: Path,
    painting: Path,
    size: int,
    output: Path,
    network: VGG,
    common: dict[str, Any],
    baseline_iters: int,
) -> None:
    if method == "gatys":
        content = load_image(photo).rgb
        content = resize(content, fit_size((content.shape[1], content.shape[0]), size))
        styled = gatys_transfer(
            network, content, load_image(painting).rgb, iters=baseline_iters
        )
        write_image(output, to_uint8(styled))
        return
    options = dict(settings)
    config = image_preset(options.pop("preset", "balanced"), **common, **options)
    transfer_image(photo, painting, output, config=config.replace(max_size=size))


def parse_variant(text: str) -> tuple[str, dict[str, Any]]:
    """``NAME:key=value,key=value`` -> (name, settings); values are JSON where they parse."""
    name, _, body = text.partition(":")
    settings: dict[str, Any] = {}
    for item in filter(None, body.split(";") if ";" in body else body.split(",")):
        key, _, value = item.partition("=")
        try:
            settings[key] = json.loads(value)
        except json.JSONDecodeError:
            settings[key] = value
    return name, settings


def contact_sheet(
    path: Path, rows: list[tuple[Path, Path, list[Path]]], methods: list[str]
) -> None:
    """One row per pair: photo, painting, then each method's output, each fitted in a cell ("not run" where an output is missing)."""
    from PIL import Image, ImageDraw

    cell, label = 200, 16
    columns = ["photo", "painting", *methods]
    sheet = Image.new(
        "RGB", (cell * len(columns), label + cell * len(rows)), (255, 255, 255)
    )
    draw = ImageDraw.Draw(sheet)
    for x, name in enumerate(columns):
        draw.text((x * cell + 4, 2), name, fill=(0, 0, 0))
    for y, (photo, painting, outputs) in enumerate(rows):
        for x, file in enumerate([photo, painting, *outputs]):
            if not file.exists():
                draw.text(
                    (x * cell + 4, label + y * cell + 4), "not run", fill=(0, 0, 0)
                )
                continue
            with Image.open(file) as image:
                image = image.convert("RGB")
                image.thumbnail((cell - 4, cell - 4), Image.Resampling.LANCZOS)
                sheet.paste(image, (x * cell + 2, label + y * cell + 2))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def style_scale_row(
    args: argparse.Namespace, common: dict[str, Any], size: int
) -> None:
    """One pair at three stroke sizes: what ``--style-scale`` does, as a picture."""
    photo, painting = (args.corpus / name for name in PAIRS[args.scale_row - 1])
    outputs = []
    for scale in STYLE_SCALES:
        output = args.out / f"p{args.scale_row}_{size}_style-scale-{scale:g}.png"
        if not (args.reuse and output.exists()):
            config = image_preset(**common, max_size=size, style_scale=scale)
            transfer_image(photo, painting, output, config=config)
        outputs.append(output)
    contact_sheet(
        args.sheet / "style_scale.png",
        [(photo, painting, outputs)],
        [f"--style-scale {scale:g}" for scale in STYLE_SCALES],
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True, help="VGG state dict")
    parser.add_argument("--net", default="vgg16")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto")
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared/corpus")
    parser.add_argument("--sizes", default="256,512,1024")
    parser.add_argument("--methods", default="gatys,before,balanced")
    parser.add_argument("--pairs", help="1-based pair numbers, e.g. 1,3")
    parser.add_argument("--set", action="append", default=[], dest="variants")
    parser.add_argument("--baseline-iters", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("bench_images_out"))
    parser.add_argument(
        "--reuse", action="store_true", help="keep outputs already in --out"
    )
    parser.add_argument("--sheet", type=Path, help="folder for contact sheets")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--scale-row",
        type=int,
        metavar="PAIR",
        help="also write a row of this pair at --style-scale 0.5, 1 and 2 (balanced, first size) into --sheet",
    )
    parser.add_argument(
        "--threads", type=int, help="torch threads (1 when two benchmarks share a CPU)"
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    variants = dict(parse_variant(text) for text in args.variants)
    methods = args.methods.split(",") + [m for m in variants if m not in args.methods]
    unknown = [
        m for m in methods if m not in {"gatys", "before", *IMAGE_PRESETS, *variants}
    ]
    if unknown:
        parser.error(f"unknown methods {unknown}")
    sizes = [int(s) for s in args.sizes.split(",")]
    numbers = (
        [int(n) for n in args.pairs.split(",")]
        if args.pairs
        else range(1, len(PAIRS) + 1)
    )
    common = {"net": args.net, "weights": args.weights, "device": args.device}
    network = VGG(args.net, args.weights).to(resolve_device(args.device))
    args.out.mkdir(parents=True, exist_ok=True)
    times_file = args.out / "times.json"
    times = json.loads(times_file.read_text()) if times_file.exists() else {}
    results: dict[str, Any] = {}
    for size in sizes:
        sheet_rows = []
        for number in numbers:
            photo, painting = (args.corpus / name for name in PAIRS[number - 1])
            # Every method's output against one analysis of the pair.
            pair = Evaluator(photo, painting, max_size=size, **common)
            outputs = []
            for method in methods:
                output = args.out / f"p{number}_{size}_{method}.png"
                key = output.name
                if not (args.reuse and output.exists()):
                    start = time.perf_counter()
                    make_output(
                        method,
                        method_settings(method, variants),
                        photo,
                        painting,
                        size,
                        output,
                        network,
                        common,
                        args.baseline_iters,
                    )
                    times[key] = time.perf_counter() - start
                    times_file.write_text(json.dumps(times, indent=1))
                measures = pair.measure(output).measures
                results[key] = {
                    "pair": number,
                    "size": size,
                    "method": method,
                    "seconds": times.get(key),
                    **{m: measures[m] for m in MEASURES},
                }
                outputs.append(output)
                print(
                    f"p{number} {size} {method}: "
                    + " ".join(f"{m}={measures[m]:.2f}" for m in MEASURES)
                    + f" {times.get(key, float('nan')):.0f}s",
                    flush=True,
                )
            sheet_rows.append((photo, painting, outputs))
        if args.sheet:
            contact_sheet(args.sheet / f"sheet_{size}.png", sheet_rows, methods)
    if args.scale_row and args.sheet:
        style_scale_row(args, common, sizes[0])
    print_tables(results, sizes, methods, numbers)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def print_tables(
    results: dict[str, Any],
    sizes: list[int],
    methods: list[str],
    numbers: Sequence[int],
) -> None:
    """Per size: each pair's palette/texture gains per method, then medians and minima of every measure."""
    for size in sizes:
        print(
            f"\n### {size} px: palette gain / texture gain / structure kept per pair\n"
        )
        print("| pair | " + " | ".join(methods) + " |")
        print("|---|" + "---:|" * len(methods))
        for number in numbers:
            photo, painting = PAIRS[number - 1]
            cells = []
            for method in methods:
                r = results[f"p{number}_{size}_{method}.png"]
                cells.append(
                    f"{r['palette_gain']:.2f} / {r['texture_gain']:.2f} / {r['structure_kept']:.2f}"
                )
            print(
                f"| {number} {short(photo)} x {short(painting)} | "
                + " | ".join(cells)
                + " |"
            )
        print(f"\n### {size} px: median / min over pairs\n")
        print("| method | " + " | ".join(MEASURES) + " | time (s) median |")
        print("|---|" + "---:|" * (len(MEASURES) + 1))
        for method in methods:
            rows = [results[f"p{n}_{size}_{method}.png"] for n in numbers]
            cells = [
                f"{statistics.median(r[m] for r in rows):.2f} / {min(r[m] for r in rows):.2f}"
                for m in MEASURES
            ]
            seconds = [r["seconds"] for r in rows if r["seconds"] is not None]
            cells.append(f"{statistics.median(seconds):.0f}" if seconds else "-")
            print(f"| {method} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
