"""Time to quality: how ``audiost evaluate``'s measures improve with iterations and wall time.

Each configuration (the ``balanced`` preset with some settings changed) styles
the corpus pairs of ``bench_presets.py`` with increasing iteration counts.
L-BFGS on CPU is deterministic, so the run with N iterations is the first N
iterations of the longest one: the rows are one optimisation's progress,
each with the whole call's wall time (set-up, style targets and
Griffin-Lim included). A configuration's *time to quality* is the time of
the fewest iterations whose median style gain is within ``--tolerance`` of
the reference's final one with the content kept as well (medians over the
pairs).

Usage::

    PYTHONPATH=. python3 scripts/bench_time_to_quality.py [--seconds 4] [--iters 10,25,50,75,100] [--configs balanced,...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

#: Settings changed from ``balanced``, by the name the table uses.
CONFIGS: dict[str, dict[str, Any]] = {
    "balanced": {},
    "gl32": {"gl_iters": 32},
    "widths3-7": {"kernel_widths": (3, 7)},
    "filters256": {"n_filters": 256},
}
MEASURES = ("style_gain", "content_kept", "spectral_convergence")


def run(
    configs: Sequence[str], iters: Sequence[int], seconds: float, tolerance: float
) -> None:
    import torch
    from bench import machine_lines, markdown_table, shared_corpus
    from bench_presets import PAIRS, warmed_up_pairs

    from audiost import audio_preset, transfer_audio
    from audiost.evaluate import evaluate_audio

    corpus = shared_corpus()
    if corpus is None:
        sys.exit(
            "bench_time_to_quality: the shared corpus was not found; set AUDIOST_SHARED"
        )
    print("## Time to quality\n")
    print("\n".join(machine_lines("cpu", 1)[:-1]) + "\n")
    print(
        f"{len(PAIRS)} pairs, {seconds:g} s excerpts, medians over the pairs; torch threads: {torch.get_num_threads()}.\n"
    )
    curves: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="audiost-ttq-") as tmp:
        folder = Path(tmp)
        pairs = warmed_up_pairs(corpus, folder, seconds)
        for name in configs:
            curves[name] = []
            for count in iters:
                results = []
                for content, style in pairs:
                    output = folder / f"{content.stem}_{name}_{count}.wav"
                    config = audio_preset(
                        "balanced", device="cpu", iters=count, **CONFIGS[name]
                    )
                    clock = time.perf_counter()
                    transfer_audio(
                        content, style, output, config=config, overwrite=True
                    )
                    wall = time.perf_counter() - clock
                    measures = evaluate_audio(content, style, output).measures
                    results.append({"wall": wall, **{m: measures[m] for m in MEASURES}})
                curves[name].append(
                    {"iters": count}
                    | {
                        key: statistics.median(r[key] for r in results)
                        for key in ("wall", *MEASURES)
                    }
                )
            rows = [
                [
                    str(point["iters"]),
                    f"{point['wall']:.1f}",
                    *(f"{point[m]:.3f}" for m in MEASURES),
                ]
                for point in curves[name]
            ]
            settings = ", ".join(f"{k}={v}" for k, v in CONFIGS[name].items())
            print(f"### `{name}`{f' ({settings})' if settings else ''}\n")
            print(
                markdown_table(
                    [
                        "iterations",
                        "time (s)",
                        "style_gain",
                        "content_kept",
                        "spectral conv.",
                    ],
                    rows,
                )
                + "\n",
                flush=True,
            )
    reference = curves[configs[0]][-1]
    summary = []
    for name, curve in curves.items():
        reached = next(
            (
                point
                for point in curve
                if point["style_gain"] >= reference["style_gain"] - tolerance
                and point["content_kept"] >= reference["content_kept"] - tolerance
            ),
            None,
        )
        summary.append(
            [
                f"`{name}`",
                "not reached" if reached is None else str(reached["iters"]),
                "-" if reached is None else f"{reached['wall']:.1f}",
                "-"
                if reached is None
                else f"{reference['wall'] / reached['wall']:.2f}x",
            ]
        )
    print(
        f"Time to reach `{configs[0]}` at {reference['iters']} iterations (style_gain {reference['style_gain']:.3f}, content_kept {reference['content_kept']:.3f}) within {tolerance:g}:\n"
    )
    print(
        markdown_table(["configuration", "iterations", "time (s)", "speed-up"], summary)
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--iters", default="10,25,50,75,100")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--tolerance", type=float, default=0.01)
    args = parser.parse_args(argv)
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = set(configs) - set(CONFIGS)
    if unknown:
        parser.error(
            f"unknown configuration(s) {', '.join(sorted(unknown))}; known: {', '.join(CONFIGS)}"
        )
    run(
        configs,
        [int(n) for n in args.iters.split(",") if n.strip()],
        args.seconds,
        args.tolerance,
    )


if __name__ == "__main__":
    main()
