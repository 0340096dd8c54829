"""What the benchmark scripts share: the machine's description, Markdown tables, timing, threads and memory.

Every ``scripts/bench*.py`` imports this (they run from ``scripts/``, so it
is on their path) and puts this checkout first on ``sys.path``, so the
benchmarks measure this code, not an installed audiost. Only the standard
library is imported at module level: spawned workers re-import it, and
anything imported here would count in their peak memory.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

if TYPE_CHECKING:
    import torch

T = TypeVar("T")


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
        (
            f"- Software: Python {platform.python_version()}, torch {torch.__version__} (intra-op threads: {torch.get_num_threads()}), "
            f"numpy {numpy.__version__}, librosa {librosa.__version__}"
        ),
        f"- Device: {device}",
        f"- Load average at start (1, 5, 15 min): {load}",
        f"- Times are **medians over {repeats} repeat{'s' if repeats > 1 else ''}**, in seconds.",
    ]


def median_of(runs: Sequence[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|",
    ]
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


def in_fresh_process(fn: Callable[..., T], *args: Any) -> T:
    with multiprocessing.get_context("spawn").Pool(processes=1) as pool:
        return pool.apply(fn, args)


def shared_corpus() -> Path | None:
    """``$AUDIOST_SHARED/corpus`` (or ``$AUDIOST_SHARED`` itself), else ``<repo>/../shared/corpus``."""
    env = os.environ.get("AUDIOST_SHARED")
    candidates = (
        [Path(env) / "corpus", Path(env)]
        if env
        else [REPO.parent / "shared" / "corpus"]
    )
    return next((path for path in candidates if path.is_dir()), None)


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


def preset_list(text: str) -> list[str]:
    from audiost.config import AUDIO_PRESETS

    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in AUDIO_PRESETS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown preset(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(AUDIO_PRESETS)}"
        )
    return names


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def size_list(text: str) -> list[int]:
    try:
        sizes = [int(size) for size in text.split(",") if size.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated pixel counts, got {text!r}"
        ) from None
    if not sizes or min(sizes) < 16:
        raise argparse.ArgumentTypeError("need at least one size, each at least 16 px")
    return sizes


def pipeline_cells(
    runs: Sequence[dict[str, Any]], stages: Sequence[str], iters: int
) -> list[str]:
    """The columns audio and image pipeline rows share: stage medians, s / iter, wall and peak RSS."""
    optimise = median_of(runs, "optimise")
    return [
        *(seconds(median_of(runs, stage)) for stage in stages),
        f"{optimise / iters:.3f}" if iters else "n/a",
        seconds(median_of(runs, "wall")),
        f"{median_of(runs, 'peak_rss_mb'):.0f}",
    ]


def pipeline_header(first: Sequence[str], stages: Sequence[str]) -> list[str]:
    """A pipeline table's header: the ``first`` columns, each stage, then what :func:`pipeline_cells` adds."""
    return [
        *first,
        *(f"{stage} (s)" for stage in stages),
        "s / iter",
        "wall (s)",
        "peak RSS (MB)",
    ]
