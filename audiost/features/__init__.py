"""Feature networks: fixed CNNs whose activations define content and style."""

from .base import FeatureNetwork
from .spectral_conv import RandomSpectralConv

__all__ = ["FeatureNetwork", "RandomSpectralConv"]

from .vgg import VGG

__all__ += ["VGG"]
