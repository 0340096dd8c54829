"""The interface every feature network offers the engine.

A network takes a canvas batch shaped like an image, ``(N, C, H, W)``
(an audio canvas is ``(channels, 1, bins, frames)``), and returns the named
activations the losses ask for. The engine knows nothing else about it, so a
1-D spectral network, VGG on images and VGG on spectrograms are interchangeable.
"""

from __future__ import annotations

from collections.abc import Collection

import torch
from torch import nn


class FeatureNetwork(nn.Module):
    """Base class: fixed (non-trainable) network with named feature layers.

    Subclasses set :attr:`layer_names`, :attr:`content_layers` and
    :attr:`style_layers` (the defaults a user gets), :attr:`groups` and
    :attr:`centre_on_style` where they differ from the defaults, and
    implement :meth:`forward`.
    """

    layer_names: tuple[str, ...] = ()
    content_layers: tuple[str, ...] = ()
    style_layers: tuple[str, ...] = ()
    #: Channels of every layer come in this many independent groups (bands),
    #: each with its own style statistics.
    groups: int = 1
    #: Whether a pipeline feeds it the canvas minus the style's mean per row
    #: (:class:`AffineInput`).
    centre_on_style: bool = False
    #: For a network whose features at a frame (the last axis) read only the
    #: frames this far either side of it: a long canvas can then be analysed
    #: in blocks (:func:`~audiost.engine.blocks.statistics_in_blocks`). None
    #: when features are not local in time (VGG pools across the canvas).
    time_context: int | None = None

    def forward(
        self, canvas: torch.Tensor, layers: Collection[str]
    ) -> dict[str, torch.Tensor]:
        """Return ``{name: activations}`` for each requested layer."""
        raise NotImplementedError

    def row_weights(self) -> torch.Tensor | None:
        """How many times over the network reads each canvas row (frequency bin), at least 1; None if it reads every row alike.

        The level distribution weighs each bin's error by this, so no bin
        is pulled on by the network's features far harder than it is held: a log-frequency network reads one 65 Hz bin of a 44.1 kHz
        spectrogram as 14 inputs.
        """
        return None

    def check_layers(self, layers: Collection[str]) -> None:
        """Raise ``ValueError`` naming any layer this network does not have."""
        unknown = [name for name in layers if name not in self.layer_names]
        if unknown:
            raise ValueError(
                f"unknown layer(s) {', '.join(unknown)}; {type(self).__name__} has {', '.join(self.layer_names)}"
            )

    def pad_edges(self, mode: str) -> FeatureNetwork:
        """How every convolution pads the canvas: ``"zeros"`` (as built), ``"circular"``, ``"replicate"`` or ``"reflect"``.

        ``"circular"`` is for a canvas that loops (audio, over time) or
        tiles (images): the features at one edge see the other, as they
        will when the result is played round or laid side by side, so the
        statistics include the seam. A tiling picture has no edge, so its
        style's statistics are taken ``"replicate"``-padded (the edge
        pixels repeated), without the zeros' edge either: matched against
        a zero-padded picture's, it grew bright blotches to make up the
        energy of edges it does not have (HED VGG16, gravel at 256 px:
        conv5_1 style loss 0.028 against 0.0005 replicated; ``"reflect"``
        did as well but fails on a deep layer one pixel wide).
        """
        for module in self.modules():
            if isinstance(module, nn.Conv1d | nn.Conv2d) and any(module.padding):
                module.padding_mode = mode
        return self

    def freeze(self) -> FeatureNetwork:
        """Disable gradients for the weights: only the canvas is optimised."""
        self.eval()
        for parameter in self.parameters():
            parameter.requires_grad_(False)
        return self


class AffineInput(FeatureNetwork):
    """Another network fed ``(canvas - shift) * scale``, with its layers and defaults.

    Image networks expect values in [0, 1]; a log-magnitude canvas spans
    about 0 to 12, so a spectrogram is rescaled before a VGG looks at it.
    Networks with ``centre_on_style`` see the canvas minus the style's mean
    level per frequency bin, so their statistics describe how a sound varies
    around the style's spectrum rather than how loud it is.
    """

    def __init__(
        self,
        network: FeatureNetwork,
        scale: float = 1.0,
        shift: torch.Tensor | None = None,
    ):
        super().__init__()
        self.network = network
        self.scale = scale
        if shift is not None:
            self.register_buffer("shift", shift.detach())
        else:
            self.shift = None
        self.layer_names = network.layer_names
        self.content_layers = network.content_layers
        self.style_layers = network.style_layers
        self.groups = network.groups
        self.time_context = network.time_context

    def forward(
        self, canvas: torch.Tensor, layers: Collection[str]
    ) -> dict[str, torch.Tensor]:
        if self.shift is not None:
            canvas = canvas - self.shift
        return self.network(canvas * self.scale if self.scale != 1 else canvas, layers)

    def row_weights(self) -> torch.Tensor | None:
        return self.network.row_weights()
