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
    path = Path(path)
    if path.is_file() and path.stat().st_size > 0:
        try:
            with Image.open(path):
                return "image"
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            pass
        try:
            with native_stderr_silenced():
                sf.info(path)
            return "audio"
        except (sf.LibsndfileError, RuntimeError, OSError):
            pass
    return "image" if path.suffix.lower() in IMAGE_SUFFIXES else "audio"
