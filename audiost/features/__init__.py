"""Feature networks: fixed CNNs whose activations define content and style."""

from .base import AffineInput, FeatureNetwork
from .spectral_conv import BandedSpectralConv
from .vgg import VGG

__all__ = ["VGG", "AffineInput", "BandedSpectralConv", "FeatureNetwork"]
