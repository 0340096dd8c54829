"""audiost: neural style transfer for sound and pictures.

>>> import audiost
>>> result = audiost.transfer_audio("speech.wav", "music.wav", "out.wav", iters=50)  # doctest: +SKIP
>>> result = audiost.transfer_image("photo.jpg", "painting.png", "out.png")  # doctest: +SKIP
"""

from .audio_transfer import AudioResult, transfer_audio
from .config import (
    IMAGE_PRESETS,
    PRESETS,
    AudioConfig,
    ImageConfig,
    audio_preset,
    image_preset,
)
from .errors import AudiostError
from .image_transfer import ImageResult, transfer_image

__all__ = [
    "IMAGE_PRESETS",
    "PRESETS",
    "AudioConfig",
    "AudioResult",
    "AudiostError",
    "ImageConfig",
    "ImageResult",
    "audio_preset",
    "image_preset",
    "transfer_audio",
    "transfer_image",
]
__version__ = "0.1.0"
