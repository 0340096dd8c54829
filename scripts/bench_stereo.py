"""A mono content styled by a stereo style: ``--stereo`` against the mono result and the user's own upmix.

For each pair (a mono content and a stereo style from ``shared/corpus``,
an excerpt of each) the content is styled three ways:

- ``mono``: the default, a result of the content's one channel;
- ``two copies``: what a user would do without ``--stereo``, the content
  given as two identical channels (styled as mid and side, its side
  starts silent);
- ``--stereo``: the content widened to the style's width band by band
  (``audiost.audio.inputs.widened``), then styled as mid and side.

Measures (``audiost.metrics``): ``gain`` and ``kept`` of the mono mix
against the content and style (as ``audiost evaluate``); ``STOI`` for
spoken contents; ``width``, the output's side over its mid in dB, against
the style's; ``side kept``, the onset correlation of the output's side
with the content (does the width follow the content, or is it a bed of
its own timeline?); ``L/R``, the correlation of left and right (1: no
width at all); and the transfer's time.

Usage::

    python scripts/bench_stereo.py [--seconds 4] [--pairs 0,2] [--preset balanced] [--threads 2] [--picture docs/quality/stereo.png]

``--picture`` draws the first pair's content, the style's side, and the
two stereo methods' sides (and ``--stereo``'s mid).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from benchlib import cpu_model, markdown_table, set_threads, shared_corpus

#: (mono content, stereo style, the content is speech)
PAIRS = [
    (
        "speech_librivox_austen_sense_and_sensibility_part2_16k_mono_s16.wav",
        "music_djembe_accompaniment_africa_44k_stereo.ogg",
        True,
    ),
    (
        "speech_alsa_rear_side_prompts_48k_mono_s16.wav",
        "sfx_frogs_pond_thunderstorm_44k_stereo.ogg",
        True,
    ),
    (
        "music_turkish_song_safiye_ayla_44k_mono_s24.wav",
        "music_frozen_bubble_intro_theme_44k_stereo.ogg",
        False,
    ),
    (
        "sfx_car_engine_start_stop_44k_mono_s16.wav",
        "music_wesnoth_traveling_minstrels_folk_44k_stereo.flac",
        False,
    ),
    (
        "sfx_cow_mooing_22k_mono_s16.wav",
        "sfx_vinyl_record_hiss_44k_stereo.flac",
        False,
    ),
    (
        "speech_pocketsphinx_forever_16k_mono.flac",
        "sfx_train_slowing_down_44k_stereo.ogg",
        True,
    ),
]

METHODS = ("mono", "two copies", "--stereo")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--pairs", help="indices into the table, e.g. 0,2")
    parser.add_argument("--preset", default="balanced")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--picture", type=Path, help="the first pair's sides, drawn")
    args = parser.parse_args(argv)
    set_threads(args.threads)

    from audiost import audio_preset

    corpus = shared_corpus()
    if corpus is None:
        raise SystemExit(
            "bench_stereo: the shared corpus was not found; set AUDIOST_SHARED"
        )
    chosen = (
        [int(i) for i in args.pairs.split(",")] if args.pairs else range(len(PAIRS))
    )
    config = audio_preset(args.preset)
    rows, summary, drawn = [], {method: [] for method in METHODS}, None
    for index in chosen:
        content_name, style_name, speech = PAIRS[index]
        measured, inputs, outputs = _measure_pair(
            corpus / content_name, corpus / style_name, speech, config, args.seconds
        )
        drawn = drawn or (inputs, (content_name, style_name), outputs)
        for method, cells in measured.items():
            rows.append([str(index), method, *_cells(cells)])
            summary[method].append(cells)
        print(f"pair {index}: {content_name} x {style_name}", flush=True)
    if args.picture:
        _draw(args.picture, *drawn)

    print(
        f"\n{cpu_model()}; preset {args.preset}, {args.seconds:g} s excerpts; "
        "width: output (style) dB; side kept: the side's onset correlation with the content\n"
    )
    header = ["pair", "method", "gain", "kept", "STOI", "width (style)", "side kept", "L/R", "time (s)"]  # fmt: skip
    print(markdown_table(header, rows))
    print("\nmedians over the pairs:\n")
    medians = [
        [method, *_cells(_medians(summary[method]))]
        for method in METHODS
        if summary[method]
    ]
    print(markdown_table(header[1:], medians))


def _measure_pair(
    content_path: Path,
    style_path: Path,
    speech: bool,
    config: object,
    seconds: float,
) -> tuple[
    dict[str, dict[str, float | None]],
    tuple[np.ndarray, int, np.ndarray, int],
    dict[str, tuple[np.ndarray, int]],
]:
    """Each method's measures for one pair, the pair's samples, and each output's."""
    from audiost import transfer_audio
    from audiost.media.audio_io import load_audio
    from audiost.metrics import (
        audio_measures,
        speech_intelligibility,
        stereo_width_db,
    )

    content, content_sr = load_audio(content_path, duration=seconds)
    style, style_sr = load_audio(style_path, start=2.0, duration=2 * seconds)
    runs = {
        "mono": (content, {}),
        "two copies": (np.repeat(content, 2, axis=0), {}),
        "--stereo": (content, {"stereo": True}),
    }
    measured, outputs = {}, {}
    for method, (given, settings) in runs.items():
        started = time.perf_counter()
        result = transfer_audio(
            given,
            style,
            content_sr=content_sr,
            style_sr=style_sr,
            config=config.replace(**settings),
        )
        took = time.perf_counter() - started
        audio, sr = result.audio, result.sr
        outputs[method] = (audio, sr)
        measures = audio_measures(content, content_sr, style, style_sr, audio, sr)
        cells = {
            "gain": measures["style_gain"],
            "kept": measures["content_kept"],
            "STOI": speech_intelligibility(content, content_sr, audio, sr)
            if speech
            else None,
            "width": stereo_width_db(audio),
            "style width": stereo_width_db(style),
            "side kept": None,
            "L/R": None,
            "time": took,
        }
        if audio.shape[0] == 2:
            side = (audio[0] - audio[1])[None] / 2
            cells["side kept"] = audio_measures(
                content, content_sr, style, style_sr, side, sr
            )["content_kept"]
            cells["L/R"] = float(np.corrcoef(audio[0], audio[1])[0, 1])
        measured[method] = cells
    return measured, (content, content_sr, style, style_sr), outputs


