"""Reading, checking and writing image files.

Decoding is Pillow's (PNG, JPEG, WebP, BMP, TIFF, GIF and more, recognised
by content, not by name). Every input becomes an upright RGB float32 array
``(H, W, 3)`` in [0, 1] plus its alpha ``(H, W)`` if it has one: EXIF
orientation is applied, and grayscale, palette, 1-bit, 16-bit and CMYK
images are converted, so nothing downstream cares where a picture came from.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from ..errors import AudiostError
from ..limits import MAX_MEGAPIXELS
from ..outputs import atomic_output
from ..provenance import RECORD_KEY, encode_record
from .audio_io import check_input_file

#: Output formats by suffix.
OUTPUT_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
#: Inputs larger than this are refused before decoding (decompression bombs, scans).
MAX_PIXELS = int(MAX_MEGAPIXELS * 1e6)
#: The smallest side the VGG features can see: four 2x2 poolings leave 1 px.
MIN_SIDE = 16

_JPEG_QUALITY = 95


@dataclass
class Picture:
    """An image as the pipeline uses it: RGB ``(H, W, 3)`` and optional alpha ``(H, W)``, float32 in [0, 1]."""

    rgb: np.ndarray
    alpha: np.ndarray | None = None

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``, Pillow's order."""
        return self.rgb.shape[1], self.rgb.shape[0]


def load_image(
    source: str | os.PathLike | Image.Image | np.ndarray,
    *,
    name: str | os.PathLike | None = None,
    max_pixels: int = MAX_PIXELS,
) -> Picture:
    """Read a file, Pillow image or array into a checked :class:`Picture`.

    Parameters
    ----------
    source : path, PIL.Image.Image or np.ndarray
        Arrays are ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)``
        (the 4th channel is alpha): uint8, uint16, or float in [0, 1].
        Animated images give their first frame.
    name : str or os.PathLike, optional
        What error messages call an in-memory image.
    max_pixels : int
        Refuse larger images, before decoding a file's pixel data.

    Raises
    ------
    AudiostError
        For missing, empty, unreadable, truncated or corrupt files, images
        over ``max_pixels`` or under :data:`MIN_SIDE` px a side, and
        arrays of the wrong shape, type or range.
    """
    if isinstance(source, np.ndarray):
        label = name or "<image array>"
        picture = _from_array(source, label, max_pixels)
    elif isinstance(source, Image.Image):
        label = name or "<image>"
        picture = _from_pil(source, label, max_pixels)
    else:
        label = name or source
        picture = _from_pil(_open(Path(source), max_pixels), label, max_pixels)
    width, height = picture.size
    if min(width, height) < MIN_SIDE:
        raise AudiostError(
            f"image too small: {width}x{height} px; at least {MIN_SIDE} px on each side is needed",
            label,
        )
    return picture


def image_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """``(width, height)`` from a file's header alone, or None if it cannot be read (loading it says why).

    Only a regular file is opened: opening a named pipe would block.
    """
    if not Path(path).is_file():
        return None
    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None


