"""audiost: neural style transfer for sound and pictures.

>>> import audiost
>>> result = audiost.transfer_audio("speech.wav", "music.wav", "out.wav", iters=50)  # doctest: +SKIP
>>> result = audiost.transfer_image("photo.jpg", "painting.png", "out.png")  # doctest: +SKIP
>>> summary = audiost.run_batch(["clips/"], ["music.wav"], "styled/", jobs=2)  # doctest: +SKIP
"""

from .audio import AudioResult, AudioStylist, synthesize_audio, transfer_audio
from .batch import BatchSummary, Recipe, resolve_recipe, run_batch
from .config import (
    AUDIO_PRESETS,
    IMAGE_PRESETS,
    AudioConfig,
    ImageConfig,
    audio_preset,
    image_preset,
)
from .errors import AudiostError
from .image import ImageResult, ImageStylist, synthesize_image, transfer_image

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
