"""Image inputs: files, arrays or PIL images, what messages call them, and the default output name."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from ..outputs import default_output_path

ImageInput = str | os.PathLike | np.ndarray | Image.Image


def default_image_output(
    content: str | os.PathLike, styles: str | os.PathLike | Sequence[str | os.PathLike]
) -> Path:
    """``<content-stem>_x_<style-stem>.png`` (stems of several styles joined by ``+``) in the current directory."""
    return default_output_path(content, as_list(styles), ".png")


def image_input_name(source: ImageInput, role: str) -> str:
    """What messages call an input: its path, or ``<role image>`` for an array or picture."""
    return (
        os.fspath(source)
        if isinstance(source, (str, os.PathLike))
        else f"<{role} image>"
    )


def as_list(styles: ImageInput | Sequence[ImageInput]) -> list[ImageInput]:
    if isinstance(styles, (str, os.PathLike, np.ndarray, Image.Image)):
        return [styles]
    return list(styles)