def _open(path: Path, max_pixels: int) -> Image.Image:
    check_input_file(path, "an image file")
    try:
        with warnings.catch_warnings():
            # Size is checked below against our own, lower limit.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            # Closing releases the file (multi-frame images keep it open);
            # the loaded first frame stays usable.
            with Image.open(path) as image:
                _check_pixels(image.size, path, max_pixels)
                image.load()
    except Image.DecompressionBombError as exc:
        raise AudiostError(
            f"image is too large to decode safely ({exc}); scale it down before styling it",
            path,
        ) from exc
    except UnidentifiedImageError as exc:
        raise AudiostError(
            "not a readable image (unknown format or corrupt); use PNG, JPEG, WebP, BMP or TIFF",
            path,
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise AudiostError(
            f"image data is truncated or corrupt ({exc}); re-export the image or use another file",
            path,
        ) from exc
    return image


def _check_pixels(
    size: tuple[int, int], name: str | os.PathLike, max_pixels: int
) -> None:
    width, height = size
    if width * height > max_pixels:
        raise AudiostError(
            f"image is {width}x{height} ({width * height / 1e6:.1f} megapixels); the limit is {max_pixels / 1e6:g}: raise it with --max-megapixels or downscale the image",
            name,
        )


def _from_pil(image: Image.Image, name: str | os.PathLike, max_pixels: int) -> Picture:
    _check_pixels(image.size, name, max_pixels)
    try:
        image = ImageOps.exif_transpose(image)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        warnings.warn(
            f"{name}: ignoring unreadable EXIF orientation ({exc})", stacklevel=3
        )
    alpha = None
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        alpha = (
            np.asarray(image.convert("RGBA").getchannel("A"), dtype=np.float32) / 255
        )
    if image.mode.startswith("I"):
        # 16- and 32-bit integer grayscale (I;16 PNG, I TIFF): Pillow's own
        # conversion to 8 bits clips instead of scaling.
        gray = np.asarray(image).astype(np.float64)
        gray /= 65535.0 if gray.max() <= 65535 else 2.0**31 - 1
        rgb = np.repeat(gray.astype(np.float32)[..., None], 3, axis=2)
    else:
        try:
            rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255
        except (ValueError, OSError) as exc:
            raise AudiostError(
                f"cannot convert colour mode {image.mode} to RGB ({exc})", name
            ) from exc
    return Picture(np.ascontiguousarray(np.clip(rgb, 0, 1)), alpha)


def _from_array(array: np.ndarray, name: str | os.PathLike, max_pixels: int) -> Picture:
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise AudiostError(
            f"expected an (H, W), (H, W, 3) or (H, W, 4) image array, got shape {array.shape}",
            name,
        )
    _check_pixels((array.shape[1], array.shape[0]), name, max_pixels)
    if array.dtype == np.uint8:
        values = array.astype(np.float32) / 255
    elif array.dtype == np.uint16:
        values = array.astype(np.float32) / 65535
    elif np.issubdtype(array.dtype, np.floating):
        values = array.astype(np.float32)
        if not np.isfinite(values).all():
            raise AudiostError("image array contains NaN or infinite values", name)
        if values.min() < -1e-3 or values.max() > 1 + 1e-3:
            raise AudiostError(
                f"float image values must lie in [0, 1], got [{values.min():.3g}, {values.max():.3g}]",
                name,
            )
        values = np.clip(values, 0, 1)
    else:
        raise AudiostError(
            f"unsupported image array type {array.dtype}; use uint8, uint16 or float in [0, 1]",
            name,
        )
    rgb = np.repeat(values, 3, axis=2) if values.shape[2] == 1 else values[..., :3]
    alpha = values[..., 3] if values.shape[2] == 4 else None
    return Picture(np.ascontiguousarray(rgb), alpha)


def write_image(
    path: str | os.PathLike, image: np.ndarray, record: dict[str, Any] | None = None
) -> Path:
    """Write a uint8 ``(H, W, 3)`` or ``(H, W, 4)`` image atomically as PNG or JPEG.

    JPEG has no alpha channel: write PNG to keep transparency. ``record``
    (:mod:`audiost.provenance`) goes in a PNG text chunk or the JPEG comment.
    """
    path = Path(path)
    fmt = OUTPUT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise AudiostError(
            f"unsupported output format; use one of {', '.join(OUTPUT_FORMATS)}", path
        )
    picture = Image.fromarray(image)
    options: dict[str, Any] = {"quality": _JPEG_QUALITY} if fmt == "JPEG" else {}
    if fmt == "JPEG":
        picture = picture.convert("RGB")
    if record is not None:
        text = encode_record(record)
        if fmt == "PNG":
            options["pnginfo"] = PngImagePlugin.PngInfo()
            options["pnginfo"].add_itxt(RECORD_KEY, text)
        else:
            options["comment"] = text.encode()
    with atomic_output(path) as tmp:
        picture.save(tmp, format=fmt, **options)
    return path


def read_text_tag(path: str | os.PathLike, key: str) -> str | None:
    """A picture's text chunk ``key`` (PNG) or its comment (JPEG), or None."""
    try:
        with Image.open(path) as picture:
            info = picture.info
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    value = info.get(key) or info.get("comment")
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
