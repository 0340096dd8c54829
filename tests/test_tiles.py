"""Feature passes in tiles: the plan covers the canvas, the tiled loss and gradient equal the whole ones,
and a tiled transfer styles as well as a whole one while using one tile's memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from audiost import ImageConfig, transfer_image
from audiost.engine import (
    ContentLoss,
    GramLoss,
    MeanStdLoss,
    Objective,
    Term,
    TotalVariationLoss,
)
from audiost.engine.tiles import (
    ALIGN,
    HALO,
    TiledObjective,
    plan_tiles,
    tiled_features,
    tiled_moments,
)
from audiost.errors import AudiostError
from audiost.features import VGG
from audiost.features.vgg import layer_stride
from audiost.media.image import resize, to_canvas
from audiost.media.image_io import load_image
from audiost.memory import (
    estimate_image_memory,
    estimate_tiled_image_memory,
    plan_image_memory,
)

from .conftest import CORPUS, HED, needs_hed, run_cli

PHOTO = CORPUS / "photo_sheep_pasture_1138x665.jpg"
PAINTING = CORPUS / "painting_hokusai_poppies_655x449.png"
STYLE_LAYERS = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]

pytestmark = pytest.mark.usefixtures("one_thread")


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 700),
    st.integers(1, 700),
    st.integers(ALIGN, 400),
    st.sampled_from([0, 16, HALO]),
)
def test_cores_partition_the_canvas(height, width, side, halo):
    tiles = plan_tiles(height, width, side, halo)
    covered = np.zeros((height, width), dtype=int)
    for tile in tiles:
        top, bottom, left, right = tile.core
        assert bottom - top <= -(-side // ALIGN) * ALIGN and right - left > 0
        # Starts line up with the deepest pooling, so feature grids agree.
        assert top % ALIGN == 0 and left % ALIGN == 0
        assert tile.outer[0] % ALIGN == 0 or halo % ALIGN
        outer_top, outer_bottom, outer_left, outer_right = tile.outer
        assert 0 <= outer_top <= top and bottom <= outer_bottom <= height
        assert 0 <= outer_left <= left and right <= outer_right <= width
        assert top - outer_top in (top, halo) and outer_bottom - bottom in (
            height - bottom,
            halo,
        )
        covered[top:bottom, left:right] += 1
    assert (covered == 1).all()


def test_a_tile_smaller_than_the_alignment_is_refused():
    with pytest.raises(ValueError, match="at least 16"):
        plan_tiles(100, 100, 8)


@pytest.fixture(scope="module")
def hed() -> VGG:
    """Built once for the module; every test using it is marked ``needs_hed``."""
    return VGG("vgg16", HED)


def _pictures(width: int, height: int) -> tuple[torch.Tensor, torch.Tensor]:
    photo = to_canvas(resize(load_image(PHOTO).rgb, (width, height)))
    painting = to_canvas(resize(load_image(PAINTING).rgb, (width, height)))
    return photo, painting


@needs_hed
@pytest.mark.parametrize("loss", [GramLoss, MeanStdLoss])
def test_tiled_loss_and_gradient_equal_the_whole_ones(hed, loss):
    # 4 x 3 tiles of an odd-sized canvas: seams cross every layer's grid, and
    # the right and bottom edges are not multiples of the pooling stride.
    width, height = 210, 150
    photo, painting = _pictures(width, height)
    strides = {name: layer_stride(name) for name in [*STYLE_LAYERS, "conv4_2"]}
    with torch.no_grad():
        style = hed(painting, STYLE_LAYERS)
        content = hed(photo, ["conv4_2"])["conv4_2"]
    terms = [Term("content", ContentLoss(content), 1.0, "conv4_2")]
    terms += [Term(f"style:{n}", loss(style[n]), 2.0, n) for n in STYLE_LAYERS]
    terms += [Term("tv", TotalVariationLoss(photo), 0.01)]
    generator = torch.Generator().manual_seed(0)
    canvas = (photo + 0.2 * torch.rand(photo.shape, generator=generator)).clamp(0, 1)

    def evaluate(objective):
        x = canvas.clone().requires_grad_()
        total, parts = objective(x)
        total.backward()
        return (
            float(total.detach()),
            {k: float(v.detach()) for k, v in parts.items()},
            x.grad,
        )

    tiles = plan_tiles(height, width, 64)
    assert len(tiles) == 12
    whole_total, whole_parts, whole_grad = evaluate(Objective(hed, terms))
    total, parts, grad = evaluate(TiledObjective(hed, terms, tiles, strides))
    assert total == pytest.approx(whole_total, rel=1e-4)
    assert parts == pytest.approx(whole_parts, rel=1e-4)
    error = float((grad - whole_grad).norm() / whole_grad.norm())
    assert error < 1e-3, f"tiled gradient differs by {error:.2%}"

    # Without the halo the seams show: the check above can fail.
    bare = plan_tiles(height, width, 64, halo=0)
    _, _, bare_grad = evaluate(TiledObjective(hed, terms, bare, strides))
    assert float((bare_grad - whole_grad).norm() / whole_grad.norm()) > 0.1


@needs_hed
def test_tiled_features_and_statistics_equal_the_whole_ones(hed):
    photo, _ = _pictures(200, 117)
    tiles = plan_tiles(117, 200, 48)
    strides = {name: layer_stride(name) for name in STYLE_LAYERS}
    with torch.no_grad():
        whole = hed(photo, STYLE_LAYERS)
    pieced = tiled_features(hed, photo, STYLE_LAYERS, tiles, strides)
    statistics = tiled_moments(
        hed, photo, dict.fromkeys(STYLE_LAYERS, GramLoss), tiles, strides
    )
    for name in STYLE_LAYERS:
        assert pieced[name].shape == whole[name].shape
        torch.testing.assert_close(pieced[name], whole[name], rtol=1e-4, atol=1e-4)
        gram = GramLoss.statistic(
            GramLoss.moments(whole[name]), whole[name][0, 0].numel()
        )
        torch.testing.assert_close(statistics[name], gram, rtol=1e-4, atol=1e-5)


def test_a_loss_without_position_sums_cannot_be_tiled():
    from audiost.engine import AutocorrelationLoss

    net = VGG("vgg16", "random")
    target = torch.rand(1, 64, 8, 8)
    terms = [Term("rhythm", AutocorrelationLoss(target, 2), 1.0, "conv1_1")]
    with pytest.raises(ValueError, match="cannot evaluate rhythm in tiles"):
        TiledObjective(net, terms, plan_tiles(32, 32, 16), {"conv1_1": 1})


@needs_hed
def test_tiled_transfer_styles_like_a_whole_one():
    # 5 iterations: the loss halves (0.42 of the first); the tiled run costs
    # 6x the whole one per iteration (each tile is a VGG pass with its halo).
    settings = {"net": "vgg16", "weights": HED, "max_size": 160, "iters": 5}
    whole = transfer_image(PHOTO, PAINTING, **settings)
    tiled = transfer_image(PHOTO, PAINTING, tile_size=64, **settings)
    assert tiled.image.shape == whole.image.shape
    # The same optimisation up to float rounding, which L-BFGS amplifies a little.
    for name, value in whole.final_losses.items():
        assert tiled.final_losses[name] == pytest.approx(value, rel=0.1, abs=1e-3)
    assert tiled.final_losses["total"] < 0.5 * tiled.losses[0]
    difference = np.abs(tiled.image.astype(float) - whole.image.astype(float))
    assert difference.mean() < 4, "tiled result differs from the whole one"
    # No seams: differences are no larger along tile borders than elsewhere.
    columns = difference.mean(axis=(0, 2))
    borders = [64, 128]
    assert max(columns[b - 2 : b + 2].mean() for b in borders) < 3 * columns.mean() + 1


class TestPlan:
    def test_whole_when_it_fits(self):
        side, peak = plan_image_memory(
            ImageConfig(max_memory="64G"), (2048, 1536), [2048 * 1536], "cpu", "x.png"
        )
        assert side is None
        assert peak == estimate_image_memory(ImageConfig(), 2048, 1536, [2048 * 1536])

    def test_tiles_only_what_does_not_fit_and_as_large_as_fits(self):
        whole = estimate_image_memory(ImageConfig(), 2048, 1536, [2048 * 1536])
        room = whole // 2
        side, peak = plan_image_memory(
            ImageConfig(max_memory=str(room)),
            (2048, 1536),
            [2048 * 1536],
            "cpu",
            "x.png",
        )
        assert side is not None and peak <= room
        bigger = estimate_tiled_image_memory(ImageConfig(), 2048, 1536, side + 64)
        assert bigger > room

    def test_tile_size_forces_tiles_above_it(self):
        cfg = ImageConfig(tile_size=512)
        assert plan_image_memory(cfg, (1024, 768), [], "cpu", "x")[0] == 512
        assert plan_image_memory(cfg, (512, 384), [], "cpu", "x")[0] is None

    def test_tiles_bound_memory(self):
        cfg = ImageConfig()
        small = estimate_tiled_image_memory(cfg, 2048, 1536, 512)
        assert small < 0.4 * estimate_image_memory(cfg, 2048, 1536)
        assert estimate_tiled_image_memory(cfg, 2048, 1536, 256) < small

    def test_nothing_fits(self):
        with pytest.raises(AudiostError, match=r"x\.png: needs about .* --max-size"):
            plan_image_memory(
                ImageConfig(max_memory="1G"), (4096, 3072), [], "cpu", "x.png"
            )

    def test_small_tiles_are_refused(self):
        with pytest.raises(ValueError, match="tile_size"):
            ImageConfig(tile_size=10)


@needs_hed
def test_cli_reports_the_plan_up_front(tmp_path):
    out = tmp_path / "out.png"
    args = [
        "transfer",
        str(PHOTO),
        str(PAINTING),
        "-o",
        str(out),
        "--net",
        "vgg16",
        "--weights",
        str(HED),
        "--max-size",
        "128",
        "--iters",
        "1",
        "--tile-size",
        "64",
    ]
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    plan = [line for line in result.stderr.splitlines() if "peak memory about" in line]
    assert plan and "128x75 px in 4 tiles of at most 64 px" in plan[0]
    assert result.stderr.index("peak memory") < result.stderr.index("wrote")
    quiet = run_cli(*args, "--overwrite", "-q", "--iters", "0", cwd=tmp_path)
    assert quiet.returncode == 0 and "peak memory" not in quiet.stderr
