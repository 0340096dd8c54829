"""The audio pipelines: style transfer and texture synthesis on spectrogram canvases."""

from .inputs import AudioInput
from .result import AudioResult
from .texture import synthesize_audio
from .transfer import AudioStylist, transfer_audio

__all__ = [
    "AudioInput",
    "AudioResult",
    "AudioStylist",
    "synthesize_audio",
    "transfer_audio",
]
