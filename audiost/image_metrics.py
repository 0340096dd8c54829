"""Network-free measures of an image transfer: did the palette and the texture move toward the painting?

The VGG measures of :mod:`audiost.evaluate` judge a result with the kind of
features it was optimised on; these do not, so they judge any network (and
the baseline) fairly, as log-mel statistics do for audio. Both look at the
pictures at one fixed analysis size (:data:`ANALYSIS_SIDE` on the long side),
relative to the picture: brush strokes that grow with the picture count at
every size, a fine grain on a large photo does not (it is below the
analysis's resolution, as it is to a viewer looking at the whole picture).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

#: Long side, in pixels, every picture is measured at.
ANALYSIS_SIDE = 256
#: Long side at which the layout (content structure) is compared.
STRUCTURE_SIDE = 64
_LEVELS = 4
_QUANTILES = np.linspace(0.05, 0.95, 19)
#: Gradients below one 8-bit step are quantisation, not texture.
_GRADIENT_FLOOR = 1 / 255
_DIRECTIONS = 32


def analysis_view(image: np.ndarray, side: int = ANALYSIS_SIDE) -> np.ndarray:
    """``(H, W, 3)`` float RGB in [0, 1] box-filtered to ``side`` px on the long side (never enlarged, never under 4 px)."""
    return _box_resized(image, _view_shape(image, side))


def _view_shape(image: np.ndarray, side: int) -> tuple[int, int]:
    height, width = image.shape[:2]
    scale = min(1.0, side / max(height, width))
    # At least 4 px a side, so a 60x3000 strip still has gradients to take.
    return max(4, round(height * scale)), max(4, round(width * scale))


def _box_resized(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``image``'s RGB box-filtered to ``shape`` = (rows, columns), in float32."""
    if image.shape[:2] == shape:  # as the filter gives it: float32, no alpha
        return np.asarray(image[..., :3], np.float32)
    planes = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(image[..., c], np.float32)).resize(
                shape[::-1], Image.Resampling.BOX
            )
        )
        for c in range(3)
    ]
    return np.stack(planes, axis=2)


