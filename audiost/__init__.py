"""audiost: neural style transfer for sound and pictures.

>>> import audiost
>>> result = audiost.transfer_audio("speech.wav", "music.wav", "out.wav", preset="fast")  # doctest: +SKIP
"""

from .audio_transfer import AudioResult, transfer_audio
from .config import PRESETS, AudioConfig, audio_preset
from .errors import AudiostError

__all__ = ["PRESETS", "AudioConfig", "AudioResult", "AudiostError", "audio_preset", "transfer_audio"]
__version__ = "0.1.0"

from .config import IMAGE_PRESETS, ImageConfig, image_preset
from .image_transfer import ImageResult, transfer_image

__all__ += ["IMAGE_PRESETS", "ImageConfig", "ImageResult", "image_preset", "transfer_image"]
