"""The image pipelines: style transfer and texture synthesis on RGB canvases."""

from .inputs import ImageInput
from .result import ImageResult
from .texture import synthesize_image
from .transfer import ImageStylist, transfer_image

__all__ = [
    "ImageInput",
    "ImageResult",
    "ImageStylist",
    "synthesize_image",
    "transfer_image",
]
