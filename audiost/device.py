"""Choosing the compute device."""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from .config import DEVICE_CHOICES
from .errors import AudiostError


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then the CPU; an explicit choice must exist.

    Accepts ``cuda:N`` for a particular GPU.
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind = name.split(":")[0]
    if kind not in DEVICE_CHOICES:
        raise AudiostError(
            f"unknown device {name!r}; use one of {', '.join(DEVICE_CHOICES)}"
        )
    if kind == "cuda" and not torch.cuda.is_available():
        raise AudiostError(
            "--device cuda: no CUDA GPU is available to this torch build; use --device cpu or auto"
        )
    if kind == "mps" and not torch.backends.mps.is_available():
        raise AudiostError(
            "--device mps: Apple MPS is not available here; use --device cpu or auto"
        )
    return torch.device(name)


@contextlib.contextmanager
def stage(
    timings: dict[str, float], name: str, device: torch.device | None = None
) -> Iterator[None]:
    """Add the wall time of the ``with`` block to ``timings[name]``, after the device's queued work is done.

    Stages add up, so one named twice (each section's optimisation, a
    decode and the loudness pass after it) reports its total. CUDA runs
    asynchronously: without the synchronisation a stage's time would land
    in whichever later stage first waits for a result.
    """
    start = time.perf_counter()
    yield
    if device is not None and device.type == "cuda":
        torch.cuda.synchronize(device)
    timings[name] = timings.get(name, 0.0) + time.perf_counter() - start


def usable_cores(cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """CPU cores this process may use: its affinity mask, capped by a container's CPU quota.

    torch sizes its thread pool by the machine's physical cores; in a
    container limited to 2 CPUs of a 64-core host that is 64 threads
    time-sliced onto 2, many times slower than 2 threads.
    """
    cores = (
        len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count() or 1
    )
    quota = _cpu_quota(cgroup)
    return max(1, min(cores, quota)) if quota else cores


def use_cpu_cores(threads: int | None = None) -> int:
    """Size torch's CPU thread pool to ``threads``, or to :func:`usable_cores` unless ``OMP_NUM_THREADS`` says otherwise; returns the size."""
    if threads is None:
        if os.environ.get("OMP_NUM_THREADS"):
            return torch.get_num_threads()
        threads = usable_cores()
    torch.set_num_threads(threads)
    return threads


def prepare_process(threads: int | None = None) -> int:
    """Set up a process audiost owns (a command, a batch worker); returns torch's thread count.

    Sizes the thread pool (:func:`use_cpu_cores`) and spares the process
    the import of ``torch._dynamo``, which torch.optim's first optimiser
    triggers only to keep ``Optimizer.add_param_group`` out of
    ``torch.compile``'s tracing: 0.9 s of every cold command on the 2-core
    development machine, where a 2 s clip's whole transfer takes 1.5 s.
    These processes compile nothing, so there is nothing to keep out; a
    library caller's process is left as torch made it.
    """
    add_param_group = getattr(
        torch.optim.Optimizer.add_param_group, "__wrapped__", None
    )
    if add_param_group is not None:
        # torch._compile._disable_dynamo looks for this attribute on the
        # function it wraps and imports torch._dynamo only where it is missing.
        setattr(add_param_group, "__dynamo_disable", add_param_group)
    return use_cpu_cores(threads)


def _cpu_quota(cgroup: Path) -> int | None:
    """Whole CPUs allowed by a cgroup v2 ``cpu.max`` or v1 CFS quota; None if unlimited or unknown."""
    try:
        quota, period = (cgroup / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        try:
            quota = (cgroup / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (cgroup / "cpu" / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    try:
        allowed = int(quota) / int(period)
    except ValueError:  # "max": no limit
        return None
    return math.ceil(allowed) if allowed > 0 else None
