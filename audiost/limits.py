"""What one run may read: input limits, and memory sizes as users write them.

A sound designer's library holds the odd two-hour field recording or
64-channel session file; a transfer on it would run for hours or exhaust
memory half-way. Inputs over a limit are refused when read, with the option
that raises the limit. The memory check before work starts is
:mod:`audiost.memory`.
"""

from __future__ import annotations

import re

MAX_DURATION_S = 3600.0
MAX_CHANNELS = 16
MAX_MEGAPIXELS = 50.0
# Sample rates outside this range are corrupt headers or typos: 0 Hz divides
# by zero, 1 Hz makes resampling run for hours, 4 GHz crashes the resampler.
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 1000, 1_000_000
OOM_ADVICE = "try --optimizer adam, --mono, a smaller --max-size or a shorter input"

_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(i?)b?\s*", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}


def parse_bytes(text: str) -> int:
    """``"8G"``, ``"8GB"``, ``"1.5GiB"``, ``"512M"`` or ``"1000000"`` -> bytes.

    G, GB (and k, M, T) are decimal; GiB and friends are binary.
    """
    match = _SIZE.fullmatch(str(text))
    if not match:
        raise ValueError(f"cannot read memory size {text!r}; write e.g. 8G or 512M")
    number, unit, binary = match.groups()
    base = 1024 if binary else 1000
    value = float(number) * base ** _POWERS[unit.lower()]
    if not value >= 1:
        raise ValueError(f"memory size must be positive, got {text!r}")
    return int(value)


def format_bytes(count: float) -> str:
    """Bytes as a short decimal figure: ``"1.4 GB"``, ``"350 MB"``."""
    if count >= 1e9:
        return f"{count / 1e9:.1f} GB"
    return f"{max(count, 0) / 1e6:.0f} MB"


def check_memory_setting(value: str | None) -> None:
    """Validate a ``max_memory`` setting (None means: what the device has free)."""
    if value is not None:
        parse_bytes(value)


def reading_limits(max_duration: float, max_channels: int) -> dict[str, float]:
    """The keywords with which ``load_audio`` reads within a run's limits: its ``max_seconds`` is the settings' ``max_duration``."""
    return {"max_seconds": max_duration, "max_channels": max_channels}
