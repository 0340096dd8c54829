"""Long styles: what reading and analysing a style of minutes costs a transfer.

A style is decoded, encoded and passed through the feature network once,
before the run; its statistics are gathered a block of frames at a time
(``audiost.engine.blocks``). For each style length this script writes a
stereo style file (a corpus recording looped to that length, 44.1 kHz
FLAC) and runs one transfer per repeat in a fresh process (a short run: the
point is the style's cost, not the optimisation), reporting the style stage's
seconds (``result.timings["style"]``), the whole call's, the process's peak
resident memory (interpreter and torch included), what the call added to
it (Linux: from ``/proc/self/statm``) and the estimate that models it,
printed before a run, and how well the analysis's bar (``on_style``)
follows the time: the share of the style stage spent when the bar shows
10, 25, 50, 75 and 90 %. A texture of 30 s from the style is a row too.

``--batch N`` adds a table: ``audiost batch`` of N clips of 3 s (cut from
the corpus's speech) styled by each style, ``fast``, with and without
``--report``, whose measures and pictures need the style's own analysis
(made once per worker since session 29, each pair before).

Usage::

    PYTHONPATH=. python3 scripts/bench_long_style.py [--minutes 1,10,30] [--repeats 1]
        [--preset balanced] [--device cpu] [--batch 4]
"""

from __future__ import annotations

import argparse
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import (
    in_fresh_process,
    machine_lines,
    markdown_table,
    median_of,
    peak_rss_mb,
    shared_corpus,
)

STYLE = "music_wesnoth_traveling_minstrels_folk_44k_stereo.flac"
CONTENTS = {
    "3.5 s mono speech": "speech_pocketsphinx_playing_cards_16k_mono_s24.wav",
    "8.1 s stereo speech": "speech_hedgewars_singer_voice_lines_44k_stereo_f32.wav",
    "texture of 30 s": "",
}
#: The row that makes a texture from the style instead of a transfer.
TEXTURE, TEXTURE_S = "", 30.0


def _looped_style(corpus: Path, minutes: float, folder: Path) -> Path:
    """The corpus style looped to ``minutes``, written block by block (never whole in memory)."""
    import soundfile as sf

    loop, sr = sf.read(corpus / STYLE, dtype="float32", always_2d=True)
    path = folder / f"style_{minutes:g}min.flac"
    frames = round(minutes * 60 * sr)
    with sf.SoundFile(path, "w", sr, loop.shape[1]) as out:
        for start in range(0, frames, len(loop)):
            out.write(loop[: frames - start])
    return path


def _one_run(content: str, style: str, preset: str, device: str) -> dict[str, float]:
    """One transfer in this (fresh) process: 2 iterations, no waveform stage."""
    import audiost
    from audiost.audio.inputs import audio_extent
    from audiost.memory import estimate_audio_memory

    cfg = audiost.audio_preset(preset, iters=2, wave_iters=0, gl_iters=2, device=device)
    with open("/proc/self/statm") as f:  # resident pages now: torch imported
        before = int(f.read().split()[1]) * resource.getpagesize() / 2**20
    heard: list[tuple[float, float]] = []

    def on_style(fraction: float) -> None:
        heard.append((time.perf_counter(), fraction))

    started = time.perf_counter()
    if content == TEXTURE:
        result = audiost.synthesize_audio(
            style, TEXTURE_S, config=cfg, on_style=on_style
        )
    else:
        result = audiost.transfer_audio(content, style, config=cfg, on_style=on_style)
    wall = time.perf_counter() - started
    channels, samples = result.audio.shape
    # The estimate models transfers; a texture's memory check is its own.
    estimate = math.nan
    if content != TEXTURE:
        estimate = estimate_audio_memory(
            cfg, channels, samples, result.sr, [audio_extent(style, None)]
        )
    return {
        "style": result.timings["style"],
        "wall": wall,
        "peak": peak_rss_mb(),
        "added": peak_rss_mb() - before,
        "estimate": estimate / 2**20,
        **_bar_shares(heard),
    }


#: The batch table's clips: 3 s each, one after another from this recording.
BATCH_SPEECH, BATCH_CLIP_S = (
    "speech_librivox_austen_sense_and_sensibility_part2_16k_mono_s16.wav",
    3.0,
)


