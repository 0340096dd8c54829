"""Time to quality: how ``audiost evaluate``'s measures improve with iterations and wall time.

Each configuration (the ``balanced`` preset with some settings changed)
styles corpus pairs with increasing iteration counts. L-BFGS on CPU is
deterministic, so the run with N iterations is the first N iterations of
the longest one: the rows are one optimisation's progress, each with the
whole call's wall time (set-up, style targets and Griffin-Lim included).

The reference is the first configuration at its most iterations. Another
configuration's *time to quality* is the time of its fewest iterations
whose medians over the pairs are within ``--tolerance`` of the reference's
on all three measures (style gain and content kept at least as high,
spectral convergence at most as high). The ``tuning`` pairs are those of
``bench_presets.py``; the ``held-out`` pairs were not looked at while
choosing settings, so they show whether a gain carries over.

Usage::

    PYTHONPATH=. python3 scripts/bench_time_to_quality.py [--seconds 4] [--iters 25,50,75,100] [--configs balanced,gl32] [--pairs tuning|held-out]
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

#: Settings changed from ``balanced`` (its iterations are the table's), by
#: the name the table uses.
CONFIGS: dict[str, dict[str, Any]] = {
    "balanced": {},
    "filters256": {"n_filters": 256},
    "gl32": {"gl_iters": 32},
}
#: Pairs no setting was tuned on: speech, effects and music at 8 to 44.1 kHz,
#: one style band-limited to 4 kHz.
HELD_OUT = (
    (
        "speech_pocketsphinx_playing_cards_16k_mono_s24.wav",
        "music_djembe_accompaniment_africa_44k_stereo.ogg",
    ),
    (
        "sfx_cow_mooing_22k_mono_s16.wav",
        "music_frozen_bubble_intro_theme_44k_stereo.ogg",
    ),
    (
        "speech_ivr_allison_voicemail_options_8k_mono_s16.wav",
        "sfx_canal_lock_water_filling_44k_mono_s16.wav",
    ),
    (
        "sfx_train_slowing_down_44k_stereo.ogg",
        "music_hold_music_manolo_camp_morning_coffee_8k_mono_s16.wav",
    ),
)
MEASURES = ("style_gain", "content_kept", "spectral_convergence")
HEADER = ["iterations", "time (s)", "style_gain", "content_kept", "spectral conv."]


def run(
    configs: Sequence[str],
    iters: Sequence[int],
    seconds: float,
    tolerance: float,
    pair_set: str,
) -> None:
    import torch
    from bench_presets import PAIRS, warmed_up_pairs
    from benchlib import machine_lines, markdown_table, shared_corpus

    from audiost import audio_preset, transfer_audio
    from audiost.evaluate import evaluate_audio

    corpus = shared_corpus()
    if corpus is None:
        sys.exit(
            "bench_time_to_quality: the shared corpus was not found; set AUDIOST_SHARED"
        )
    names = PAIRS if pair_set == "tuning" else HELD_OUT
    print(f"## Time to quality ({pair_set} pairs)\n")
    print("\n".join(machine_lines("cpu", 1)[:-1]) + "\n")
    print(
        f"{len(names)} pairs, {seconds:g} s excerpts, medians over the pairs; torch threads: {torch.get_num_threads()}.\n"
    )
    curves: dict[str, list[dict[str, float]]] = {}
    per_pair: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="audiost-ttq-") as tmp:
        folder = Path(tmp)
        pairs = warmed_up_pairs(corpus, folder, seconds, names)
        for name in configs:
            curves[name] = []
            for count in iters:
                results = []
                for content, style in pairs:
                    output = folder / f"{content.stem}_{name}_{count}.wav"
                    config = audio_preset(
                        "balanced", device="cpu", **CONFIGS[name] | {"iters": count}
                    )
                    clock = time.perf_counter()
                    transfer_audio(
                        content, style, output, config=config, overwrite=True
                    )
                    wall = time.perf_counter() - clock
                    measures = evaluate_audio(content, style, output).measures
                    results.append({"wall": wall, **{m: measures[m] for m in MEASURES}})
                    per_pair.append(
                        [
                            f"`{name}`",
                            f"{content.stem[:24]} x {style.stem[:24]}",
                            str(count),
                            f"{wall:.1f}",
                            *(f"{measures[m]:.3f}" for m in MEASURES),
                        ]
                    )
                curves[name].append(
                    {"iters": count}
                    | {
                        key: statistics.median(r[key] for r in results)
                        for key in ("wall", *MEASURES)
                    }
                )
            settings = ", ".join(f"{k}={v}" for k, v in CONFIGS[name].items())
            print(f"### `{name}`{f' ({settings})' if settings else ''}\n")
            print(markdown_table(HEADER, _rows(curves[name])) + "\n", flush=True)
    reference = curves[configs[0]][-1]
    print(
        f"Time to reach `{configs[0]}` at {reference['iters']} iterations "
        f"(style_gain {reference['style_gain']:.3f}, content_kept {reference['content_kept']:.3f}, "
        f"spectral conv. {reference['spectral_convergence']:.3f}) within {tolerance:g}:\n"
    )
    print(
        markdown_table(
            ["configuration", "iterations", "time (s)", "speed-up"],
            [
                _summary(name, curve, reference, tolerance)
                for name, curve in curves.items()
            ],
        )
    )
    print("\nPer pair:\n")
    print(markdown_table(["configuration", "content x style", *HEADER], per_pair))


def _rows(curve: list[dict[str, float]]) -> list[list[str]]:
    return [
        [
            str(point["iters"]),
            f"{point['wall']:.1f}",
            *(f"{point[m]:.3f}" for m in MEASURES),
        ]
        for point in curve
    ]


def _summary(
    name: str,
    curve: list[dict[str, float]],
    reference: dict[str, float],
    tolerance: float,
) -> list[str]:
    reached = next(
        (
            point
            for point in curve
            if point["style_gain"] >= reference["style_gain"] - tolerance
            and point["content_kept"] >= reference["content_kept"] - tolerance
            and point["spectral_convergence"]
            <= reference["spectral_convergence"] + tolerance
        ),
        None,
    )
    if reached is None:
        return [f"`{name}`", "not reached", "-", "-"]
    return [
        f"`{name}`",
        str(reached["iters"]),
        f"{reached['wall']:.1f}",
        f"{reference['wall'] / reached['wall']:.2f}x",
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--iters", default="25,50,75,100")
    parser.add_argument("--configs", default="balanced,gl32")
    parser.add_argument("--tolerance", type=float, default=0.02)
    parser.add_argument("--pairs", choices=("tuning", "held-out"), default="tuning")
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
        args.pairs,
    )


if __name__ == "__main__":
    main()
