"""transfer_image end to end: measured stylisation quality, inputs from the corpus, outputs, options.

Quality is measured with the shared VGG16 weights; everything else uses small
random-weight networks, so the suite runs offline in well under a minute.
"""

from __future__ import annotations

import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from audiost import (
    IMAGE_PRESETS,
    AudiostError,
    ImageConfig,
    ImageStylist,
    audio_preset,
    image_preset,
    transfer_image,
)
from audiost.config import strength_of
from audiost.engine import ContentLoss, GramLoss
from audiost.features import VGG
from audiost.image.inputs import default_image_output
from audiost.image.objective import FLAT_STYLE_EDGE_WEIGHT, edge_weight_for
from audiost.image.result import layout_warning
from audiost.image.scales import planned_iterations, style_size
from audiost.image_metrics import image_measures
from audiost.media.image import from_canvas, resize, rgb_to_yiq, to_canvas, to_uint8
from audiost.media.image_io import load_image

from .conftest import CORPUS, HED, needs_hed

CAT = CORPUS / "photo_chelsea_cat_451x300.png"
PAINTING = CORPUS / "painting_hokusai_poppies_655x449.png"

#: A cheap, file-free configuration for behaviour (not quality) tests.
TINY = {"net": "vgg16", "weights": "random", "max_size": 32, "iters": 2}
# No one-thread fixture here: the pretrained VGG16 at 160 px is big enough
# that two threads cut the module's time from 93 to 59 s on the 2-core CPU.


def _rgba(height: int = 24, width: int = 40) -> np.ndarray:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    alpha = np.tile(np.linspace(0, 255, width).astype(np.uint8), (height, 1))
    return np.dstack([rgb, alpha])


