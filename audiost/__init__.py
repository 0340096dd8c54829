"""audiost: neural style transfer for sound and pictures.

>>> import audiost
>>> result = audiost.transfer_audio("speech.wav", "music.wav", "out.wav", iters=50)  # doctest: +SKIP
>>> result = audiost.transfer_image("photo.jpg", "painting.png", "out.png")  # doctest: +SKIP
>>> summary = audiost.run_batch(["clips/"], ["music.wav"], "styled/", jobs=2)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .config import (
    AUDIO_PRESETS,
    IMAGE_PRESETS,
    AudioConfig,
    ImageConfig,
    audio_preset,
    image_preset,
)
from .errors import AudiostError, OutOfMemory

if TYPE_CHECKING:
    from .audio import AudioResult, AudioStylist, synthesize_audio, transfer_audio
    from .batch import BatchSummary, Recipe, resolve_recipe, run_batch
    from .image import ImageResult, ImageStylist, synthesize_image, transfer_image

# The pipelines import torch (1.5-4 s) and librosa; they are imported on
# first use, so that `audiost --help`, completion and the configuration
# classes answer at once (scripts/bench_startup.py).
_LAZY = {
    "AudioResult": "audio",
    "AudioStylist": "audio",
    "synthesize_audio": "audio",
    "transfer_audio": "audio",
    "ImageResult": "image",
    "ImageStylist": "image",
    "synthesize_image": "image",
    "transfer_image": "image",
    "BatchSummary": "batch",
    "Recipe": "batch",
    "resolve_recipe": "batch",
    "run_batch": "batch",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'audiost' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "AUDIO_PRESETS",
    "IMAGE_PRESETS",
    "AudioConfig",
    "AudioResult",
    "AudioStylist",
    "AudiostError",
    "BatchSummary",
    "ImageConfig",
    "ImageResult",
    "ImageStylist",
    "OutOfMemory",
    "Recipe",
    "audio_preset",
    "image_preset",
    "resolve_recipe",
    "run_batch",
    "synthesize_audio",
    "synthesize_image",
    "transfer_audio",
    "transfer_image",
]
__version__ = "0.1.0"
