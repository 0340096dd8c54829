"""Benchmark audiost and print the results as Markdown tables for the README.

Two things are measured:

1. **The full pipeline** (``audiost.transfer_audio``) on the bundled examples,
   ``examples/speech.wav`` styled by ``examples/music.wav``, for each preset
   asked for. Stage times come from ``AudioResult.timings`` (the pipeline
   times itself); wall time is taken around the whole ``transfer_audio`` call.
   Every run happens in a freshly spawned Python process, so its peak resident
   memory (``getrusage(RUSAGE_SELF).ru_maxrss``) belongs to that one transfer
   and nothing else: not to an earlier preset, not to librosa, not to this
   script. A fresh process also means each run is cold, as a CLI call is. The
   time to ``import audiost`` (mostly torch) is excluded from the wall time
   and reported once as a note.

2. **Griffin-Lim against librosa** on the magnitude of real clips from the shared
   corpus (first channel, at most 10 s). Both run the same fast Griffin-Lim
   update with the same STFT (``Stft.for_rate``: n_fft, hop, periodic Hann,
   centred frames with reflect padding, which is torch.stft's default and so
   what audiost's Stft uses), the same iteration count and momentum, both from
   the same random phase. librosa is warmed up first because numba compiles on
   first call. Quality is the spectral convergence of each output against the
   target magnitude (0 is perfect). The last columns time audiost on one
   torch thread, since librosa's FFT uses one core.

Every time quoted is the median over ``--repeats`` runs: medians shrug off the
odd run slowed by another process. They cannot rescue a machine that stays
busy, so the load average is printed for the reader to judge. On such a
machine torch's default of one thread per core oversubscribes the cores and
can run many times slower than one thread: use ``--threads 1`` there. The
thread count used is printed with the results.

Usage::

    PYTHONPATH=. python3 scripts/bench.py [--presets fast,balanced] [--repeats 3]
                                          [--device cpu] [--threads N]
                                          [--skip-gl] [--skip-pipeline]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

REPO = Path(__file__).resolve().parents[1]
# Benchmark this checkout, not whatever audiost happens to be installed. Only
# the standard library is imported at module level: spawned pipeline workers
# re-import this module, and anything imported here would count in their RSS.
sys.path.insert(0, str(REPO))

if TYPE_CHECKING:
    import numpy as np
    import torch

    from audiost.media.stft import Stft

CONTENT = REPO / "examples" / "speech.wav"
STYLE = REPO / "examples" / "music.wav"
STAGES = ("load", "encode", "optimise", "reconstruct", "write")

GL_CLIPS = (
    "music_wesnoth_traveling_minstrels_folk_44k_stereo.flac",
    "speech_librivox_austen_sense_and_sensibility_part2_16k_mono_s16.wav",
)
GL_ITERS = (32, 64)
GL_MOMENTUM = 0.99
CLIP_SECONDS = 10.0
SEED = 0

T = TypeVar("T")


# --------------------------------------------------------------------------- machine


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_lines(device: str, repeats: int) -> list[str]:
    import librosa
    import numpy
    import torch

    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"- Machine: {cpu_model()}, {cores} cores ({usable} usable by this process), {platform.system()} {platform.machine()}",
        f"- Software: Python {platform.python_version()}, torch {torch.__version__} (intra-op threads: {torch.get_num_threads()}), "
        f"numpy {numpy.__version__}, librosa {librosa.__version__}",
        f"- Device: {device}",
        f"- Load average at start (1, 5, 15 min): {load}",
        f"- Times are **medians over {repeats} repeat{'s' if repeats > 1 else ''}**, in seconds.",
    ]


# --------------------------------------------------------------------------- helpers


def median_of(runs: Sequence[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def seconds(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def set_threads(threads: int | None) -> None:
    """Pin torch's intra-op thread count (None keeps torch's default, one per core)."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def peak_rss_mb() -> float:
    """This process's peak resident set size; ru_maxrss is KiB on Linux, bytes on macOS."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


# --------------------------------------------------------------------------- pipeline


def pipeline_run(preset: str, device: str, output: str, threads: int | None) -> dict[str, Any]:
    """One cold transfer in a fresh process: stage timings, wall and import time, peak RSS.

    Runs in the spawned worker; returns plain types so it pickles back.
    """
    start = time.perf_counter()
    import audiost

    imported = time.perf_counter()
    set_threads(threads)
    config = audiost.audio_preset(preset, device=device)
    result = audiost.transfer_audio(CONTENT, STYLE, output=output, config=config, overwrite=True)
    wall = time.perf_counter() - imported
    return {
        **result.timings,
        "wall": wall,
        "import": imported - start,
        "iters": config.iters,
        "peak_rss_mb": peak_rss_mb(),
        "warnings": result.warnings,
    }


def in_fresh_process(fn: Callable[..., T], *args: Any) -> T:
    with multiprocessing.get_context("spawn").Pool(processes=1) as pool:
        return pool.apply(fn, args)


def bench_pipeline(presets: Sequence[str], device: str, repeats: int, threads: int | None) -> None:
    import soundfile

    header = ["preset", "iters", *(f"{stage} (s)" for stage in STAGES), "s / iter", "wall (s)", "peak RSS (MB)"]
    rows: list[list[str]] = []
    imports: list[float] = []
    warnings: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="audiost-bench-") as tmp:
        output = str(Path(tmp) / "out.wav")
        for preset in presets:
            runs = [in_fresh_process(pipeline_run, preset, device, output, threads) for _ in range(repeats)]
            imports += [run["import"] for run in runs]
            warnings.update(f"{preset}: {w}" for run in runs for w in run["warnings"])
            iters = runs[0]["iters"]
            optimise = median_of(runs, "optimise")
            rows.append(
                [
                    f"`{preset}`",
                    str(iters),
                    *(seconds(median_of(runs, stage)) for stage in STAGES),
                    f"{optimise / iters:.3f}" if iters else "n/a",
                    seconds(median_of(runs, "wall")),
                    f"{median_of(runs, 'peak_rss_mb'):.0f}",
                ]
            )

    infos = {path: soundfile.info(path) for path in (CONTENT, STYLE)}
    clips = ", ".join(f"`{path.relative_to(REPO)}` ({info.duration:.1f} s, {info.samplerate} Hz)" for path, info in infos.items())
    print("### Full pipeline: `transfer_audio` on the bundled examples\n")
    print(f"Content and style: {clips}.\n")
    print(markdown_table(header, rows))
    print(
        f"\nEach run is a fresh process (cold start, as from the CLI). Stage times are `AudioResult.timings`; "
        f"wall is the whole `transfer_audio` call; s / iter is optimise / `config.iters` (an L-BFGS iteration "
        f"may evaluate the objective more than once). Peak RSS is that process's `ru_maxrss` (MB = 2^20 bytes), "
        f"including the interpreter and torch. Not in the wall time: `import audiost` takes "
        f"{statistics.median(imports):.2f} s (median) in a fresh process."
    )
    for warning in sorted(warnings):
        print(f"\n**Warning from the pipeline** ({warning})")
    print()


# --------------------------------------------------------------------------- Griffin-Lim


@dataclass
class Clip:
    """A corpus clip's first channel as a target magnitude."""

    name: str
    sr: int
    length: int
    stft: Stft
    magnitude: torch.Tensor


