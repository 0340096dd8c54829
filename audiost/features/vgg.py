"""VGG16 / VGG19 convolution stacks: the classic features for image style transfer.

Gatys, Ecker & Bethge (2016) match Gram matrices of VGG19 activations for
style and raw activations for content. The layers are built in torchvision's
``features.N`` layout so its published ImageNet weights (and any state dict
saved from ``torchvision.models.vgg19().features``) load unchanged, without
depending on torchvision. Activations are post-ReLU and named ``convB_I``
(block ``B``, convolution ``I``), as in the paper.

A 1-channel canvas is repeated to RGB, so the same network can read
spectrograms (Verma & Smith 2018).
"""

from __future__ import annotations

import math
import os
import pickle
import re
import warnings
import zipfile
from collections.abc import Collection, Mapping
from pathlib import Path

import torch
from torch import nn

from ..errors import AudiostError
from .base import FeatureNetwork

#: Convolutions per block (each block ends with a 2x2 pooling layer).
BLOCKS: dict[str, tuple[int, ...]] = {
    "vgg16": (2, 2, 3, 3, 3),
    "vgg19": (2, 2, 4, 4, 4),
}
_WIDTHS = (64, 128, 256, 512, 512)

#: torchvision's ImageNet weights; the hex after the dash is the sha256 prefix.
WEIGHT_URLS = {
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "vgg19": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
}
#: Environment variable naming a local state dict, used when ``weights`` is not given.
WEIGHTS_ENV = "AUDIOST_WEIGHTS"

# torchvision's input normalisation for ImageNet-trained networks.
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)
_KEY = re.compile(r"(\d+)\.(weight|bias)")


class VGG(FeatureNetwork):
    """Fixed VGG convolution stack returning post-ReLU activations by name.

    Parameters
    ----------
    net : {"vgg19", "vgg16"}
    weights : path, "random" or None
        A local state dict; ``"random"`` for He-initialised filters fixed by
        ``seed`` (no file needed, useful for tests and as a texture
        baseline); ``None`` for ``$AUDIOST_WEIGHTS`` if set, else the
        ImageNet weights, downloaded once into ``torch.hub.get_dir()``.
    pooling : {"max", "avg"}
        Gatys et al. report smoother results with average pooling.
    seed : int
        Seed of the random filters when ``weights="random"``.

    Notes
    -----
    The canvas is RGB in [0, 1], ``(N, 3, H, W)`` or ``(N, 1, H, W)``; the
    ImageNet normalisation happens inside. Only the layers up to the deepest
    requested one are computed.
    """

    content_layers = ("conv4_2",)
    style_layers = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")

    def __init__(
        self,
        net: str = "vgg19",
        weights: str | os.PathLike | None = None,
        *,
        pooling: str = "max",
        seed: int = 0,
    ):
        super().__init__()
        if net not in BLOCKS:
            raise ValueError(f"net must be one of {', '.join(BLOCKS)}, got {net!r}")
        if pooling not in ("max", "avg"):
            raise ValueError(f"pooling must be 'max' or 'avg', got {pooling!r}")
        self.net = net
        self.features, self.layer_index = _build(BLOCKS[net], pooling)
        self.layer_names = tuple(self.layer_index)
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1))
        if weights is None:
            weights = os.environ.get(WEIGHTS_ENV) or imagenet_weights(net)
        if weights == "random":
            self._randomise(seed)
        else:
            self.features.load_state_dict(load_vgg_state(weights, net))
        self.freeze()

    def forward(
        self, canvas: torch.Tensor, layers: Collection[str]
    ) -> dict[str, torch.Tensor]:
        if canvas.shape[1] == 1:
            canvas = canvas.expand(-1, 3, -1, -1)
        x = (canvas - self.mean) / self.std
        wanted = {self.layer_index[name]: name for name in layers}
        out: dict[str, torch.Tensor] = {}
        for index, layer in enumerate(self.features):
            if len(out) == len(wanted):
                break
            x = layer(x)
            if index in wanted:
                out[wanted[index]] = x
        return out

    def _randomise(self, seed: int) -> None:
        generator = torch.Generator().manual_seed(seed)
        for layer in self.features:
            if isinstance(layer, nn.Conv2d):
                # He initialisation keeps activation scales steady with depth,
                # so deep layers still carry signal without training.
                fan_in = layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1]
                layer.weight.data = torch.randn(
                    layer.weight.shape, generator=generator
                ) * math.sqrt(2.0 / fan_in)
                layer.bias.data.zero_()


def _build(
    blocks: tuple[int, ...], pooling: str
) -> tuple[nn.Sequential, dict[str, int]]:
    """Layers in torchvision's order, and each ``convB_I`` name's ReLU index.

    Loaded or randomised weights replace the convolutions' default
    initialisation (0.09 s for VGG19 here). ``nn.utils.skip_init`` would skip
    it, but its first use imports sympy (0.3 s of a cold command).
    """
    layers: list[nn.Module] = []
    names: dict[str, int] = {}
    for name, index, channels, width in _convolutions(blocks):
        while len(layers) < index:
            layers.append(
                nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2)
            )
        layers += [
            nn.Conv2d(channels, width, 3, padding=1),
            nn.ReLU(inplace=True),
        ]
        names[name] = index + 1
    layers.append(nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2))
    return nn.Sequential(*layers), names


