"""``--json``: one JSON object on stdout describing a finished run, for scripts.

Everything else a command says stays on stderr, so ``audiost transfer ...
--json | jq .measures.style_gain`` reads only this object.
"""

from __future__ import annotations

import json
import os
from typing import Any

import click

from .common import ALIASES


def print_json(
    result: Any,
    *,
    inputs: dict[str, Any],
    measures: dict[str, float | None],
    seconds: float,
) -> None:
    """Print the run as one line of JSON: its output, inputs, settings, timings, final losses and measures."""
    from .. import __version__
    from ..config import settings_table

    record = {
        "audiost": __version__,
        "kind": "audio" if hasattr(result, "sr") else "image",
        "output": _named(result.output),
        **{role: _named(value) for role, value in inputs.items()},
        "settings": settings_table(result.config),
        "device": result.device,
        "seconds": round(seconds, 3),
        "timings": {stage: round(t, 4) for stage, t in result.timings.items()},
        "final_losses": result.final_losses,
        "measures": measures,
        "warnings": result.warnings,
    }
    click.echo(json.dumps(record, default=str))


def _named(value: Any) -> Any:
    """A path as the user named it (``stdin`` for a piped input), lists of them alike."""
    if isinstance(value, (list, tuple)):
        return [_named(item) for item in value]
    if isinstance(value, (str, os.PathLike)):
        return ALIASES.get(os.fspath(value), os.fspath(value))
    return value
