"""Audio textures of whole corpus files: how near their style, how new, and whether they drop out.

``scripts/bench_quality.py`` measures textures of 4 s excerpts from 0.5 s
in, which skip a file's lead-in; a user gives the whole file. For every
music and effects recording of the shared corpus, this styles a texture
of the whole file (``balanced``, the file's length up to ``--seconds``),
writes it to ``--out`` and prints, per style:

- ``distance``: ``audiost evaluate``'s log-mel statistics distance of the
  texture to its style (dB; lower is nearer; :func:`evaluate_texture`,
  which since session 26 measures against the style's sounding part),
  and beside it the distance to the whole file, lead-in and tail included;
- ``replay``: the longest stretch of the style the texture replays (s);
- ``floor``: the texture's noise floor over the style's (dB; hiss above 6);
- ``gap``: the longest run of the texture's frames in which most bands
  (the median of 32 mel bands) lie 20 dB or more below their usual level
  (each band's median over the style), in seconds, beside the style's
  own longest such run inside it (its lead-in and tail left out by
  ``sounding_span``, where this version has it): a texture with a gap
  much longer than any inside its style has a dropout;
- ``seam``: :func:`audiost.metrics.loop_seam`, how abrupt the texture's
  end running into its start is (about 1: like any moment; a click: tens
  or more). ``--seamless`` makes loops (``audiost texture --seamless``).

Usage::

    PYTHONPATH=. python3 scripts/bench_textures.py [--seconds 8] [--threads 2] [--seamless] [--preset balanced] [--out DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_quality import preset_and_settings
from benchlib import machine_lines, markdown_table, shared_corpus

from audiost import audio_preset, synthesize_audio
from audiost.evaluate import evaluate_texture
from audiost.media.audio_io import load_audio, resample
from audiost.media.mel import mel_power, power_to_db
from audiost.metrics import ANALYSIS_RATE, logmel_distance

HOP = 512


def band_levels(audio: np.ndarray, sr: int) -> np.ndarray:
    """``(32, frames)`` dB of a ``(channels, samples)`` signal's mono mix."""
    return power_to_db(mel_power(audio.mean(axis=0), sr, n_mels=32, hop=HOP))


def longest_gap_s(levels: np.ndarray, usual: np.ndarray, sr: int) -> float:
    """Seconds: the longest run of frames whose median band level is 20 dB or more under ``usual``."""
    quiet = np.median(levels - usual[:, None], axis=0) < -20
    longest = run = 0
    for frame_is_quiet in quiet:
        run = run + 1 if frame_is_quiet else 0
        longest = max(longest, run)
    return longest * HOP / sr


def inner_gap_s(style: np.ndarray, sr: int, usual: np.ndarray) -> float:
    """The style's own longest gap, its quiet lead-in and tail left out where this version finds them."""
    try:
        from audiost.media.edges import sounding_span
    except ImportError:  # a version before it: the whole file
        start, stop = 0, style.shape[1]
    else:
        start, stop = sounding_span(style, sr)
    return longest_gap_s(band_levels(style[:, start:stop], sr), usual, sr)


def measure(
    path: Path, seconds: float, out: Path, seamless: bool, method: str = "balanced"
) -> dict[str, float | str]:
    """One style's texture (a loop if ``seamless``), written to ``out``, timed and measured."""
    style, sr = load_audio(path)
    written = out / f"{path.stem}_{'loop' if seamless else 'texture'}.wav"
    # Only given when asked for: a version before loops has no such setting.
    options = {"seamless": True} if seamless else {}
    preset, settings = preset_and_settings(method)
    started = time.perf_counter()
    texture = synthesize_audio(
        style,
        min(style.shape[1] / sr, seconds),
        written,
        config=audio_preset(preset, **settings),
        style_sr=sr,
        overwrite=True,
        **options,
    )
    took = time.perf_counter() - started
    measures = evaluate_texture(path, written).measures
    usual = np.median(band_levels(style, sr), axis=1)
    ours, theirs = (
        resample(audio, rate, ANALYSIS_RATE).mean(axis=0)
        for audio, rate in ((texture.audio, texture.sr), (style, sr))
    )
    return {
        "style": path.stem,
        "seconds": style.shape[1] / sr,
        "distance": measures["style_distance_output"],
        "whole_file_distance": logmel_distance(ours, theirs, ANALYSIS_RATE),
        "replay": measures["longest_replay_s"],
        "floor": measures["noise_floor_db_output"] - measures["noise_floor_db_style"],
        "gap": longest_gap_s(band_levels(texture.audio, texture.sr), usual, texture.sr),
        "inner_gap": inner_gap_s(style, sr, usual),
        "seam": measures.get("loop_seam", float("nan")),  # nan: before loops
        "time": took,
    }


def report(rows: list[dict[str, float | str]]) -> str:
    """The table of :func:`measure`'s rows and a line of medians."""
    table = markdown_table(
        [
            "style",
            "length (s)",
            "distance (dB): sounding part / whole file",
            "replay (s)",
            "floor (dB)",
            "gap: texture / inside the style (s)",
            "seam",
            "time (s)",
        ],
        [
            [
                str(r["style"])[:40],
                f"{r['seconds']:.1f}",
                f"{r['distance']:.2f} / {r['whole_file_distance']:.2f}",
                f"{r['replay']:.2f}",
                f"{r['floor']:+.1f}",
                f"{r['gap']:.3f} / {r['inner_gap']:.3f}",
                f"{r['seam']:.2f}",
                f"{r['time']:.1f}",
            ]
            for r in rows
        ],
    )
    medians = {
        k: statistics.median(float(r[k]) for r in rows)
        for k in (
            "distance",
            "whole_file_distance",
            "replay",
            "floor",
            "gap",
            "seam",
            "time",
        )
    }
    over = [r for r in rows if r["gap"] > r["inner_gap"] + 0.02]
    listed = ", ".join(f"{r['style']} {r['gap']:.3f} s" for r in over)
    return (
        f"{table}\n\nmedians: distance {medians['distance']:.2f} dB (whole file "
        f"{medians['whole_file_distance']:.2f}), replay {medians['replay']:.2f} s, "
        f"floor {medians['floor']:+.1f} dB, gap {medians['gap']:.3f} s, seam "
        f"{medians['seam']:.2f} (largest {max(float(r['seam']) for r in rows):.2f}), time "
        f"{medians['time']:.1f} s; {len(over)} of {len(rows)} textures with a gap over "
        f"20 ms longer than any inside their style" + (f": {listed}" if over else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--seamless", action="store_true", help="make loops (texture --seamless)"
    )
    parser.add_argument(
        "--out", type=Path, help="folder for the textures (default: a temporary one)"
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--preset",
        default="balanced",
        help="a preset, with settings changed as bench_quality.py's --presets: balanced:wave_variable=magnitudes",
    )
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    corpus = shared_corpus()
    if corpus is None:
        sys.exit("bench_textures: the shared corpus was not found; set AUDIOST_SHARED")
    print(f"## Audio {'loops' if args.seamless else 'textures'} of whole files\n")
    print("\n".join(machine_lines("cpu", 1)[:-1]) + "\n")
    out = args.out or Path(tempfile.mkdtemp(prefix="audiost-textures-"))
    out.mkdir(parents=True, exist_ok=True)
    rows = [
        measure(path, args.seconds, out, args.seamless, args.preset)
        for path in sorted(corpus.iterdir())
        if path.name.startswith(("music_", "sfx_"))
    ]
    print(report(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