def _cells(cells: dict[str, float | None]) -> list[str]:
    def shown(value: float | None, form: str = "{:.2f}") -> str:
        return "-" if value is None else form.format(value)

    return [
        shown(cells["gain"]),
        shown(cells["kept"]),
        shown(cells["STOI"]),
        f"{shown(cells['width'], '{:.1f}')} ({shown(cells['style width'], '{:.1f}')})",
        shown(cells["side kept"]),
        shown(cells["L/R"]),
        shown(cells["time"], "{:.1f}"),
    ]


def _medians(runs: list[dict[str, float | None]]) -> dict[str, float | None]:
    def median(name: str) -> float | None:
        values = [run[name] for run in runs if run[name] is not None]
        return statistics.median(values) if values else None

    return {name: median(name) for name in runs[0]}


def _draw(
    path: Path,
    pair: tuple[np.ndarray, int, np.ndarray, int],
    names: tuple[str, str],
    outputs: dict[str, tuple[np.ndarray, int]],
) -> None:
    """Log-mel spectrograms, one colour scale: the content, the style's side, and the two stereo methods' sides (and ``--stereo``'s mid)."""
    import matplotlib

    matplotlib.use("Agg")
    import librosa
    from matplotlib import pyplot

    from audiost.media.audio_io import resample

    content, content_sr, style, style_sr = pair
    rate = outputs["--stereo"][1]  # every panel at the output's rate: one mel axis
    signals = [
        ("content", resample(content, content_sr, rate)[0], rate),
        ("style: side", resample((style[:1] - style[1:]) / 2, style_sr, rate)[0], rate),
    ]
    for method, parts in (("two copies", ("side",)), ("--stereo", ("mid", "side"))):
        audio, sr = outputs[method]
        halves = {"mid": (audio[0] + audio[1]) / 2, "side": (audio[0] - audio[1]) / 2}
        signals += [(f"{method}: {part}", halves[part], sr) for part in parts]
    panels = [
        (
            title,
            librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_mels=96)),
        )
        for title, y, sr in signals
    ]
    top = max(db.max() for _, db in panels)
    figure, axes = pyplot.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.2))
    for axis, (title, db) in zip(axes, panels, strict=True):
        axis.imshow(
            db, origin="lower", aspect="auto", vmin=top - 80, vmax=top, cmap="magma"
        )
        axis.set_title(title, fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])
    figure.suptitle(
        " x ".join(names) + " (log-mel, one scale; time across)", fontsize=9
    )
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    print(f"picture: {path}")


if __name__ == "__main__":
    main()
