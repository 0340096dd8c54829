"""The modulation term on the quality table's pairs: how much of the style's pulse a transfer takes, and what it costs.

Styles the ten fixed pairs of ``scripts/bench_quality.py`` (4 s excerpts
from 0.5 s in) with ``--preset`` (``balanced``) at each ``--weights`` value of
``modulation_weight`` (0 is the default transfer), beside the baseline of
Ulyanov & Lebedev (2016, ``scripts/baseline_ulyanov.py``; ``--skip-baseline``
leaves it out), all in one run, and prints per pair and in medians:

- ``modulation_gain``: how much of the distance between the content's and
  the style's modulation spectra the output closed (:func:`audiost.metrics.modulation_spectrum`:
  how fast each band pulses and trembles, 1 to 64 Hz);
- ``style_gain`` and ``content_kept`` as in the quality table; STOI on the
  spoken contents (with pystoi); the output's onset correlation with the
  style (near the content's own, in the JSON: the style's timeline is not
  pasted in);
- the noise floor over both inputs' (hiss above +6 dB), and the time.

``--pictures DIR`` writes each pair's log-mel spectrograms side by side.

Usage::

    PYTHONPATH=. python3 scripts/bench_modulation.py [--weights 0,0.3,1] [--preset balanced] [--pairs 0,2] [--threads 2] [--pictures DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np
from bench_quality import PAIRS, baseline, excerpt, measured_runs, picture, short
from benchlib import machine_lines, markdown_table, set_threads, shared_corpus

COLUMNS = (
    ("modulation_gain", "modulation gain"),
    ("style_gain", "style gain"),
    ("content_kept", "content kept"),
    ("stoi", "STOI"),
    ("style_onsets_output", "onsets with the style"),
    ("noise_floor_added_db", "floor over both (dB)"),
    ("time", "time (s)"),
)


def run_pair(
    content: tuple[np.ndarray, int],
    style: tuple[np.ndarray, int],
    weights: list[float],
    with_baseline: bool,
    speech: bool,
    preset: str = "balanced",
) -> dict[str, dict[str, Any]]:
    """Each method's output and measures on one pair."""
    from audiost import audio_preset, transfer_audio

    runs = {}
    if with_baseline:
        runs["ulyanov"] = lambda: baseline(content, style)
    for weight in weights:

        def transfer(weight: float = weight) -> tuple[np.ndarray, int]:
            result = transfer_audio(
                content[0],
                style[0],
                content_sr=content[1],
                style_sr=style[1],
                config=audio_preset(preset, modulation_weight=weight),
            )
            return result.audio, result.sr

        runs[f"modulation {weight:g}"] = transfer
    return measured_runs(runs, content, style, speech)


def shown(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="0,0.3,1")
    parser.add_argument("--preset", default="balanced")
    parser.add_argument("--pairs", help="indices into the table, e.g. 0,2")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--pictures", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    set_threads(args.threads)
    print("\n".join(machine_lines("cpu", 1)[:-1]) + "\n")
    corpus = shared_corpus()
    weights = [float(w) for w in args.weights.split(",")]
    chosen = (
        [int(i) for i in args.pairs.split(",")] if args.pairs else range(len(PAIRS))
    )
    rows, record = [], {}
    for index in chosen:
        content_name, style_name = PAIRS[index]
        content = excerpt(corpus / content_name, args.seconds)
        style = excerpt(corpus / style_name, args.seconds)
        results = run_pair(
            content,
            style,
            weights,
            not args.skip_baseline,
            speech=content_name.startswith("speech"),
            preset=args.preset,
        )
        label = f"{index}: {short(content_name)} x {short(style_name)}"
        for name, r in results.items():
            rows.append([label, name, *(shown(r.get(key)) for key, _ in COLUMNS)])
        print(rows[-1], file=sys.stderr, flush=True)
        if args.pictures:
            picture(
                args.pictures / f"modulation_pair{index}.png",
                content,
                style,
                results,
                label,
            )
        record[label] = {
            name: {key: r.get(key) for key, _ in COLUMNS}
            | {"style_onsets_content": r["style_onsets_content"]}
            for name, r in results.items()
        }
    methods = list(next(iter(record.values())))
    medians = [
        [
            name,
            *(
                shown(statistics.median(values) if values else None)
                for key, _ in COLUMNS
                for values in [
                    [r[name][key] for r in record.values() if r[name][key] is not None]
                ]
            ),
        ]
        for name in methods
    ]
    header = ["method", *(title for _, title in COLUMNS)]
    print(markdown_table(header, medians))
    print()
    print(markdown_table(["pair", *header], rows))
    if args.json:
        args.json.write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