def _noise(height: int = 24, width: int = 40, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random((height, width, 3)).astype(np.float32)


@needs_hed
def test_photo_is_measurably_stylised():
    result = transfer_image(
        CAT, PAINTING, net="vgg16", weights=HED, max_size=96, iters=25
    )
    out = result.image
    assert out.dtype == np.uint8 and out.shape == (64, 96, 3)

    net = VGG("vgg16", HED)
    size = (out.shape[1], out.shape[0])
    output = to_canvas(out.astype(np.float32) / 255)
    photo = to_canvas(resize(load_image(CAT).rgb, size))
    painting_rgb = load_image(PAINTING).rgb
    painting = to_canvas(resize(painting_rgb, style_size(painting_rgb, size, 1.0)))
    painting_as_content = to_canvas(resize(painting_rgb, size))
    layers = net.style_layers
    with torch.no_grad():
        style_targets = net(painting, layers)
        content_target = net(photo, ["conv4_2"])["conv4_2"]

        def style_distance(canvas: torch.Tensor) -> float:
            features = net(canvas, layers)
            return float(
                np.mean(
                    [
                        float(GramLoss(style_targets[name])(features[name]))
                        for name in layers
                    ]
                )
            )

        def content_distance(canvas: torch.Tensor) -> float:
            return float(
                ContentLoss(content_target)(net(canvas, ["conv4_2"])["conv4_2"])
            )

        assert style_distance(output) <= 0.2 * style_distance(photo), (
            "style (Gram) distance fell by less than 80%"
        )
        assert content_distance(output) <= 0.5 * content_distance(
            painting_as_content
        ), "output lost the photo's content"
    assert result.losses[-1] < result.losses[0] and np.isfinite(result.losses).all()
    assert out.std() > 20 and out.min() < 40 and out.max() > 215, (
        "output is washed out or flat"
    )


@needs_hed
def test_another_seed_paints_a_variation_as_strong():
    """With pretrained weights the palette start's random axes are a run's only chance: the seed must reach them."""
    photo, painting = load_image(CAT).rgb, load_image(PAINTING).rgb
    outputs = {
        seed: transfer_image(
            CAT, PAINTING, net="vgg16", weights=HED, max_size=64, iters=10, seed=seed
        ).image.astype(np.float32)
        / 255
        for seed in (0, 1)
    }
    again = transfer_image(
        CAT, PAINTING, net="vgg16", weights=HED, max_size=64, iters=10
    )
    assert np.array_equal(again.image.astype(np.float32) / 255, outputs[0])
    # Measured 0.027 (seeds 0 and 1); 0.0 when the seed did not reach the axes.
    assert np.abs(outputs[1] - outputs[0]).mean() > 0.01
    palettes = [
        image_measures(photo, painting, out)["palette_gain"] for out in outputs.values()
    ]
    assert min(palettes) > 0.7 and max(palettes) - min(palettes) < 0.05, palettes


@needs_hed
def test_style_does_not_fade_as_the_picture_grows():
    """Coarse to fine: at twice the size the palette and texture are at least as much the painting's.

    Before coarse to fine, a larger picture got only a fine grain over the
    photo: measured on a GPU, 0.90 at 512 px, 0.78 at 2048 px.
    """
    # Measured: palette 0.81 at 96 px, 0.81 at 192; texture -0.74, -0.21.
    # At these sizes one pass at full size does as well (0.92 / 0.03 at
    # 192 px): the fade is a large-picture effect, this guards its absence.
    short = {"iters": 40, "refine_iters": 20, "start_size": 96}
    measures = {}
    for size in (96, 192):
        result = transfer_image(
            CAT, PAINTING, net="vgg16", weights=HED, max_size=size, **short
        )
        measures[size] = image_measures(
            load_image(CAT).rgb,
            load_image(PAINTING).rgb,
            result.image.astype(np.float32) / 255,
        )
    for name in ("palette_gain", "texture_gain"):
        assert measures[192][name] >= measures[96][name] - 0.05, (name, measures)
    assert measures[96]["palette_gain"] > 0.6, "the painting's palette did not arrive"


@needs_hed
def test_a_flat_style_keeps_the_subjects_outlines_by_default():
    """A nearly flat painting's statistics ask for no edges: by default the edge term keeps the subject, without giving up the painting's palette; turned off, the result says the layout was lost and names the way back."""
    hedgehog = CORPUS / "photo_hedgehog_in_grass_1024x731.webp"
    flat = CORPUS / "painting_debian_emerald_vector_artwork_1280x720.png"
    small = {"net": "vgg16", "weights": HED, "max_size": 160, "iters": 100}
    washed = transfer_image(hedgehog, flat, edge_weight=0, **small)
    (warning,) = washed.warnings  # structure 0.21: a teal blob
    assert "layout" in warning
    assert "--edge-weight 1" in warning
    kept = transfer_image(hedgehog, flat, **small)
    assert kept.config.edge_weight == 1  # auto: the artwork has almost no outlines
    assert kept.warnings == []
    photo, painting = load_image(hedgehog).rgb, load_image(flat).rgb
    before = image_measures(photo, painting, washed.image / 255)
    after = image_measures(photo, painting, kept.image / 255)
    # Measured: structure 0.21 -> 0.56, palette 0.93 -> 0.93, texture 0.72 -> 0.69.
    assert after["structure_kept"] > before["structure_kept"] + 0.2
    assert after["palette_gain"] > before["palette_gain"] - 0.05
    assert after["texture_gain"] > 0.5


def test_the_edge_term_is_on_by_default_only_for_styles_without_outlines():
    photo = load_image(CAT).rgb
    flat = load_image(
        CORPUS / "painting_debian_emerald_vector_artwork_1280x720.png"
    ).rgb
    paper = load_image(CORPUS / "texture_rough_paper_512x512.png").rgb
    auto = image_preset()
    assert edge_weight_for(auto, photo, [flat]) == FLAT_STYLE_EDGE_WEIGHT
    assert edge_weight_for(auto, photo, [paper]) == FLAT_STYLE_EDGE_WEIGHT
    for name in (
        "painting_hokusai_poppies_655x449.png",
        "texture_gravel_gray_512x512.png",
    ):
        assert edge_weight_for(auto, photo, [load_image(CORPUS / name).rgb]) == 0
    # Several styles count by their shares; a weight given is kept.
    hokusai = load_image(PAINTING).rgb
    assert edge_weight_for(auto, photo, [flat, hokusai]) == 0
    mostly_flat = auto.replace(style_weights=(0.95, 0.05))
    assert (
        edge_weight_for(mostly_flat, photo, [flat, hokusai]) == FLAT_STYLE_EDGE_WEIGHT
    )
    assert edge_weight_for(auto.replace(edge_weight=0), photo, [flat]) == 0
    # A one-colour content has no outlines to keep, whatever the style.
    blank = np.full_like(photo, 0.5)
    assert edge_weight_for(auto, blank, [flat]) == 0
    assert edge_weight_for(auto, blank, [np.full_like(flat, 0.2)]) == 0
    assert edge_weight_for(auto.replace(edge_weight=3), photo, [hokusai]) == 3


def test_layout_warning_only_where_there_was_a_layout_to_keep():
    hedgehog = load_image(CORPUS / "photo_hedgehog_in_grass_1024x731.webp").rgb
    teal = np.broadcast_to(np.array([0, 120, 110], np.uint8), (64, 90, 3)).copy()
    config = image_preset()
    assert layout_warning(config, hedgehog, teal) is not None
    assert layout_warning(config, hedgehog, to_uint8(hedgehog)) is None
    # Only the style was asked for, or the content is one colour.
    assert layout_warning(config.replace(content_weight=0), hedgehog, teal) is None
    assert layout_warning(config, np.full_like(hedgehog, 0.5), teal) is None
    # The edge term was already on: the way out is more of it.
    with_edges = layout_warning(config.replace(edge_weight=1), hedgehog, teal)
    assert "a higher --edge-weight than 1" in with_edges


def test_random_vgg_runs_without_files_or_network(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    steps = []
    result = transfer_image(
        _noise(),
        _noise(seed=2),
        **(TINY | {"net": "vgg19"}),
        on_step=lambda i, loss: steps.append(i),
    )
    assert result.image.shape == (19, 32, 3) and steps == [1, 2]
    assert np.isfinite(result.final_losses["total"]) and not (tmp_path / "hub").exists()


def test_a_strip_kept_over_the_maximum_size_says_so(caplog):
    """A 60x3000 strip at max_size 32 is worked at 16x800 (the features need 16 px): said, not silent."""
    tall = CORPUS / "bad" / "tall_60x3000.png"
    with caplog.at_level("INFO", logger="audiost"):
        result = transfer_image(
            tall, _noise(), **(TINY | {"max_size": 32, "iters": 0, "refine_iters": 0})
        )
    assert result.image.shape[:2] == (800, 16)
    assert "the short side is kept at 16 px" in caplog.text
    assert "the long side is 800 px, over the maximum size 32" in caplog.text
    with caplog.at_level("INFO", logger="audiost"):
        caplog.clear()
        transfer_image(CAT, _noise(), **(TINY | {"iters": 0, "refine_iters": 0}))
    assert "short side is kept" not in caplog.text


def test_alpha_is_reattached():
    content = _rgba()
    result = transfer_image(content, _noise(), **TINY)
    assert result.image.shape == (19, 32, 4)
    expected = np.asarray(
        Image.fromarray(content[..., 3]).resize((32, 19), Image.Resampling.LANCZOS)
    ).astype(int)
    assert np.abs(result.image[..., 3].astype(int) - expected).max() <= 2


class TestOutputs:
    def test_png_and_jpeg_by_extension(self, tmp_path):
        for suffix, fmt in ((".png", "PNG"), (".jpeg", "JPEG")):
            result = transfer_image(
                _rgba(), _noise(), tmp_path / f"out{suffix}", **TINY
            )
            with Image.open(result.output) as written:
                assert written.format == fmt
        assert any("alpha" in w for w in result.warnings), (
            "JPEG output should warn that transparency was dropped"
        )

    def test_output_checked_before_any_work(self, tmp_path):
        existing = tmp_path / "taken.png"
        existing.write_bytes(b"keep")
        with pytest.raises(AudiostError, match="exists"):
            transfer_image(tmp_path / "missing.png", _noise(), existing, **TINY)
        with pytest.raises(AudiostError, match="unsupported output format"):
            transfer_image(
                tmp_path / "missing.png", _noise(), tmp_path / "out.webp", **TINY
            )
        assert existing.read_bytes() == b"keep"
        transfer_image(_noise(), _noise(), existing, overwrite=True, **TINY)
        assert existing.read_bytes() != b"keep"

    def test_default_name(self):
        assert default_image_output("in/cat.jpg", "art/wave.png") == Path(
            "cat_x_wave.png"
        )
        assert default_image_output("cat.v2.jpg", ["a.png", "b.tiff"]) == Path(
            "cat.v2_x_a+b.png"
        )


class TestOptions:
    def test_several_styles_and_their_weights(self):
        result = transfer_image(
            _noise(), [_noise(seed=2), _noise(seed=3)], style_weights=(3, 1), **TINY
        )
        assert {"style1:conv1_1", "style2:conv5_1"} <= set(result.final_losses)
        with pytest.raises(AudiostError, match="2 style weights given for 1 style"):
            transfer_image(_noise(), _noise(), style_weights=(1, 1), **TINY)

    def test_luminance_only_keeps_content_colours(self):
        content = _noise(32, 48)
        result = transfer_image(
            content, _noise(seed=5), preserve_color="luminance", **TINY
        )
        out = result.image.astype(np.float32) / 255
        expected = rgb_to_yiq(resize(content, (32, 21)))
        assert np.abs(rgb_to_yiq(out)[..., 1:] - expected[..., 1:]).mean() < 0.03

    def test_histogram_matching_brings_content_colours(self):
        content = np.clip(_noise(32, 48) * 0.3 + [0.6, 0.2, 0.1], 0, 1).astype(
            np.float32
        )
        style = np.clip(_noise(32, 48, seed=6) * 0.3 + [0.1, 0.3, 0.6], 0, 1).astype(
            np.float32
        )
        plain, matched = (
            transfer_image(content, style, preserve_color=mode, **TINY)
            .image.reshape(-1, 3)
            .mean(0)
            / 255
            for mode in ("none", "histogram")
        )
        target = content.reshape(-1, 3).mean(0)
        assert np.abs(matched - target).sum() < np.abs(plain - target).sum()

    def test_coarse_to_fine_counts_iterations_across_passes(self):
        steps = []
        settings = TINY | {
            "max_size": 128,
            "start_size": 64,
            "iters": 4,
            "refine_iters": 2,
        }
        result = transfer_image(
            _noise(96, 128),
            _noise(),
            **settings,
            on_step=lambda i, loss: steps.append(i),
        )
        # 64, 90 and 128 px: 4 iterations, then 2 per refinement.
        assert (
            steps
            == list(range(1, 9))
            == list(
                range(1, planned_iterations(ImageConfig(**settings), (128, 96)) + 1)
            )
        )
        assert result.image.shape == (96, 128, 3) and len(result.losses) == 8

    @pytest.mark.parametrize("init", ["noise", "style"])
    def test_initialisations(self, init):
        assert transfer_image(
            _noise(), _noise(), init=init, optimizer="adam", **TINY
        ).image.shape == (19, 32, 3)

    def test_unknown_layer_is_reported_before_any_loading(self, tmp_path):
        with pytest.raises(
            AudiostError, match=r"unknown layer.*conv5_4; vgg16 has conv1_1"
        ):
            transfer_image(
                tmp_path / "missing.png",
                _noise(),
                style_layers="conv1_1,conv5_4",
                **(TINY | {"weights": tmp_path / "missing.pth"}),
            )

    def test_layer_weights_from_a_string(self):
        cfg = ImageConfig(
            style_layers="conv1_1:1, conv2_1:0.5", content_layers="conv3_2"
        )
        assert cfg.style_layers == (
            "conv1_1",
            "conv2_1",
        ) and cfg.style_layer_weights == (1.0, 0.5)
        assert cfg.content_layers == ("conv3_2",) and cfg.content_layer_weights == ()
        with pytest.raises(ValueError, match="numbers"):
            ImageConfig(style_layers="conv1_1:x")
        with pytest.raises(ValueError, match="preserve_color"):
            ImageConfig(preserve_color="sepia")

    def test_presets(self):
        assert set(IMAGE_PRESETS) == {"fast", "balanced", "best"}
        fast, best = image_preset("fast"), image_preset("best", iters=7)
        assert (
            fast.max_size < image_preset().max_size <= best.max_size and best.iters == 7
        )


def test_the_strength_dial_ends_at_the_photo():
    """What serves only the style (the recoloured start, the roughness penalty) applies in full from strength 0.5 up, half at 0.25, not at 0, where the photo comes back."""
    painting = resize(load_image(PAINTING).rgb, (48, 32))
    problems = {
        strength: ImageStylist(image_preset(strength=strength, **TINY)).problem(
            CAT, painting
        )
        for strength in (0, 0.25, 0.5, 1)
    }
    starts = {strength: start for strength, (_, start) in problems.items()}
    photo = starts[0]
    assert torch.equal(photo, to_canvas(resize(load_image(CAT).rgb, (32, 21))))
    assert torch.equal(starts[0.5], starts[1]) and not torch.equal(starts[0.5], photo)
    torch.testing.assert_close(starts[0.25], (photo + starts[0.5]) / 2)
    roughness = {
        strength: sum(t.weight for t in objective.terms if t.name == "tv")
        for strength, (objective, _) in problems.items()
    }
    tv = image_preset().tv_weight
    assert roughness == pytest.approx({0: 0, 0.25: tv / 2, 0.5: tv, 1: tv})
    assert strength_of(image_preset(strength=0.25)) == pytest.approx(0.25)
    assert strength_of(audio_preset(strength=0.1)) == pytest.approx(0.1)
    assert strength_of(image_preset(style_weight=0)) == 0
    assert strength_of(image_preset(content_weight=0)) == 1
    result = transfer_image(CAT, painting, **TINY, strength=0)
    assert np.abs(result.image.astype(int) - to_uint8(from_canvas(photo))).max() <= 1
