"""Batch benchmark, run by ``scripts/bench.py`` (or alone): throughput of ``audiost batch``.

Twenty 2-second clips cut from the shared corpus's speech and effects
recordings, resampled to 44.1 kHz (a sound library is usually at one rate),
are styled by a 3-second tabla loop, three ways:

1. ``run_batch`` with the local executor and ``jobs`` 1 and 2, and with the
   Ray executor on a local Ray instance it starts (one CPU per task, so on
   this 2-core machine also two tasks at a time). Wall time is the whole
   ``run_batch`` call, worker or Ray start-up included; pairs per minute is
   pairs over wall. Ray's overhead per pair is its wall time minus the local
   executor's with the same parallelism, over the pairs, with and without
   Ray's start-up (timed apart: ``ray.init`` to the first trivial task).
2. Style-target reuse, in this process on one thread: one ``AudioStylist``
   for every clip (the batch worker's way) against a fresh stylist per clip
   (the network and the style's Gram targets rebuilt each time).

``--throughput-only`` keeps the first part's local runs alone, for a GPU
(#15: 100 clips of 5 s with ``--jobs`` 1, 2, 4 and 8 worker processes
sharing one GPU, which is what ``scripts/device_check.sh`` runs).

Usage::

    PYTHONPATH=. python3 scripts/bench_batch.py [--clips 20] [--seconds 2] [--preset fast] [--repeats 3]
        [--jobs 1,2] [--device auto] [--throughput-only]
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

CLIP_SOURCES = (
    "speech_pocketsphinx_forever_16k_mono.flac",
    "speech_alsa_rear_side_prompts_48k_mono_s16.wav",
    "speech_pocketsphinx_playing_cards_16k_mono_s24.wav",
    "speech_librivox_austen_sense_and_sensibility_part2_16k_mono_s16.wav",
    "speech_hedgewars_singer_voice_lines_44k_stereo_f32.wav",
    "sfx_cow_mooing_22k_mono_s16.wav",
    "sfx_car_engine_start_stop_44k_mono_s16.wav",
    "sfx_canal_lock_water_filling_44k_mono_s16.wav",
    "sfx_applause_crowd_44k_mono_f32.wav",
    "sfx_ship_creaking_waves_44k_mono.ogg",
)
STYLE_SOURCE = "music_sonicpi_tabla_loop_44k_stereo.flac"
RATE = 44100
CLIP_S = 2.0


def make_material(
    corpus: Path, folder: Path, count: int, clip_s: float = CLIP_S
) -> tuple[list[Path], Path]:
    """``count`` clips of ``clip_s`` seconds (excerpts of each source file in turn, wrapping round a short one) and the style, as 44.1 kHz WAV."""
    import librosa
    import numpy as np
    import soundfile as sf

    clips: list[Path] = []
    for index in range(count):
        name = CLIP_SOURCES[index % len(CLIP_SOURCES)]
        audio, sr = sf.read(corpus / name, dtype="float32", always_2d=True)
        mono = librosa.resample(audio.mean(axis=1), orig_sr=sr, target_sr=RATE)
        length = int(clip_s * RATE)
        mono = np.tile(mono, -(-(length + RATE) // len(mono)))
        offset = int((0.5 + (clip_s + 0.5) * (index // len(CLIP_SOURCES))) * RATE)
        offset %= len(mono) - length + 1
        excerpt = mono[offset : offset + length]
        path = folder / "clips" / f"{index:02d}_{Path(name).stem}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, np.ascontiguousarray(excerpt), RATE)
        clips.append(path)
    audio, sr = sf.read(corpus / STYLE_SOURCE, dtype="float32", always_2d=True)
    style = folder / "tabla.wav"
    sf.write(
        style,
        librosa.resample(audio.T, orig_sr=sr, target_sr=RATE)[:, : 3 * RATE].T,
        RATE,
    )
    return clips, style


def timed_batch(
    clips_dir: Path,
    style: Path,
    preset: str,
    executor: str,
    jobs: int,
    device: str = "auto",
) -> dict[str, Any]:
    from audiost import resolve_recipe, run_batch

    with tempfile.TemporaryDirectory(prefix="audiost-bench-batch-") as out:
        clock = time.perf_counter()
        summary = run_batch(
            [clips_dir],
            [style],
            out,
            recipe=resolve_recipe(preset=preset, settings={"device": device}),
            executor=executor,
            jobs=jobs,
        )
        wall = time.perf_counter() - clock
    if summary.failed or not summary.done:
        raise RuntimeError(f"benchmark batch failed: {summary.failures[:3]}")
    return {"wall": wall, "pairs": summary.done}


def ray_startup() -> float:
    """Seconds from ``ray.init`` (local instance) to a first trivial task's result, plus shutdown."""
    import logging

    import ray

    clock = time.perf_counter()
    ray.init(
        include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False
    )
    ray.get(ray.remote(lambda: None).remote())
    ray.shutdown()
    return time.perf_counter() - clock