def shared_corpus() -> Path | None:
    """``$AUDIOST_SHARED/corpus`` (or ``$AUDIOST_SHARED`` itself), else ``<repo>/../shared/corpus``."""
    env = os.environ.get("AUDIOST_SHARED")
    candidates = [Path(env) / "corpus", Path(env)] if env else [REPO.parent / "shared" / "corpus"]
    return next((path for path in candidates if path.is_dir()), None)


def load_clip(path: Path, device: torch.device) -> Clip:
    import torch

    from audiost.media.audio_io import load_audio
    from audiost.media.stft import Stft

    audio, sr = load_audio(path)
    wave = torch.from_numpy(audio[0, : int(CLIP_SECONDS * sr)].copy()).to(device)
    stft = Stft.for_rate(sr, device)
    return Clip(path.name, sr, wave.shape[-1], stft, stft.forward(wave).abs())


def timed(fn: Callable[[], T], repeats: int, device: torch.device) -> tuple[float, T]:
    """Median wall time of ``fn`` over ``repeats`` calls, and its last result."""
    import torch

    times: list[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        elif device.type == "mps":
            torch.mps.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def gl_row(clip: Clip, n_iter: int, repeats: int) -> list[str]:
    import librosa
    import numpy as np
    import torch

    from audiost.media.griffin_lim import griffin_lim, spectral_convergence

    device = clip.stft.device
    # The same random start for both, so the spectral convergence compares
    # the algorithms and not two draws of the initial phase: these are the
    # phasors librosa draws from ``random_state=SEED``.
    target = clip.magnitude.cpu().numpy()
    angles = 2 * np.pi * np.random.RandomState(SEED).random_sample(size=target.shape)
    start_phase = torch.from_numpy(np.exp(1j * angles).astype(np.complex64)).to(device)

    def ours() -> torch.Tensor:
        return griffin_lim(clip.magnitude, clip.stft, clip.length, n_iter=n_iter, momentum=GL_MOMENTUM, init_phase=start_phase)

    def theirs() -> np.ndarray:
        return librosa.griffinlim(
            target,
            n_iter=n_iter,
            hop_length=clip.stft.hop,
            win_length=clip.stft.n_fft,
            n_fft=clip.stft.n_fft,
            window="hann",
            center=True,
            pad_mode="reflect",
            length=clip.length,
            momentum=GL_MOMENTUM,
            init="random",
            random_state=SEED,
        )

    t_ours, w_ours = timed(ours, repeats, device)
    t_theirs, w_theirs = timed(theirs, repeats, device)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        t_single, _ = timed(ours, repeats, device)
    finally:
        torch.set_num_threads(threads)
    sc_ours, sc_theirs = (spectral_convergence(clip.magnitude, wave, clip.stft) for wave in (w_ours, torch.from_numpy(w_theirs).to(device)))
    return [
        f"`{clip.name}` ({clip.length / clip.sr:.1f} s)",
        f"{clip.sr} / {clip.stft.n_fft} / {clip.stft.hop}",
        str(n_iter),
        seconds(t_ours),
        seconds(t_theirs),
        f"{t_theirs / t_ours:.2f}x",
        f"{sc_ours:.4f}",
        f"{sc_theirs:.4f}",
        seconds(t_single),
        f"{t_theirs / t_single:.2f}x",
    ]


def warm_up(clip: Clip) -> None:
    """First calls pay numba compilation (librosa) and FFT plan set-up (torch); keep them out of the timings."""
    import librosa

    from audiost.media.griffin_lim import griffin_lim

    librosa.griffinlim(clip.magnitude.cpu().numpy(), n_iter=2, hop_length=clip.stft.hop, n_fft=clip.stft.n_fft, length=clip.length, pad_mode="reflect")
    griffin_lim(clip.magnitude, clip.stft, clip.length, n_iter=2)


def bench_griffin_lim(device_name: str, repeats: int) -> None:
    import librosa
    import torch

    from audiost.device import resolve_device

    print("### Griffin-Lim: audiost vs librosa\n")
    corpus = shared_corpus()
    missing = [name for name in GL_CLIPS if corpus is None or not (corpus / name).is_file()]
    if missing:
        print(f"Skipped: the shared corpus clips are missing ({', '.join(missing)}); set AUDIOST_SHARED.\n")
        return
    device = resolve_device(device_name)
    header = [
        "clip (first channel)",
        "sr / n_fft / hop",
        "iters",
        "audiost (s)",
        "librosa (s)",
        "librosa / audiost",
        "SC audiost",
        "SC librosa",
        "audiost, 1 thread (s)",
        "librosa / audiost, 1 thread",
    ]
    rows: list[list[str]] = []
    for name in GL_CLIPS:
        clip = load_clip(corpus / name, device)
        warm_up(clip)
        rows += [gl_row(clip, n_iter, repeats) for n_iter in GL_ITERS]
    print(markdown_table(header, rows))
    print(
        f"\nFast Griffin-Lim, momentum {GL_MOMENTUM}, both from the same random phase (seed {SEED}); audiost on `{device}`, "
        f"librosa {librosa.__version__} on the CPU. torch threads: {torch.get_num_threads()}; librosa's NumPy FFT runs on one. librosa / audiost above 1 means audiost is faster. "
        "SC is spectral convergence ‖|STFT(y)| − S‖ / ‖S‖ (lower is better).\n"
    )


# --------------------------------------------------------------------------- CLI


def preset_list(text: str) -> list[str]:
    from audiost.config import PRESETS

    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in PRESETS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"unknown preset(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(PRESETS)}")
    return names


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", type=preset_list, default="fast,balanced", help="comma-separated presets (default: fast,balanced)")
    parser.add_argument("--repeats", type=positive_int, default=3, help="runs per measurement; medians are reported (default: 3)")
    parser.add_argument("--device", default="cpu", help="compute device for audiost: cpu, cuda, mps or auto (default: cpu)")
    parser.add_argument(
        "--threads",
        type=positive_int,
        help="torch intra-op threads (default: torch's, one per core); 1 is far steadier when other processes compete for the cores",
    )
    parser.add_argument("--skip-gl", action="store_true", help="skip the Griffin-Lim comparison")
    parser.add_argument("--skip-pipeline", action="store_true", help="skip the full-pipeline runs")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    from audiost.device import resolve_device

    args = parse_args(argv)
    set_threads(args.threads)
    start = time.perf_counter()
    print("## audiost benchmark\n")
    print("\n".join(machine_lines(str(resolve_device(args.device)), args.repeats)) + "\n")
    if not args.skip_pipeline:
        bench_pipeline(args.presets, args.device, args.repeats, args.threads)
    if not args.skip_gl:
        bench_griffin_lim(args.device, args.repeats)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"_Benchmark ran in {time.perf_counter() - start:.0f} s; load average at the end: {load}._")


if __name__ == "__main__":
    main()
