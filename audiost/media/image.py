"""Image media adapter: picture arrays <-> the canvas the engine optimises.

The canvas is the image itself, ``(1, C, H, W)`` float in [0, 1] (``C`` is 3
for RGB, 1 for luminance-only transfer), so unlike audio there is nothing to
invert afterwards. Resizing is Pillow's Lanczos filter on float channels, so
16-bit inputs keep their precision until the final 8-bit output.

The colour helpers implement the two colour-preserving variants of Gatys,
Bethge, Hertzmann & Shechtman (2016), "Preserving color in neural artistic
style transfer": luminance-only transfer (in YIQ) and matching the style's
colour mean and covariance to the content's.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from .image_io import MIN_SIDE

# NTSC YIQ: Y is the luminance Gatys et al. transfer; I and Q carry colour.
_RGB_TO_YIQ = np.array(
    [
        [0.299, 0.587, 0.114],
        [0.595716, -0.274453, -0.321263],
        [0.211456, -0.522591, 0.311135],
    ],
    dtype=np.float64,
)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ)
_EPS = 1e-8


def fit_size(
    size: tuple[int, int], long_side: float, *, upscale: bool = False
) -> tuple[int, int]:
    """``(width, height)`` scaled so the long side is ``long_side``, keeping the aspect ratio.

    Never below :data:`MIN_SIDE` on the short side, even if the long side
    must then exceed ``long_side`` (a 60x3000 strip at 512 px becomes
    16x800, not 10x512): the features need 16 px. Without ``upscale`` an
    image is only ever shrunk.
    """
    width, height = size
    scale = long_side / max(width, height)
    if not upscale:
        scale = min(scale, 1.0)
    scale = max(scale, MIN_SIDE / min(width, height))
    return max(MIN_SIDE, round(width * scale)), max(MIN_SIDE, round(height * scale))


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Lanczos-resize ``(H, W)`` or ``(H, W, C)`` float32 to ``size`` = ``(width, height)``, kept in [0, 1]."""
    if (image.shape[1], image.shape[0]) == tuple(size):
        return image
    planes = image[..., None] if image.ndim == 2 else image
    resized = [
        Image.fromarray(np.ascontiguousarray(planes[..., c], dtype=np.float32)).resize(
            size, Image.Resampling.LANCZOS
        )
        for c in range(planes.shape[2])
    ]
    out = np.stack([np.asarray(plane) for plane in resized], axis=2)
    # Lanczos overshoots at edges; the canvas range is [0, 1].
    out = np.clip(out, 0.0, 1.0).astype(np.float32)
    return out[..., 0] if image.ndim == 2 else out


def to_canvas(image: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """``(H, W)`` luminance or ``(H, W, 3)`` RGB -> canvas ``(1, C, H, W)`` on ``device``."""
    planes = image[..., None] if image.ndim == 2 else image
    return torch.as_tensor(
        np.ascontiguousarray(planes.transpose(2, 0, 1)),
        dtype=torch.float32,
        device=device,
    ).unsqueeze(0)


def from_canvas(canvas: torch.Tensor) -> np.ndarray:
    """Canvas ``(1, C, H, W)`` -> ``(H, W, C)``, or ``(H, W)`` when ``C`` is 1, float32 in [0, 1]."""
    image = canvas.detach()[0].clamp(0, 1).permute(1, 2, 0).cpu().numpy()
    return image[..., 0] if image.shape[2] == 1 else image


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float in [0, 1] -> uint8, rounded."""
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)


def rgb_to_yiq(rgb: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` RGB -> YIQ; Y is in [0, 1]."""
    return (rgb.astype(np.float64) @ _RGB_TO_YIQ.T).astype(np.float32)


def yiq_to_rgb(yiq: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` YIQ -> RGB clipped to [0, 1]."""
    return np.clip(yiq.astype(np.float64) @ _YIQ_TO_RGB.T, 0, 1).astype(np.float32)


def match_luminance(source: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Shift and scale ``source`` luminance to the mean and spread of ``reference``'s.

    Luminance-only transfer does this to the style first, so the output's
    brightness follows the content rather than the painting.
    """
    scaled = (source - source.mean()) * (
        reference.std() / max(float(source.std()), _EPS)
    ) + reference.mean()
    return np.clip(scaled, 0, 1).astype(np.float32)


def match_colour(source: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Affinely recolour ``(H, W, 3)`` ``source`` to ``reference``'s colour mean and covariance.

    Uses ``x' = A (x - mu_s) + mu_r`` with ``A = Sigma_r^(1/2) Sigma_s^(-1/2)``
    (symmetric square roots), Gatys et al.'s "image analogies" variant: it
    changes the palette without rotating hues more than needed.
    """
    src = source.reshape(-1, 3).astype(np.float64)
    ref = reference.reshape(-1, 3).astype(np.float64)
    # The ridge keeps a gray (rank-1 covariance) source invertible.
    a = _sqrtm(np.cov(ref, rowvar=False)) @ np.linalg.inv(
        _sqrtm(np.cov(src, rowvar=False) + 1e-5 * np.eye(3))
    )
    out = (src - src.mean(0)) @ a.T + ref.mean(0)
    return np.clip(out, 0, 1).reshape(source.shape).astype(np.float32)


def transfer_palette(
    source: np.ndarray, reference: np.ndarray, *, rounds: int = 12, seed: int = 0
) -> np.ndarray:
    """Recolour ``(H, W, 3)`` ``source`` so its colour distribution becomes ``reference``'s (any ``(..., 3)``), layout kept.

    Iterative distribution transfer (Pitié, Kokaram & Dahyot 2007): each
    round matches the 1-D histograms of both colour clouds along three
    random orthogonal axes. Unlike :func:`match_colour` (mean and covariance
    only), a painting's few flat colours come out as a few flat colours.
    Written here because no dependency does it (scikit-image matches
    channels one at a time, which mixes hues).
    """
    rng = np.random.default_rng(seed)
    out = source.reshape(-1, 3).astype(np.float64)
    ref = reference.reshape(-1, 3).astype(np.float64)
    levels = np.linspace(0, 1, 256)
    for _ in range(rounds):
        axes, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        projected, target = out @ axes, ref @ axes
        for k in range(3):
            order = np.argsort(projected[:, k])
            ranks = np.empty(len(order))
            ranks[order] = np.linspace(0, 1, len(order))
            wanted = np.interp(ranks, levels, np.quantile(target[:, k], levels))
            projected[:, k] = wanted
        out = projected @ axes.T
    return np.clip(out, 0, 1).reshape(source.shape).astype(np.float32)


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a covariance (negative rounding-error eigenvalues cut to 0)."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
