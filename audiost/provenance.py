"""What made an output, carried in the file itself: audiost's version and every setting.

Audio files keep the record as JSON in their comment tag (WAV, FLAC, AIFF,
OGG, MP3), pictures in a PNG text chunk or a JPEG comment, all under the
key ``audiost``. ``audiost info FILE`` prints it, and ``audiost transfer
--recipe FILE`` (or ``audiost texture --recipe FILE``) re-runs its
settings. Machine-bound settings (device, input limits) are left out, as in
a batch's ``recipe.toml``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .config import AudioConfig, ImageConfig, settings_table

RECORD_KEY = "audiost"


def make_record(
    config: AudioConfig | ImageConfig, command: str = "transfer", **measures: float
) -> dict[str, Any]:
    """The record an output carries: version, kind, the command that made it (``transfer`` or ``texture``), settings and what only the run knew (``measures``)."""
    from . import __version__

    kind = "audio" if isinstance(config, AudioConfig) else "image"
    return {
        RECORD_KEY: __version__,
        "kind": kind,
        "command": command,
        "settings": settings_table(config),
        **measures,
    }


def encode_record(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), sort_keys=True)


def decode_record(text: str | bytes | None) -> dict[str, Any] | None:
    """The record in a tag's text, or None if it holds none (another program's comment)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not text or not text.lstrip().startswith("{"):
        return None
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) and RECORD_KEY in record else None


def read_record(path: str | os.PathLike) -> dict[str, Any] | None:
    """The record an audiost output carries, or None (not ours, or written before records)."""
    from .media.kind import media_kind

    path = Path(path)
    if media_kind(path) == "audio":
        from .media.audio_io import read_comment

        return decode_record(read_comment(path))
    from .media.image_io import read_text_tag

    return decode_record(read_text_tag(path, RECORD_KEY))
