"""Phase reconstruction benchmark: where should Griffin-Lim start?

Compared, by spectral convergence (``|| |STFT(y)| - S || / ||S||``, 0 is a
perfect match; ``audiost.media.griffin_lim.spectral_convergence``) and wall
time, at several Griffin-Lim iteration counts:

- **random**: fast Griffin-Lim from a seeded random phase;
- **content**: fast Griffin-Lim from the content's own STFT phase (audiost's
  ``phase_init="content"``);
- **PGHI**: phase-gradient heap integration (``audiost.media.pghi``) alone at
  0 iterations, and as Griffin-Lim's start otherwise. Its own time is
  included in every time quoted for it.

Two kinds of magnitude:

1. **Transfers**, the case the choice is made for: speech excerpts styled by
   music with the ``fast`` preset through ``AudioStylist``; the optimised
   canvas is captured where ``AudioCanvas.decode`` receives it, with the
   content's phase, and turned into a magnitude as ``decode`` does. Such a
   magnitude is not the STFT of any signal, so no method reaches 0.
2. **Plain corpus clips**, consistent magnitudes with a known answer. Their
   content phase would be the true phase, no fair competitor, so only random
   and PGHI are compared.

Times are medians over ``--repeats`` runs on ``--threads`` torch threads
(default 1: on a shared CPU one thread gives stable timings). Spectral
convergence does not vary between repeats (every random start is seeded).
The last table compares the methods at the presets' Griffin-Lim iterations,
including PGHI with as many fewer iterations as its own time costs
("time-matched").

Usage::

    python3 scripts/bench_phase.py [--repeats 3] [--threads 1] [--seconds 4]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

REPO = Path(__file__).resolve().parents[1]
# Benchmark this checkout, not whatever audiost happens to be installed.
sys.path.insert(0, str(REPO))

# The machine description and table helpers of scripts/benchlib.py (this script's folder is on sys.path).
from benchlib import machine_lines, markdown_table, set_threads, shared_corpus

if TYPE_CHECKING:
    import torch

    from audiost.media.stft import Stft

#: (content, style, content offset in seconds): speech styled by music, at 8 to 48 kHz.
PAIRS = (
    ("speech_ivr_allison_voicemail_options_8k_mono_s16.wav", "music_turkish_song_safiye_ayla_44k_mono_s24.wav", 1.0),
    ("speech_pocketsphinx_forever_16k_mono.flac", "music_wesnoth_traveling_minstrels_folk_44k_stereo.flac", 0.5),
    ("speech_hedgewars_singer_voice_lines_44k_stereo_f32.wav", "music_sonicpi_tabla_loop_44k_stereo.flac", 0.0),
    ("speech_alsa_rear_side_prompts_48k_mono_s16.wav", "music_djembe_accompaniment_africa_44k_stereo.ogg", 0.0),
)  # fmt: skip
CLIPS = (
    "speech_librivox_austen_sense_and_sensibility_part2_16k_mono_s16.wav",
    "music_mariachi_mexico_44k_mono.mp3",
    "music_wesnoth_traveling_minstrels_folk_44k_stereo.flac",
    "sfx_applause_crowd_44k_mono_f32.wav",
)
ITERS = (0, 16, 32, 64, 128)
METHODS = ("random", "content", "pghi")
SEED = 0


@dataclass
class Case:
    """A magnitude to reconstruct, and the content's phase where there is one."""

    name: str
    magnitude: torch.Tensor
    stft: Stft
    length: int
    content_phase: torch.Tensor | None = None
    #: (method, iterations) -> (spectral convergence, median seconds)
    results: dict[tuple[str, int], tuple[float, float]] = field(default_factory=dict)


def transfer_case(
    corpus: Path, content: str, style: str, offset: float, seconds: float
) -> Case:
    """Style ``seconds`` of ``content`` by ``style`` (fast preset); capture what Griffin-Lim gets."""
    from unittest import mock

    from audiost import AudioStylist, audio_preset
    from audiost.media.audio import AudioCanvas
    from audiost.media.audio_io import load_audio

    c_wave, c_sr = load_audio(corpus / content)
    s_wave, s_sr = load_audio(corpus / style)
    c_wave = c_wave[:, int(offset * c_sr) : int((offset + seconds) * c_sr)]
    s_wave = s_wave[:, : int(seconds * s_sr)]
    captured = {}
    decode = AudioCanvas.decode

    def capture(self, canvas, length, *, n_iter, phase=None, generator=None):
        captured.update(
            audio_canvas=self, canvas=canvas.detach(), length=length, phase=phase
        )
        return decode(self, canvas, length, n_iter=0, phase=phase, generator=generator)

    config = audio_preset("fast", phase_init="content", device="cpu", seed=SEED)
    with mock.patch.object(AudioCanvas, "decode", capture):
        AudioStylist(config).transfer(c_wave, s_wave, content_sr=c_sr, style_sr=s_sr)
    audio_canvas = captured["audio_canvas"]
    magnitude = audio_canvas.magnitude(captured["canvas"])
    name = f"{_short(content)} × {_short(style)} ({c_sr // 1000} kHz, {c_wave.shape[0]} ch)"
    return Case(
        name, magnitude, audio_canvas.stft, captured["length"], captured["phase"]
    )


def clip_case(corpus: Path, clip: str, seconds: float) -> Case:
    """The STFT magnitude of ``seconds`` of a corpus recording (all channels)."""
    import torch

    from audiost.media.audio_io import load_audio
    from audiost.media.stft import Stft

    wave, sr = load_audio(corpus / clip)
    wave = torch.from_numpy(wave[:, : int(seconds * sr)].copy())
    stft = Stft.for_rate(sr)
    name = f"{_short(clip)} ({sr // 1000} kHz, {wave.shape[0]} ch)"
    return Case(name, stft.forward(wave).abs(), stft, wave.shape[-1])


