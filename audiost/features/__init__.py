"""Feature networks: fixed CNNs whose activations define content and style."""

from .base import FeatureNetwork, RescaledInput
from .spectral_conv import RandomSpectralConv
from .vgg import VGG

__all__ = ["VGG", "FeatureNetwork", "RandomSpectralConv", "RescaledInput"]
