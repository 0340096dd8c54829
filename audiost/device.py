"""Choosing the compute device."""

from __future__ import annotations

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
        raise AudiostError(f"unknown device {name!r}; use one of {', '.join(DEVICE_CHOICES)}")
    if kind == "cuda" and not torch.cuda.is_available():
        raise AudiostError("--device cuda: no CUDA GPU is available to this torch build; use --device cpu or auto")
    if kind == "mps" and not torch.backends.mps.is_available():
        raise AudiostError("--device mps: Apple MPS is not available here; use --device cpu or auto")
    return torch.device(name)