def _convolutions(blocks: tuple[int, ...]) -> list[tuple[str, int, int, int]]:
    """``(name, torchvision index, in channels, out channels)`` of each convolution."""
    convolutions = []
    index, channels = 0, 3
    for block, (count, width) in enumerate(zip(blocks, _WIDTHS, strict=True), start=1):
        for i in range(1, count + 1):
            convolutions.append((f"conv{block}_{i}", index, channels, width))
            index, channels = index + 2, width  # a convolution and its ReLU
        index += 1  # the block's pooling layer
    return convolutions


def _shapes(blocks: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """State dict keys (without ``features.``) and shapes of a VGG's convolutions."""
    shapes: dict[str, tuple[int, ...]] = {}
    for _, index, channels, width in _convolutions(blocks):
        shapes[f"{index}.weight"] = (width, channels, 3, 3)
        shapes[f"{index}.bias"] = (width,)
    return shapes


def layer_stride(name: str) -> int:
    """Pixels per position of layer ``convB_I``: each block before ``B`` halves the resolution."""
    return 2 ** (int(name[4]) - 1)


def vgg_layer_names(net: str) -> tuple[str, ...]:
    """``("conv1_1", ..., "conv5_3" or "conv5_4")``: the named layers of ``net``, known without building it."""
    return tuple(name for name, *_ in _convolutions(BLOCKS[net]))


def imagenet_weights(net: str) -> Path:
    """The cached ImageNet weights for ``net``, downloading them on first use.

    Raises
    ------
    AudiostError
        If they are not cached and cannot be downloaded, saying how to get
        or supply them.
    """
    url = WEIGHT_URLS[net]
    path = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[1]
    if path.is_file():
        return path
    hash_prefix = path.stem.rsplit("-", 1)[1]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(
            url, os.fspath(path), hash_prefix=hash_prefix, progress=True
        )
    except (OSError, RuntimeError) as exc:
        raise AudiostError(
            f"the {net} ImageNet weights are not cached in {path.parent} and could not be downloaded ({exc}); "
            f"connect to the internet once, or pass --weights PATH / set {WEIGHTS_ENV} to a local {net} state dict"
        ) from exc
    return path


def load_vgg_state(path: str | os.PathLike, net: str) -> dict[str, torch.Tensor]:
    """Read a VGG state dict for ``net``'s ``features`` stack as float32.

    Keys may carry torchvision's ``features.`` prefix or not; ``classifier.``
    keys are ignored, so a full ``vgg19().state_dict()`` loads too.

    Raises
    ------
    AudiostError
        If the file is missing, not a torch checkpoint, holds something other
        than tensors, or does not fit ``net`` (naming the first bad key).
    """
    path = Path(path)
    if not path.is_file():
        raise AudiostError(
            "weights file not found; check the path, or leave out --weights (and AUDIOST_WEIGHTS) for the ImageNet weights"
            if not path.exists()
            else "weights path is not a file; pass the .pth file itself",
            path,
        )
    try:
        with warnings.catch_warnings():
            # torch warns about pickle protocols before failing on non-checkpoints.
            warnings.simplefilter("ignore")
            state = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        if "Unsupported global" in str(exc):
            raise AudiostError(
                "weights file holds pickled Python objects, not a state dict of tensors; save model.state_dict()",
                path,
            ) from exc
        raise AudiostError(
            "not a torch checkpoint (cannot unpickle it); pass a .pth state dict of VGG weights",
            path,
        ) from exc
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError) as exc:
        raise AudiostError(
            f"not a readable torch checkpoint, truncated or corrupt? ({str(exc).split('. ')[0]}); download or save it again",
            path,
        ) from exc
    if not isinstance(state, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise AudiostError(
            "weights file does not hold a state dict (a mapping of names to tensors); save model.state_dict()",
            path,
        )
    tensors: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key.startswith("classifier."):
            continue
        short = key.removeprefix("features.")
        if not _KEY.fullmatch(short):
            raise AudiostError(
                f"weights do not fit {net}: unexpected key {key!r}", path
            )
        tensors[short] = value.float() if value.is_floating_point() else value
    expected = _shapes(BLOCKS[net])
    for key, shape in expected.items():
        if key not in tensors:
            raise AudiostError(
                f"weights do not fit {net}: missing features.{key}{_guess(tensors, net)}",
                path,
            )
        if tuple(tensors[key].shape) != shape:
            raise AudiostError(
                f"weights do not fit {net}: features.{key} has shape {tuple(tensors[key].shape)}, expected {shape}",
                path,
            )
    extra = sorted(set(tensors) - set(expected), key=lambda k: int(k.split(".")[0]))
    if extra:
        raise AudiostError(
            f"weights do not fit {net}: unexpected key features.{extra[0]}{_guess(tensors, net)}",
            path,
        )
    return tensors


def _guess(tensors: Mapping[str, torch.Tensor], net: str) -> str:
    """A hint when the keys are exactly the other VGG's."""
    for other, blocks in BLOCKS.items():
        if other != net and set(tensors) == set(_shapes(blocks)):
            return f" (these are {other} weights: use net={other}, --net {other})"
    return ""
