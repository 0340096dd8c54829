"""The coarse-to-fine schedule: which sizes a picture is painted at, and for how many iterations."""

from __future__ import annotations

import itertools
import math

import pytest

from audiost import ImageConfig
from audiost.image.scales import (
    pass_iterations,
    planned_iterations,
    planned_work,
    scale_sizes,
)


@pytest.mark.parametrize(
    "size", [(512, 299), (1024, 598), (2048, 1536), (451, 300), (300, 4000)]
)
def test_passes_climb_from_the_start_size_to_the_picture_in_even_steps(size):
    sizes = scale_sizes(size, 256, 1.4)
    assert max(sizes[0]) == 256 and sizes[-1] == size
    ratios = [max(b) / max(a) for a, b in itertools.pairwise(sizes)]
    assert all(1.2 <= r <= 1.7 for r in ratios), ratios
    assert max(ratios) - min(ratios) < 0.02, "steps are not even"
    for width, height in sizes:
        assert abs(width / height - size[0] / size[1]) < 0.02, "aspect ratio drifts"


@pytest.mark.parametrize(
    ("size", "start"), [((256, 150), 256), ((300, 200), 256), ((1024, 768), 0)]
)
def test_one_pass_when_the_picture_is_no_larger_or_coarse_to_fine_is_off(size, start):
    assert scale_sizes(size, start, 1.4) == [size]


def test_a_bigger_step_takes_fewer_passes():
    assert len(scale_sizes((2048, 1024), 256, 2.0)) == 4
    assert len(scale_sizes((2048, 1024), 256, 1.4)) == 7


def test_the_first_pass_paints_and_refinements_add_detail():
    assert pass_iterations(300, 40, 3) == [300, 40, 40]
    assert pass_iterations(7, 2, 1) == [7]


@pytest.mark.parametrize("long_side", [512, 1024, 2048, 4096])
def test_the_defaults_cost_what_one_full_size_pass_did(long_side):
    """Work (iterations x pixels) of the default schedule: at most 1.5x the 100 full-size iterations it replaced, less from 1024 px on."""
    config = ImageConfig()
    size = (long_side, long_side * 3 // 4)
    sizes = scale_sizes(size, config.start_size, config.scale_step)
    iterations = pass_iterations(config.iters, config.refine_iters, len(sizes))
    work = sum(n * math.prod(s) for s, n in zip(sizes, iterations, strict=True))
    limit = 1.5 if long_side == 512 else 1.0
    assert work <= limit * 100 * math.prod(size)


def test_planned_iterations_count_every_pass():
    config = ImageConfig(iters=300, refine_iters=40)
    assert planned_iterations(config, (512, 384)) == 300 + 40 + 40
    assert planned_iterations(config, (200, 150)) == 300
    assert planned_iterations(config.replace(start_size=0), (512, 384)) == 300


def test_planned_work_weighs_each_pass_by_its_pixels():
    config = ImageConfig(iters=300, refine_iters=40)
    size = (451, 300)
    work = planned_work(config, size)
    sizes = scale_sizes(size, config.start_size, config.scale_step)
    assert [iterations for iterations, _ in work] == [300, 40, 40]
    assert sum(i for i, _ in work) == planned_iterations(config, size)
    assert [pixels for _, pixels in work] == [w * h for w, h in sizes]
    assert work[-1][1] / work[0][1] == pytest.approx(3.1, abs=0.1)
