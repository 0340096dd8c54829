"""Deciding whether a file is audio or an image, from its bytes first.

Extensions lie (a PNG saved as .jpg, an HTML page saved as .mp3), so the
decoders are asked first; the extension only decides which decoder reports
the error for a file that neither can read.
"""

from __future__ import annotations

import os
from pathlib import Path

import soundfile as sf
from PIL import Image, UnidentifiedImageError

from .audio_io import native_stderr_silenced

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"}


def media_kind(path: str | os.PathLike) -> str:
    """``"image"`` or ``"audio"``: what the file's content (or, failing that, its name) says it is."""
    return detect_kind(path) or "audio"


def detect_kind(path: str | os.PathLike) -> str | None:
    """``"image"``, ``"audio"``, or None for a file that is neither by content nor by name.

    A broken file with a media extension counts as that media, so that it is
    reported as broken rather than silently passed over.
    """
    path = Path(path)
    if path.is_file() and path.stat().st_size > 0:
        try:
            with Image.open(path):
                return "image"
        except (
            UnidentifiedImageError,
            OSError,
            ValueError,
            Image.DecompressionBombError,
        ):
            pass
        try:
            with native_stderr_silenced():
                sf.info(path)
            return "audio"
        except (sf.LibsndfileError, RuntimeError, OSError):
            pass
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    return "audio" if suffix in AUDIO_SUFFIXES else None