def _short(filename: str) -> str:
    """``speech_pocketsphinx_forever_16k_mono.flac`` -> ``speech pocketsphinx``."""
    return " ".join(filename.split("_")[:2])


def reconstruct(case: Case, method: str, n_iter: int) -> tuple[float, float]:
    """One reconstruction: (spectral convergence, seconds including any PGHI)."""
    import torch

    from audiost.media.griffin_lim import griffin_lim, spectral_convergence
    from audiost.media.pghi import pghi_phase

    start = time.perf_counter()
    generator = torch.Generator().manual_seed(SEED)
    if method == "pghi":
        phase = pghi_phase(case.magnitude, case.stft, generator=generator)
    else:
        phase = case.content_phase if method == "content" else None
    wave = griffin_lim(
        case.magnitude,
        case.stft,
        case.length,
        n_iter=n_iter,
        start_phase=phase,
        generator=generator,
    )
    elapsed = time.perf_counter() - start
    return spectral_convergence(case.magnitude, wave, case.stft), elapsed


def measure(case: Case, method: str, n_iter: int, repeats: int) -> tuple[float, float]:
    key = (method, n_iter)
    if key not in case.results:
        runs = [reconstruct(case, method, n_iter) for _ in range(repeats)]
        case.results[key] = (runs[-1][0], statistics.median(t for _, t in runs))
    return case.results[key]


def cells(result: tuple[float, float]) -> list[str]:
    return [f"{result[0]:.4f}", f"{result[1]:.3f}"]


def method_table(cases: Sequence[Case], methods: Sequence[str], repeats: int) -> str:
    labels = {"random": "random", "content": "content phase", "pghi": "PGHI"}
    header = ["magnitude", "GL iters"]
    for method in methods:
        header += [f"{labels[method]}: SC", f"{labels[method]}: s"]
    rows = []
    for case in cases:
        for n_iter in ITERS:
            row = [case.name, str(n_iter)]
            for method in methods:
                row += cells(measure(case, method, n_iter, repeats))
            rows.append(row)
    return markdown_table(header, rows)


def matched_iters(case: Case, n_iter: int, repeats: int) -> int:
    """Griffin-Lim iterations PGHI can afford within the time of ``n_iter`` from the content phase."""
    _, pghi_time = measure(case, "pghi", 0, repeats)
    _, gl0 = measure(case, "content", 0, repeats)
    _, gln = measure(case, "content", n_iter, repeats)
    per_iter = (gln - gl0) / n_iter
    return max(0, n_iter - math.ceil((pghi_time - gl0) / per_iter))


def preset_table(cases: Sequence[Case], repeats: int) -> str:
    """At each preset's gl_iters: SC and time per method, and their means over ``cases``."""
    from audiost import AUDIO_PRESETS, audio_preset

    header = [
        "preset (GL iters)",
        "magnitude",
        "random: SC",
        "random: s",
        "content: SC",
        "content: s",
        "PGHI + GL: SC",
        "PGHI + GL: s",
        "PGHI, time-matched: iters",
        "SC",
        "s",
    ]
    rows = []
    for preset in AUDIO_PRESETS:
        n_iter = audio_preset(preset).gl_iters
        per_case = []
        for case in cases:
            fewer = matched_iters(case, n_iter, repeats)
            results = [
                measure(case, "random", n_iter, repeats),
                measure(case, "content", n_iter, repeats),
                measure(case, "pghi", n_iter, repeats),
                measure(case, "pghi", fewer, repeats),
            ]
            per_case.append(results)
            rows.append([f"{preset} ({n_iter})", case.name, *_row(results, str(fewer))])
        mean = [
            (statistics.mean(sc for sc, _ in col), statistics.mean(t for _, t in col))
            for col in zip(*per_case, strict=True)
        ]
        rows.append([f"**{preset} ({n_iter})**", "**mean**", *_row(mean, "")])
    return markdown_table(header, rows)


def _row(results: Sequence[tuple[float, float]], fewer: str) -> list[str]:
    """random, content, PGHI + GL, then the time-matched PGHI with its iteration count."""
    *same, matched = results
    return [*(c for r in same for c in cells(r)), fewer, *cells(matched)]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (default 1)"
    )
    parser.add_argument(
        "--seconds", type=float, default=4.0, help="length of every excerpt"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    corpus = shared_corpus()
    if corpus is None:
        sys.exit("shared corpus not found: set AUDIOST_SHARED")
    set_threads(args.threads)
    start = time.perf_counter()
    print("## Phase reconstruction\n")
    print("\n".join(machine_lines("cpu", args.repeats)) + "\n")
    print(
        f"- Excerpts: {args.seconds:g} s; SC = spectral convergence (lower is better).\n"
    )

    transfers = [
        transfer_case(corpus, c, s, offset, args.seconds) for c, s, offset in PAIRS
    ]
    clips = [clip_case(corpus, clip, args.seconds) for clip in CLIPS]
    # Warm up (first-call allocations, FFT plans) so the first timed case is not penalised.
    reconstruct(clips[0], "pghi", 2)

    print("### Style-transfer magnitudes (fast preset)\n")
    print(method_table(transfers, METHODS, args.repeats) + "\n")
    print("### Plain recordings\n")
    print(method_table(clips, ("random", "pghi"), args.repeats) + "\n")
    print("### Style transfers at the presets' Griffin-Lim iterations\n")
    print(preset_table(transfers, args.repeats) + "\n")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"_Ran in {time.perf_counter() - start:.0f} s; load average at the end: {load}._"
    )


if __name__ == "__main__":
    main()