def _batch_walls(corpus: Path, style: Path, clips: int, folder: Path) -> list[float]:
    """Seconds of ``audiost batch`` over ``clips`` clips with ``style``, without and with ``--report`` (fresh processes)."""
    import soundfile as sf

    speech, sr = sf.read(corpus / BATCH_SPEECH, dtype="float32")
    inputs = folder / "clips"
    inputs.mkdir(exist_ok=True)
    step = round(BATCH_CLIP_S * sr)
    for k in range(clips):
        start = k * step % max(len(speech) - step, 1)
        sf.write(inputs / f"clip{k}.wav", speech[start : start + step], sr)
    walls = []
    for report in ([], ["--report", str(folder / "report")]):
        out = folder / f"out{len(walls)}"
        command = [sys.executable, "-m", "audiost", "batch", str(inputs)]
        command += ["-s", str(style), "-o", str(out), "--preset", "fast", "-q"]
        started = time.perf_counter()
        subprocess.run([*command, *report], check=True, capture_output=True)
        walls.append(time.perf_counter() - started)
    return walls


#: Where the bar is read: the share of the analysis's time spent when it shows these.
BAR_POINTS = (0.10, 0.25, 0.50, 0.75, 0.90)


def _bar_shares(heard: list[tuple[float, float]]) -> dict[str, float]:
    """The share of the time from the first report to the last at which the bar first reached each of :data:`BAR_POINTS`."""
    first, last = heard[0][0], heard[-1][0]
    return {
        f"bar{point}": next(t for t, f in heard if f >= point - 1e-9) - first
        for point in BAR_POINTS
    } | {"bar_span": last - first}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--minutes", default="1,10,30", help="style lengths, comma-separated"
    )
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--preset", default="balanced")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--batch", type=int, default=0, help="also time a batch of this many clips"
    )
    args = parser.parse_args()
    corpus = shared_corpus()
    if corpus is None:
        parser.error("the shared corpus was not found; set AUDIOST_SHARED")
    print("\n".join(machine_lines(args.device, args.repeats)))
    print(
        f"- Preset: {args.preset}, 2 iterations; style: {STYLE} looped, stereo 44.1 kHz\n"
    )
    rows, batch_rows = [], []
    with tempfile.TemporaryDirectory() as folder:
        for minutes in (float(m) for m in args.minutes.split(",")):
            style = _looped_style(corpus, minutes, Path(folder))
            if args.batch:
                plain, reported = _batch_walls(corpus, style, args.batch, Path(folder))
                per_pair = (reported - plain) / args.batch
                batch_rows.append(
                    [
                        f"{minutes:g} min",
                        f"{plain:.1f}",
                        f"{reported:.1f}",
                        f"{per_pair:.1f}",
                    ]
                )
                print(markdown_table(BATCH_HEADER, batch_rows[-1:]).splitlines()[-1])
            for label, name in CONTENTS.items():
                runs = [
                    in_fresh_process(
                        _one_run,
                        str(corpus / name) if name != TEXTURE else TEXTURE,
                        str(style),
                        args.preset,
                        args.device,
                    )
                    for _ in range(args.repeats)
                ]
                rows.append(
                    [
                        f"{minutes:g} min",
                        label,
                        f"{median_of(runs, 'style'):.1f}",
                        f"{median_of(runs, 'wall'):.1f}",
                        f"{median_of(runs, 'peak'):.0f}",
                        f"{median_of(runs, 'added'):.0f}",
                        f"{median_of(runs, 'estimate'):.0f}".replace("nan", "–"),
                        " / ".join(
                            f"{median_of(runs, f'bar{point}') / median_of(runs, 'bar_span'):.2f}"
                            for point in BAR_POINTS
                        ),
                    ]
                )
                print(markdown_table(HEADER, rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(markdown_table(HEADER, rows))
    if batch_rows:
        print(
            f"\n`audiost batch` of {args.batch} clips of {BATCH_CLIP_S:g} s, `fast`:\n"
        )
        print(markdown_table(BATCH_HEADER, batch_rows))


HEADER = [
    "style",
    "content",
    "style stage (s)",
    "whole call (s)",
    "process peak (MB)",
    "added by the call (MB)",
    "estimate (MB)",
    "time spent at 10/25/50/75/90 % of the bar",
]

BATCH_HEADER = [
    "style",
    "batch (s)",
    "batch with --report (s)",
    "--report's cost per pair (s)",
]

if __name__ == "__main__":
    main()
