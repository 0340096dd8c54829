"""The network-free image measures: palette and texture, seen at one analysis size relative to the picture."""

from __future__ import annotations

import numpy as np
import pytest

from audiost.image_metrics import (
    analysis_view,
    image_measures,
    palette_distance,
    structure_correlation,
    texture_distance,
)
from audiost.media.image import resize
from audiost.media.image_io import load_image

from .conftest import CORPUS, needs_corpus

pytestmark = needs_corpus


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return load_image(CORPUS / "photo_sheep_pasture_1138x665.jpg").rgb


@pytest.fixture(scope="module")
def painting() -> np.ndarray:
    return load_image(CORPUS / "painting_hokusai_poppies_655x449.png").rgb


def test_the_ends_of_the_scale(photo, painting):
    assert image_measures(photo, painting, photo)["palette_gain"] == 0
    measures = image_measures(photo, painting, painting)
    assert measures["palette_gain"] == 1 and measures["texture_gain"] == 1


def test_palette_ignores_layout_but_sees_colour(photo):
    assert palette_distance(photo, photo[::-1, ::-1]) < 0.01
    assert palette_distance(photo, photo[..., ::-1]) > 0.05, (
        "a channel swap went unseen"
    )


def test_texture_ignores_layout_but_sees_smoothing(photo):
    assert texture_distance(photo, photo[::-1, ::-1]) < 0.05
    blurred = resize(resize(photo, (71, 41)), (1138, 665))
    assert texture_distance(photo, blurred) > 5 * texture_distance(
        photo, photo[::-1, ::-1]
    )


def test_a_fine_grain_counts_less_than_strokes_of_the_pictures_scale(photo):
    """At 1138 px, one-pixel grain is below the analysis size; grain 8 px wide is not."""
    rng = np.random.default_rng(1)
    height, width = photo.shape[:2]
    fine = rng.normal(0, 0.1, (height, width, 1))
    coarse = np.repeat(
        np.repeat(rng.normal(0, 0.1, (height // 8 + 1, width // 8 + 1, 1)), 8, 0), 8, 1
    )[:height, :width]
    grainy, stroked = (
        np.clip(photo + g, 0, 1).astype(np.float32) for g in (fine, coarse)
    )
    assert texture_distance(photo, stroked) > 2 * texture_distance(photo, grainy)


def test_analysis_view_keeps_the_aspect_and_never_enlarges(photo):
    assert analysis_view(photo).shape == (150, 256, 3)
    small = photo[:100, :120]
    assert analysis_view(small).shape == small.shape
    # A picture already small enough is not filtered, and still comes back as RGB in float32.
    with_alpha = np.dstack([small, np.ones(small.shape[:2])])
    assert analysis_view(with_alpha).shape == small.shape
    assert analysis_view(with_alpha).dtype == np.float32


def test_structure_sees_the_layout_not_the_colours(photo, painting):
    assert structure_correlation(photo, photo) == pytest.approx(1.0)
    assert structure_correlation(photo, photo[..., ::-1]) > 0.9, (
        "a recolouring moved the edges"
    )
    assert abs(structure_correlation(photo, painting)) < 0.2
    assert structure_correlation(photo, photo[::-1, ::-1]) < 0.3, (
        "a turned photo kept its layout"
    )


def test_structure_compares_two_sizes_of_one_picture_on_one_grid():
    # 451x300 and its 256x170 copy round to 64x43 and 64x42 at the measure's
    # size; cropped to a common size the two maps drifted apart (0.81).
    cat = load_image(CORPUS / "photo_chelsea_cat_451x300.png").rgb
    for size in ((256, 170), (333, 221), (160, 106)):
        assert structure_correlation(cat, resize(cat, size)) > 0.97, size
        assert structure_correlation(resize(cat, size), cat) > 0.97, size


def test_the_palette_start_takes_the_paintings_colours_and_keeps_the_layout(
    photo, painting
):
    from audiost.media.image import transfer_palette

    small = resize(photo, (256, 150))
    recoloured = transfer_palette(small, painting)
    assert palette_distance(recoloured, painting) < 0.2 * palette_distance(
        small, painting
    )
    # Its layout survives, if shaken: a colour that was light may come out dark.
    assert structure_correlation(small, recoloured) > 0.25
