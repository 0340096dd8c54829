"""Image files and arrays in and out: formats, colour modes, limits, colour helpers."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from audiost.errors import AudiostError
from audiost.media.image import (
    fit_size,
    match_colour,
    match_luminance,
    resize,
    rgb_to_yiq,
    yiq_to_rgb,
)
from audiost.media.image_io import MAX_PIXELS, load_image, write_image

from .conftest import BAD, CORPUS, needs_corpus


def _png_claiming(path: Path, width: int, height: int) -> Path:
    """A 1x1 PNG whose header claims ``width`` x ``height``: a decompression bomb without the memory."""
    Image.new("RGB", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = 8 + 8  # signature, then length + type of the IHDR chunk
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    data[ihdr + 13 : ihdr + 17] = struct.pack(
        ">I", zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13]))
    )
    path.write_bytes(bytes(data))
    return path


@needs_corpus
class TestCorpusModes:
    def test_palette_1bit_16bit_cmyk_become_rgb(self):
        for name in (
            "palette_16_colours.png",
            "bilevel_1bit.png",
            "gray_16bit_64x64.png",
            "cmyk.tiff",
        ):
            picture = load_image(BAD / name)
            assert picture.rgb.dtype == np.float32 and picture.rgb.shape[2] == 3, name
            assert picture.rgb.min() >= 0 and picture.rgb.max() <= 1, name

    def test_one_bit_is_black_and_white(self):
        assert set(np.unique(load_image(BAD / "bilevel_1bit.png").rgb)) <= {0.0, 1.0}

    def test_16_bit_keeps_precision(self):
        gray = load_image(BAD / "gray_16bit_64x64.png").rgb[..., 0]
        with Image.open(BAD / "gray_16bit_64x64.png") as stored:
            raw = np.asarray(stored).astype(np.float64) / 65535
        np.testing.assert_allclose(gray, raw, atol=1e-6)
        assert not np.allclose(gray * 255, np.round(gray * 255)), (
            "16-bit values were quantised to 8 bits"
        )

    def test_cmyk_matches_the_rgb_original(self):
        cmyk = load_image(BAD / "cmyk.tiff").rgb
        rgb = load_image(CORPUS / "photo_chelsea_cat_451x300.png").rgb
        assert np.abs(cmyk - rgb).mean() < 0.02

    def test_alpha_is_kept(self):
        picture = load_image(BAD / "gray_alpha.png")
        assert (
            picture.alpha is not None and picture.alpha.shape == picture.rgb.shape[:2]
        )

    def test_exif_orientation_is_applied(self):
        with Image.open(BAD / "exif_rotated_90.jpg") as stored_image:
            stored = stored_image.size
        assert load_image(BAD / "exif_rotated_90.jpg").size == stored[::-1]

    def test_animated_gif_gives_first_frame(self):
        with Image.open(BAD / "animated_3_frames.gif") as gif:
            first = np.asarray(gif.convert("RGB"), dtype=np.float32) / 255
        np.testing.assert_allclose(load_image(BAD / "animated_3_frames.gif").rgb, first)

    def test_png_named_jpg_is_read_by_content(self):
        assert load_image(BAD / "png_data_named.jpg").size == (451, 300)

    @pytest.mark.parametrize(
        ("name", "words"),
        [
            ("zero_bytes.jpg", "empty"),
            ("truncated_jpeg_third.jpg", "truncated"),
            ("random_bytes.png", "not a readable image"),
            ("tiny_2x3.png", "too small"),
        ],
    )
    def test_bad_files_give_one_line_errors(self, name, words):
        with pytest.raises(AudiostError) as info:
            load_image(BAD / name)
        message = str(info.value)
        assert name in message and words in message and "\n" not in message


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(AudiostError, match="no such file"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(AudiostError, match="directory"):
        load_image(tmp_path)


def test_pixel_limit_is_checked_before_decoding(tmp_path):
    with pytest.raises(AudiostError, match="megapixels") as info:
        load_image(_png_claiming(tmp_path / "huge.png", 10_000, 8_000))
    assert "80.0 megapixels" in str(info.value) and f"{MAX_PIXELS / 1e6:g}" in str(
        info.value
    )


def test_decompression_bomb_is_refused(tmp_path):
    # Beyond twice Pillow's own limit, Image.open itself raises.
    with pytest.raises(AudiostError, match="too large to decode safely"):
        load_image(_png_claiming(tmp_path / "bomb.png", 30_000, 30_000))


class TestArrays:
    def test_uint8_gray_and_uint16(self):
        gray = load_image(np.full((20, 30), 255, np.uint8))
        assert (
            gray.rgb.shape == (20, 30, 3) and gray.rgb.max() == 1 and gray.alpha is None
        )
        deep = load_image(np.full((20, 30, 3), 65535, np.uint16))
        assert deep.rgb.max() == 1

    def test_rgba_float_keeps_alpha(self):
        array = np.random.default_rng(0).random((20, 30, 4)).astype(np.float32)
        picture = load_image(array)
        np.testing.assert_array_equal(picture.alpha, array[..., 3])

    @pytest.mark.parametrize(
        ("array", "words"),
        [
            (np.full((20, 30, 3), 2.0), "must lie in"),
            (np.full((20, 30, 3), np.nan), "NaN"),
            (np.zeros((20, 30, 2)), "expected"),
            (np.zeros((20, 30, 3), np.int64), "unsupported"),
            (np.zeros((8, 30, 3), np.uint8), "too small"),
        ],
    )
    def test_bad_arrays(self, array, words):
        with pytest.raises(AudiostError, match=words):
            load_image(array)

    def test_pil_image_input(self):
        assert load_image(Image.new("LA", (40, 20))).alpha is not None


class TestWrite:
    def test_png_round_trip_with_alpha(self, tmp_path):
        image = np.random.default_rng(1).integers(0, 256, (20, 30, 4), dtype=np.uint8)
        path = write_image(tmp_path / "out.png", image)
        with Image.open(path) as written:
            np.testing.assert_array_equal(np.asarray(written), image)
        assert os.listdir(tmp_path) == ["out.png"]

    def test_jpeg_drops_alpha(self, tmp_path):
        path = write_image(tmp_path / "out.JPG", np.zeros((20, 30, 4), np.uint8))
        with Image.open(path) as written:
            assert written.format == "JPEG" and written.mode == "RGB"

    def test_unsupported_suffix(self, tmp_path):
        with pytest.raises(AudiostError, match="unsupported output format"):
            write_image(tmp_path / "out.gif", np.zeros((20, 30, 3), np.uint8))


class TestGeometryAndColour:
    def test_fit_size(self):
        assert fit_size((451, 300), 128) == (128, 85)
        assert fit_size((100, 50), 512) == (100, 50), "never upscales the content"
        assert fit_size((100, 50), 200, upscale=True) == (200, 100)
        assert fit_size((60, 3000), 512) == (16, 800), (
            "the short side keeps the 16 px the features need"
        )

    def test_resize_stays_in_range(self):
        checker = np.indices((40, 40)).sum(0) % 2
        out = resize(checker.astype(np.float32), (17, 23))
        assert out.shape == (23, 17) and out.min() >= 0 and out.max() <= 1

    def test_yiq_round_trip(self):
        rgb = np.random.default_rng(2).random((10, 10, 3)).astype(np.float32)
        np.testing.assert_allclose(yiq_to_rgb(rgb_to_yiq(rgb)), rgb, atol=1e-5)

    def test_match_colour_moves_mean_and_covariance(self):
        rng = np.random.default_rng(3)
        source = rng.random((50, 50, 3)).astype(np.float32) * [0.4, 0.2, 0.1] + [
            0.1,
            0.3,
            0.5,
        ]
        reference = rng.random((40, 40, 3)).astype(np.float32) * [0.3, 0.5, 0.2] + [
            0.4,
            0.2,
            0.3,
        ]
        out = match_colour(source, reference).reshape(-1, 3)
        np.testing.assert_allclose(
            out.mean(0), reference.reshape(-1, 3).mean(0), atol=1e-3
        )
        np.testing.assert_allclose(
            np.cov(out, rowvar=False),
            np.cov(reference.reshape(-1, 3), rowvar=False),
            atol=1e-3,
        )

    def test_match_luminance(self):
        rng = np.random.default_rng(4)
        out = match_luminance(
            rng.random((30, 30)) * 0.2, 0.3 + 0.4 * rng.random((20, 20))
        )
        assert abs(out.mean() - 0.5) < 0.01 and abs(out.std() - 0.4 / 12**0.5) < 0.01
