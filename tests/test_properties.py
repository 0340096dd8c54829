"""Property-based tests: whatever bytes or headers the loaders meet, they answer or say why.

Hypothesis generates random files; the only acceptable outcomes are a
finite, well-shaped result or an AudiostError (one line for the user).
Anything else (a crash, a hang, a non-finite sample) is a bug.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import soundfile as sf
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from audiost.errors import AudiostError
from audiost.media.audio_io import check_audio, load_audio
from audiost.media.image_io import load_image
from audiost.media.kind import media_kind

SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".png", ".jpg", ".bin")
HEADERS = (
    b"",
    b"RIFF\x24\x00\x00\x00WAVEfmt ",
    b"fLaC",
    b"OggS",
    b"ID3",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
)
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(
    header=st.sampled_from(HEADERS),
    body=st.binary(max_size=4096),
    suffix=st.sampled_from(SUFFIXES),
)
def test_random_bytes_never_crash_the_loaders(
    tmp_path: Path, header: bytes, body: bytes, suffix: str
) -> None:
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(header + body)
    kind = media_kind(path)
    assert kind in ("audio", "image")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a truncated file may load with a warning
        try:
            if kind == "audio":
                audio, sr = load_audio(path)
                audio = check_audio(audio, sr, min_samples=1, name=str(path))
                assert np.isfinite(audio).all() and sr > 0
            else:
                picture = load_image(path)
                assert picture.rgb.ndim == 3 and np.isfinite(picture.rgb).all()
        except AudiostError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)


@FUZZ
@given(
    sr=st.integers(1000, 192000),
    channels=st.integers(1, 8),
    frames=st.integers(0, 3000),
    subtype=st.sampled_from(["PCM_16", "PCM_24", "PCM_U8", "FLOAT", "ULAW"]),
    level=st.floats(0, 1),
)
def test_any_valid_wav_loads_with_its_shape_or_is_refused_clearly(
    tmp_path: Path, sr: int, channels: int, frames: int, subtype: str, level: float
) -> None:
    path = tmp_path / "x.wav"
    data = (
        np.random.default_rng(frames).uniform(-1, 1, (frames, channels)) * level
    ).astype(np.float32)
    if subtype == "PCM_U8" and channels > 2:
        subtype = "PCM_16"
    sf.write(path, data, sr, subtype=subtype)
    try:
        audio, rate = load_audio(path)
        audio = check_audio(audio, rate, min_samples=256, name=str(path))
    except AudiostError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
        return
    assert rate == sr and audio.shape == (channels, frames) and np.isfinite(audio).all()


@FUZZ
@given(
    mode=st.sampled_from(["1", "L", "LA", "P", "RGB", "RGBA", "I;16", "CMYK"]),
    width=st.integers(1, 80),
    height=st.integers(1, 80),
    suffix=st.sampled_from([".png", ".jpg", ".webp", ".bmp", ".tiff"]),
)
def test_any_image_mode_and_size_loads_as_rgb_or_is_refused_clearly(
    tmp_path: Path, mode: str, width: int, height: int, suffix: str
) -> None:
    from PIL import Image

    image = Image.new(mode, (width, height))
    path = tmp_path / f"x{suffix}"
    try:
        image.save(path)
    except (OSError, KeyError, ValueError):
        assume(
            False
        )  # Pillow cannot write this mode in this format: not a loader question
    try:
        picture = load_image(path)
    except AudiostError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
        assert min(width, height) < 16, exc  # only too-small images may be refused
        return
    assert picture.rgb.shape == (height, width, 3) and picture.rgb.dtype == np.float32
    assert 0 <= picture.rgb.min() and picture.rgb.max() <= 1