def reuse_run(
    clips: Sequence[Path], style: Path, preset: str, reuse: bool
) -> dict[str, float]:
    """Style every clip in this process; one stylist for all (reuse) or a fresh one per clip."""
    import torch

    from audiost import AudioStylist, audio_preset

    torch.set_num_threads(1)
    config = audio_preset(preset, device="cpu")
    shared = AudioStylist(config)
    style_s = 0.0
    clock = time.perf_counter()
    for clip in clips:
        stylist = shared if reuse else AudioStylist(config)
        style_s += stylist.transfer(clip, style).timings["style"]
    return {"wall": time.perf_counter() - clock, "style": style_s}


def bench_batch(
    corpus: Path,
    clips: int,
    preset: str,
    repeats: int,
    *,
    clip_s: float = CLIP_S,
    jobs: Sequence[int] = (1, 2),
    device: str = "auto",
    throughput_only: bool = False,
) -> None:
    from benchlib import markdown_table, seconds

    ray = None
    if not throughput_only:
        try:
            import ray
        except ImportError:
            pass
    with tempfile.TemporaryDirectory(prefix="audiost-bench-material-") as tmp:
        paths, style = make_material(corpus, Path(tmp), clips, clip_s)
        setups = [("local", n) for n in jobs] + ([("ray", 1)] if ray else [])
        runs = {
            setup: [
                timed_batch(paths[0].parent, style, preset, *setup, device)
                for _ in range(repeats)
            ]
            for setup in setups
        }
        if not throughput_only:
            startup = (
                statistics.median(ray_startup() for _ in range(repeats))
                if ray
                else None
            )
            reuse = [reuse_run(paths, style, preset, True) for _ in range(repeats)]
            fresh = [reuse_run(paths, style, preset, False) for _ in range(repeats)]

    rows = []
    for (executor, workers), results in runs.items():
        wall = statistics.median(r["wall"] for r in results)
        label = (
            f"local, `--jobs {workers}`"
            if executor == "local"
            else "Ray, local instance (1 CPU per task)"
        )
        rows.append(
            [
                label,
                str(clips),
                seconds(wall),
                f"{60 * clips / wall:.1f}",
                seconds(wall / clips),
            ]
        )
    print(
        f"### Batch: {clips} clips of {clip_s:g} s at 44.1 kHz, `{preset}` preset, "
        f"device {device}, median of {repeats}\n"
    )
    print(
        markdown_table(
            ["executor", "pairs", "wall (s)", "pairs / min", "wall / pair (s)"], rows
        )
    )
    print()
    if throughput_only:
        return
    if ray:
        local2 = statistics.median(r["wall"] for r in runs[("local", 2)])
        ray_wall = statistics.median(r["wall"] for r in runs[("ray", 1)])
        print(
            f"Ray's overhead against `--jobs 2` (same parallelism): {(ray_wall - local2) / clips:+.3f} s per pair "
            f"including its start-up, {(ray_wall - startup - local2) / clips:+.3f} s per pair without; "
            f"starting and stopping a local Ray instance takes {startup:.1f} s.\n"
        )
    reuse_wall = statistics.median(r["wall"] for r in reuse)
    fresh_wall = statistics.median(r["wall"] for r in fresh)
    reuse_style = statistics.median(r["style"] for r in reuse)
    fresh_style = statistics.median(r["style"] for r in fresh)
    print(
        markdown_table(
            [
                "style targets",
                "total (s)",
                "of which network + style targets (s)",
                "per pair (s)",
            ],
            [
                [
                    "computed once, reused (batch worker)",
                    seconds(reuse_wall),
                    seconds(reuse_style),
                    seconds(reuse_wall / clips),
                ],
                [
                    "recomputed for every pair",
                    seconds(fresh_wall),
                    seconds(fresh_style),
                    seconds(fresh_wall / clips),
                ],
            ],
        )
    )
    print(
        f"\nReusing the network and the style's targets saves {fresh_wall - reuse_wall:.1f} s of "
        f"{fresh_wall:.1f} s ({100 * (fresh_wall - reuse_wall) / fresh_wall:.0f}%) over {clips} pairs "
        "(one process, one thread, so the two rows compare like with like).\n"
    )


def main(argv: Sequence[str] | None = None) -> None:
    from benchlib import shared_corpus

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=CLIP_S, help="clip length")
    parser.add_argument(
        "--jobs", default="1,2", help="worker process counts, e.g. 1,2,4,8"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    parser.add_argument(
        "--throughput-only",
        action="store_true",
        help="only the local runs: no Ray, no style-target reuse comparison",
    )
    args = parser.parse_args(argv)
    corpus = shared_corpus()
    if corpus is None:
        sys.exit("bench_batch: the shared corpus was not found; set AUDIOST_SHARED")
    bench_batch(
        corpus,
        args.clips,
        args.preset,
        args.repeats,
        clip_s=args.seconds,
        jobs=[int(n) for n in args.jobs.split(",")],
        device=args.device,
        throughput_only=args.throughput_only,
    )


if __name__ == "__main__":
    main()