def texture_statistics(image: np.ndarray) -> np.ndarray:
    """Quantiles of log gradient magnitudes in four orientations at four octaves of the luminance.

    Flat fields with sharp lines (a poster), a busy photo texture and broad
    brush strokes have different distributions at each octave, whatever
    their layout (a texture statistic, as a Gram matrix is).
    """
    luminance = analysis_view(image) @ np.array([0.299, 0.587, 0.114], np.float32)
    rows = []
    for _ in range(_LEVELS):
        responses = (
            luminance[:, 1:] - luminance[:, :-1],
            luminance[1:, :] - luminance[:-1, :],
            luminance[1:, 1:] - luminance[:-1, :-1],
            luminance[1:, :-1] - luminance[:-1, 1:],
        )
        rows += [
            np.quantile(np.log(np.abs(r) + _GRADIENT_FLOOR), _QUANTILES)
            for r in responses
        ]
        height, width = (s // 2 * 2 for s in luminance.shape)
        if min(height, width) < 4:
            break
        luminance = (
            luminance[:height:2, :width:2]
            + luminance[1:height:2, :width:2]
            + luminance[:height:2, 1:width:2]
            + luminance[1:height:2, 1:width:2]
        ) / 4
    return np.concatenate(rows)


def texture_distance(a: np.ndarray, b: np.ndarray) -> float:
    """RMS difference of two pictures' :func:`texture_statistics` (natural-log units; 0 = same texture)."""
    return _texture_gap(texture_statistics(a), texture_statistics(b))


def _texture_gap(stats_a: np.ndarray, stats_b: np.ndarray) -> float:
    count = min(len(stats_a), len(stats_b))  # a tiny picture has fewer octaves
    return float(np.sqrt(np.mean((stats_a[:count] - stats_b[:count]) ** 2)))


def palette_statistics(image: np.ndarray) -> np.ndarray:
    """Percentiles of the picture's colours projected on fixed random directions: its palette as sorted 1-D slices."""
    directions = np.random.default_rng(0).normal(size=(3, _DIRECTIONS))
    directions /= np.linalg.norm(directions, axis=0)
    colours = analysis_view(image).reshape(-1, 3) @ directions
    return np.quantile(colours, np.linspace(0, 1, 101), axis=0)


def palette_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Sliced Wasserstein distance between two pictures' colour distributions (RGB, 0..1 scale).

    The mean over fixed random directions of the distance between the sorted
    projections: it sees a palette of a few flat colours as different from
    one smooth spread with the same mean and covariance.
    """
    return _palette_gap(palette_statistics(a), palette_statistics(b))


def _palette_gap(stats_a: np.ndarray, stats_b: np.ndarray) -> float:
    return float(np.mean(np.abs(stats_a - stats_b)))


def structure_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two pictures' edge maps at :data:`STRUCTURE_SIDE` px (1 = the same layout of light and dark, about 0 = unrelated).

    The gradient magnitude of the luminance, seen small enough that brush
    strokes do not count and large enough that the shapes of a photo do: a
    content measure that needs no network and sees a photo washed away by a
    flat painting, which deep features can miss.
    """
    # One grid for both, each picture filtered to it once: two sizes of one
    # picture round to different small sizes (451x300 -> 64x43, its 256x170
    # copy -> 64x42), and maps cropped to a common size drift a pixel apart
    # toward one edge, which cost the cat 0.19 of its score against itself.
    grid = min(
        (_view_shape(image, STRUCTURE_SIDE) for image in (a, b)),
        key=lambda shape: shape[0] * shape[1],
    )
    maps = []
    for image in (a, b):
        luminance = _box_resized(image, grid) @ np.array(
            [0.299, 0.587, 0.114], np.float32
        )
        rows, columns = np.gradient(luminance)
        maps.append(np.hypot(rows, columns))
    first, second = (m.ravel() for m in maps)
    if first.std() == 0 or second.std() == 0:
        return 0.0
    return float(np.corrcoef(first, second)[0, 1])


def tile_seam(image: np.ndarray) -> float:
    """How visible the edges are where copies of ``image`` ``(H, W, 3)`` meet side by side or one above another: about 1 is no seam.

    The mean colour step from the last column to the first (and the last
    row to the first) over the median step between two neighbouring
    columns (rows) inside, the larger of the two. Textures cut at their
    edges measured 1.15 to 1.33 at 256 px, as large as their most abrupt
    line inside or larger; tiles 1.01 to 1.10 (docs/quality.md). Mild on
    a busy picture, where two unrelated pixels differ little more than
    two neighbours: the eye sees a seam as a line running on.
    """
    image = np.asarray(image, dtype=np.float32)
    ratios = []
    for axis in (0, 1):
        first, last = np.take(image, 0, axis=axis), np.take(image, -1, axis=axis)
        seam = np.abs(first - last).mean()
        median = float(np.median(line_steps(image, axis)))
        ratios.append(float(seam / max(median, 1e-6)))
    return max(ratios)


def line_steps(image: np.ndarray, axis: int) -> np.ndarray:
    """The mean colour step between each two neighbouring rows (``axis`` 0) or columns (1) of ``image`` ``(H, W, 3)``."""
    image = np.asarray(image, dtype=np.float32)
    return np.abs(np.diff(image, axis=axis)).mean(axis=(1 - axis, 2))


@dataclass(frozen=True)
class PictureStatistics:
    """A picture's palette and gradient statistics (:func:`picture_statistics`): what its distances are measured on.

    A pair's serve every output measured against it (:func:`profile_image_measures`):
    the palette's quantiles took 0.09 s a picture at 512 px here, a fifth
    of an output's measures.
    """

    palette: np.ndarray
    texture: np.ndarray


def picture_statistics(image: np.ndarray) -> PictureStatistics:
    """``image``'s :func:`palette_statistics` and :func:`texture_statistics`."""
    return PictureStatistics(palette_statistics(image), texture_statistics(image))


def image_measures(
    content: np.ndarray, style: np.ndarray, output: np.ndarray
) -> dict[str, float]:
    """Palette and texture gains (0 = the content's, 1 = the style's), the distances behind them, and the structure kept."""
    return profile_image_measures(
        content, picture_statistics(content), picture_statistics(style), output
    )


def profile_image_measures(
    content: np.ndarray,
    of_content: PictureStatistics,
    of_style: PictureStatistics,
    output: np.ndarray,
) -> dict[str, float]:
    """:func:`image_measures` against the content's and style's statistics, taken once."""
    from .metrics import relative_gain

    measures = {"structure_kept": structure_correlation(content, output)}
    of_output = picture_statistics(output)
    for name, gap in (("palette", _palette_gap), ("texture", _texture_gap)):
        before = gap(getattr(of_content, name), getattr(of_style, name))
        after = gap(getattr(of_output, name), getattr(of_style, name))
        measures[f"{name}_gain"] = relative_gain(before, after)
        measures[f"{name}_distance_content"] = before
        measures[f"{name}_distance_output"] = after
    return measures
