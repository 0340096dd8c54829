"""Choosing the compute device."""

from __future__ import annotations

import time

import torch

from .errors import AudiostError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


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


def seconds_since(start: float, device: torch.device | None = None) -> float:
    """Wall time since ``start`` (a ``time.perf_counter()`` value), after the device's queued work is done.

    CUDA runs asynchronously: without the synchronisation a stage's time
    would land in whichever later stage first waits for a result.
    """
    if device is not None and device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start
