"""What each audio preset buys: time against the ``audiost evaluate`` measures, over corpus pairs.

Each pair is a content and a style excerpt from the shared corpus (speech or
effects styled by music), ``--seconds`` long, at the content's own rate.
Every preset styles every pair in this process (after one warm-up transfer,
so first-call set-up is not charged to the first preset); the time is the
whole ``transfer_audio`` call. The measures are those of ``audiost
evaluate`` on the written output: style_gain (0 = content, 1 = style's
statistics), content_kept (onset-envelope correlation with the content) and
the reconstruction's spectral convergence. Medians over pairs.

Usage::

    PYTHONPATH=. python3 scripts/bench_presets.py [--seconds 4] [--presets fast,balanced,best] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PAIRS = (
    (
        "speech_pocketsphinx_forever_16k_mono.flac",
        "music_sonicpi_tabla_loop_44k_stereo.flac",
    ),
    (
        "speech_alsa_rear_side_prompts_48k_mono_s16.wav",
        "music_wesnoth_traveling_minstrels_folk_44k_stereo.flac",
    ),
    (
        "speech_librivox_austen_sense_and_sensibility_part2_16k_mono_s16.wav",
        "music_mariachi_mexico_44k_mono.mp3",
    ),
    (
        "sfx_car_engine_start_stop_44k_mono_s16.wav",
        "music_didgeridoo_australia_44k_mono.ogg",
    ),
    (
        "speech_hedgewars_singer_voice_lines_44k_stereo_f32.wav",
        "music_turkish_song_safiye_ayla_44k_mono_s24.wav",
    ),
)
MEASURES = ("style_gain", "content_kept", "spectral_convergence")


def excerpt(source: Path, folder: Path, seconds: float) -> Path:
    """The first ``seconds`` after 0.5 s of ``source``, as WAV (inputs stay small and equal in length)."""
    import soundfile as sf

    audio, sr = sf.read(source, dtype="float32", always_2d=True)
    start = int(0.5 * sr)
    path = folder / f"{source.stem}.wav"
    sf.write(path, audio[start : start + int(seconds * sr)], sr)
    return path


def warmed_up_pairs(
    corpus: Path,
    folder: Path,
    seconds: float,
    names: Sequence[tuple[str, str]] = PAIRS,
) -> list[tuple[Path, Path]]:
    """``names`` (corpus file names) as excerpts in ``folder``, after one
    throw-away transfer, so first-call set-up is not charged to the first
    case measured."""
    from audiost import audio_preset, transfer_audio

    pairs = [
        (excerpt(corpus / c, folder, seconds), excerpt(corpus / s, folder, seconds))
        for c, s in names
    ]
    transfer_audio(
        *pairs[0], config=audio_preset("fast", iters=2, gl_iters=2, device="cpu")
    )
    return pairs


def run(presets: Sequence[str], seconds: float, threads: int | None) -> None:
    import torch
    from benchlib import machine_lines, markdown_table, shared_corpus

    from audiost import AUDIO_PRESETS, audio_preset, transfer_audio
    from audiost.evaluate import evaluate_audio

    if threads:
        torch.set_num_threads(threads)
    corpus = shared_corpus()
    if corpus is None:
        sys.exit("bench_presets: the shared corpus was not found; set AUDIOST_SHARED")
    print("## Presets: time against quality\n")
    print("\n".join(machine_lines("cpu", 1)[:-1]) + "\n")
    rows: dict[str, list[dict[str, float]]] = {}
    detail: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="audiost-presets-") as tmp:
        folder = Path(tmp)
        pairs = warmed_up_pairs(corpus, folder, seconds)
        for preset in presets:
            rows[preset] = []
            for content, style in pairs:
                output = folder / f"{content.stem}_{preset}.wav"
                clock = time.perf_counter()
                transfer_audio(
                    content,
                    style,
                    output,
                    config=audio_preset(preset, device="cpu"),
                    overwrite=True,
                )
                wall = time.perf_counter() - clock
                measures = evaluate_audio(content, style, output).measures
                rows[preset].append(
                    {"wall": wall, **{m: measures[m] for m in MEASURES}}
                )
                detail.append(
                    [
                        f"`{preset}`",
                        f"{content.stem} x {style.stem}",
                        f"{wall:.1f}",
                        *(f"{measures[m]:.3f}" for m in MEASURES),
                    ]
                )
    summary = []
    for preset, results in rows.items():
        settings = (
            ", ".join(f"{k}={v}" for k, v in AUDIO_PRESETS[preset].items())
            or "defaults"
        )
        medians = {
            key: statistics.median(r[key] for r in results)
            for key in ("wall", *MEASURES)
        }
        summary.append(
            [
                f"`{preset}`",
                settings,
                f"{medians['wall']:.1f}",
                *(f"{medians[m]:.3f}" for m in MEASURES),
            ]
        )
    header = [
        "preset",
        "settings",
        "time (s)",
        "style_gain",
        "content_kept",
        "spectral conv.",
    ]
    print(
        f"{len(PAIRS)} pairs, {seconds:g} s excerpts, medians over the pairs; torch threads: {torch.get_num_threads()}.\n"
    )
    print(markdown_table(header, summary))
    print("\nPer pair:\n")
    print(
        markdown_table(
            [
                "preset",
                "content x style",
                "time (s)",
                "style_gain",
                "content_kept",
                "spectral conv.",
            ],
            detail,
        )
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--presets", default="fast,balanced,best")
    parser.add_argument("--threads", type=int)
    args = parser.parse_args(argv)
    run(
        [p.strip() for p in args.presets.split(",") if p.strip()],
        args.seconds,
        args.threads,
    )


if __name__ == "__main__":
    main()
