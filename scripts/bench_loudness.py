"""How each ``loudness`` setting lands a styled result against its content, over the audio quality table's pairs.

Each pair is styled once (``balanced``, ``--seconds`` of each input) with the
level left as reconstructed (``loudness="none"``, no ceiling reached in
practice), then matched offline by each method, as the pipeline does it.
For every result: how far its BS.1770 integrated loudness is from the
content's (dB; what a listener and a loudness meter hear), how far its
plain RMS is, its true peak (dBTP, 4x oversampled), and whether the
ceiling turned it down (a true peak at the ceiling: -1 dBTP for ``lufs``,
about 0 for ``rms``). Used to choose the default of ``--loudness``.

Usage::

    python scripts/bench_loudness.py [--seconds 6] [--pairs 0,1,2]
"""

from __future__ import annotations

import argparse
import math
import statistics
from collections.abc import Sequence

from bench_quality import PAIRS
from benchlib import markdown_table, set_threads, shared_corpus

METHODS = ("rms", "lufs")


def db(ratio: float) -> float:
    return 20 * math.log10(ratio) if ratio > 0 else -math.inf


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--pairs", help="indices into the table, e.g. 0,3,7")
    parser.add_argument("--threads", type=int)
    args = parser.parse_args(argv)
    set_threads(args.threads)

    from audiost import audio_preset, transfer_audio
    from audiost.media.audio_io import load_audio, resample
    from audiost.media.loudness import (
        integrated_loudness,
        match_loudness,
        rms,
        true_peak,
    )

    corpus = shared_corpus()
    if corpus is None:
        raise SystemExit(
            "bench_loudness: the shared corpus was not found; set AUDIOST_SHARED"
        )
    chosen = (
        [int(i) for i in args.pairs.split(",")] if args.pairs else range(len(PAIRS))
    )
    rows, errors = [], {method: [] for method in METHODS}
    for index in chosen:
        content_name, style_name = PAIRS[index]
        content, content_sr = load_audio(corpus / content_name, duration=args.seconds)
        style, style_sr = load_audio(corpus / style_name, duration=args.seconds)
        result = transfer_audio(
            content,
            style,
            content_sr=content_sr,
            style_sr=style_sr,
            config=audio_preset("balanced", loudness="none"),
        )
        sr = result.sr
        reference = resample(content, content_sr, sr)
        want = integrated_loudness(reference, sr)
        cells = [
            f"{index}: {content_name.split('_')[0]} {content_name.split('_')[1]} x {style_name.split('_')[1]}"
        ]
        for method in METHODS:
            matched = match_loudness(result.audio, reference, sr, method)
            have = integrated_loudness(matched, sr)
            error = have - want if have is not None and want is not None else math.nan
            errors[method].append(abs(error))
            cells += [
                f"{error:+.1f}",
                f"{db(rms(matched) / rms(reference)):+.1f}",
                f"{db(true_peak(matched)):+.1f}",
            ]
        rows.append(cells)
        print(" | ".join(cells), flush=True)
    header = ["pair"] + [
        f"{method}: {what}"
        for method in METHODS
        for what in ("LUFS vs content (dB)", "RMS vs content (dB)", "true peak (dBTP)")
    ]
    print()
    print(markdown_table(header, rows))
    print()
    for method in METHODS:
        finite = [e for e in errors[method] if math.isfinite(e)]
        print(
            f"- {method}: |LUFS error| median {statistics.median(finite):.1f} dB, worst {max(finite):.1f} dB over {len(finite)} pairs"
        )


if __name__ == "__main__":
    main()
