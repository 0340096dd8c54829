"""Every file in ../shared/corpus/bad through the real CLI.

Each must either work (as the bad corpus's MANIFEST says it should) or fail
with exactly one line naming the file, exit code 2, no traceback and no
output file.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner, Result

from audiost.cli import main

from .conftest import (
    BAD,
    CORPUS,
    HED,
    REPO,
    assert_one_line_error,
    bad_manifest,
    clip,
    run_cli,
    sigint_as_in_a_terminal,
)

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
BAD_AUDIO = [row for row in bad_manifest() if row["file"].endswith(AUDIO_SUFFIXES)]
BAD_IMAGES = [
    row for row in bad_manifest() if not row["file"].endswith((*AUDIO_SUFFIXES, ".pth"))
]
BAD_WEIGHTS = [row for row in bad_manifest() if row["file"].endswith(".pth")]
# Random VGG weights and tiny sizes: these tests are about input handling, not quality.
TINY_IMAGE = [
    "--net",
    "vgg16",
    "--weights",
    "random",
    "--max-size",
    "32",
    "--iters",
    "2",
    "-q",
]


@pytest.mark.skipif(
    not BAD_AUDIO, reason="shared corpus/bad not found (set AUDIOST_SHARED)"
)
@pytest.mark.parametrize("row", BAD_AUDIO, ids=[row["file"] for row in BAD_AUDIO])
def test_bad_audio_as_content(row: dict[str, str], tmp_path: Path) -> None:
    source = BAD / row["file"]
    out = tmp_path / "out.wav"
    result = run_cli(
        "transfer",
        str(source),
        str(REPO / "examples" / "music.wav"),
        "-o",
        str(out),
        "--iters",
        "3",
        "--gl-iters",
        "4",
        "-q",
        cwd=tmp_path,
    )
    assert "Traceback" not in result.stderr
    if row["expected"].startswith("works"):
        assert result.returncode == 0, result.stderr
        audio, sr = sf.read(out, always_2d=True)
        # The higher of the two rates (the example music is 22.05 kHz).
        style_rate = sf.info(REPO / "examples" / "music.wav").samplerate
        assert (
            sr == max(sf.info(source).samplerate, style_rate)
            and audio.shape[1] == sf.info(source).channels
        )
        assert np.isfinite(audio).all() and np.abs(audio).max() > 0
    elif result.returncode == 0:
        # Allowed by the manifest ("or works ... with a warning"): say so, keep it finite.
        assert "or works" in row["expected"] or "or repaired" in row["expected"], row
        assert "warning" in result.stderr
        assert np.isfinite(sf.read(out)[0]).all()
    else:
        assert_one_line_error(result, row["file"], tmp_path)


@pytest.mark.skipif(
    not BAD_AUDIO, reason="shared corpus/bad not found (set AUDIOST_SHARED)"
)
def test_bad_audio_as_style(tmp_path: Path) -> None:
    result = run_cli(
        "transfer",
        str(REPO / "examples" / "speech.wav"),
        str(BAD / "digital_silence_3s_44k.flac"),
        "-q",
        cwd=tmp_path,
    )
    assert_one_line_error(result, "digital_silence_3s_44k.flac", tmp_path)


@pytest.mark.skipif(
    not BAD_IMAGES, reason="shared corpus/bad not found (set AUDIOST_SHARED)"
)
@pytest.mark.parametrize("row", BAD_IMAGES, ids=[row["file"] for row in BAD_IMAGES])
def test_bad_image_as_content(row: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    result = run_cli(
        "transfer",
        str(BAD / row["file"]),
        str(CORPUS / "texture_gravel_gray_512x512.png"),
        "-o",
        str(out),
        *TINY_IMAGE,
        cwd=tmp_path,
    )
    assert "Traceback" not in result.stderr
    if row["expected"].startswith("works"):
        assert result.returncode == 0, result.stderr
        from PIL import Image

        with Image.open(out) as image:
            assert min(image.size) >= 16 and image.mode in ("RGB", "RGBA")
    else:
        assert_one_line_error(result, row["file"], tmp_path)


@pytest.mark.skipif(
    not BAD_WEIGHTS or not HED.exists(),
    reason="shared corpus/bad or models not found (set AUDIOST_SHARED)",
)
@pytest.mark.parametrize("row", BAD_WEIGHTS, ids=[row["file"] for row in BAD_WEIGHTS])
def test_bad_weights(row: dict[str, str], tmp_path: Path) -> None:
    weights = str(BAD / row["file"])
    photo, texture = (
        str(CORPUS / "photo_chelsea_cat_451x300.png"),
        str(CORPUS / "texture_gravel_gray_512x512.png"),
    )
    result = run_cli(
        "transfer",
        photo,
        texture,
        "--net",
        "vgg16",
        "--weights",
        weights,
        "--max-size",
        "32",
        "--iters",
        "1",
        "-q",
        cwd=tmp_path,
    )
    assert_one_line_error(result, row["file"], tmp_path)


def test_content_and_style_of_different_kinds(tmp_path: Path) -> None:
    photo = CORPUS / "photo_chelsea_cat_451x300.png"
    if not photo.exists():
        pytest.skip("shared corpus not found (set AUDIOST_SHARED)")
    result = run_cli(
        "transfer",
        str(REPO / "examples" / "speech.wav"),
        str(photo),
        "-q",
        cwd=tmp_path,
    )
    assert_one_line_error(result, photo.name, tmp_path)
    assert "both as audio or both as images" in result.stderr


@pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"]
)
def test_interrupt_stops_cleanly_and_writes_nothing(
    signum: int, tmp_path: Path
) -> None:
    with sigint_as_in_a_terminal():
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "audiost",
                "transfer",
                str(REPO / "examples" / "speech.wav"),
                str(REPO / "examples" / "music.wav"),
                "--iters",
                "1000",
            ],
            cwd=tmp_path,
            stderr=subprocess.PIPE,
            text=True,
        )
    # Wait until the optimisation is under way (the progress bar shows a loss).
    seen = ""
    while "loss=" not in seen:
        seen += process.stderr.read(1)
        assert process.poll() is None, seen
    process.send_signal(signum)
    _, rest = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "interrupted; no output was written" in rest and "Traceback" not in rest
    assert list(tmp_path.iterdir()) == []


# In-process runs (no torch import per test) for texture and evaluate: the
# same guarantees, with the uncaught exception, if any, in result.exception.
TINY_AUDIO_TEXTURE = [
    "--duration",
    "1s",
    "--preset",
    "fast",
    "--iters",
    "1",
    "--gl-iters",
    "1",
    "-q",
]
TINY_IMAGE_TEXTURE = ["--size", "32x32", "--net", "vgg16", "--weights", "random"]
TINY_IMAGE_TEXTURE += ["--iters", "1", "-q"]
HED_EVALUATE = ["--net", "vgg16", "--weights", str(HED), "--max-size", "32"]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def assert_clean_failure(result: Result, name: str, workdir: Path) -> None:
    """One ``audiost: error:`` line naming ``name``, exit 2, no traceback, nothing written."""
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("audiost: error: ") and name in lines[0], lines[0]
    assert list(workdir.iterdir()) == []  # no output, no temporary file


def assert_good_audio(path: Path, channels: int | None = None) -> None:
    audio, _ = sf.read(path, always_2d=True)
    assert np.isfinite(audio).all() and np.abs(audio).max() > 0
    assert channels is None or audio.shape[1] == channels


def assert_good_image(path: Path, size: tuple[int, int] | None = None) -> None:
    from PIL import Image

    with Image.open(path) as image:
        assert image.mode in ("RGB", "RGBA") and min(image.size) >= 16
        assert size is None or image.size == size
        pixels = np.asarray(image)
    assert pixels.std() > 0  # not a blank canvas


def assert_finite_measures(result: Result) -> None:
    measures = json.loads(result.stdout)["measures"]
    assert all(v is None or math.isfinite(v) for v in measures.values()), measures


@pytest.fixture(scope="module")
def evaluate_trios(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Small valid (content, style, output) files of each kind, for evaluate."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("trio")
    audio = []
    for name, source in [
        ("content.wav", "speech_pocketsphinx_forever_16k_mono.flac"),
        ("style.wav", "music_sonicpi_tabla_loop_44k_stereo.flac"),
        ("output.wav", "sfx_cow_mooing_22k_mono_s16.wav"),
    ]:
        wave, sr = clip(source, 1.0, 0.3)
        sf.write(folder / name, wave.T, sr)
        audio.append(str(folder / name))
    images = []
    for name, source in [
        ("content.png", "photo_chelsea_cat_451x300.png"),
        ("style.png", "texture_gravel_gray_512x512.png"),
        ("output.png", "painting_hokusai_poppies_655x449.png"),
    ]:
        with Image.open(CORPUS / source) as image:
            image.convert("RGB").resize((48, 32)).save(folder / name)
        images.append(str(folder / name))
    return {"audio": audio, "image": images}


BAD_MEDIA = BAD_AUDIO + BAD_IMAGES


@pytest.mark.skipif(
    not BAD_MEDIA, reason="shared corpus/bad not found (set AUDIOST_SHARED)"
)
@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("row", BAD_MEDIA, ids=[row["file"] for row in BAD_MEDIA])
def test_bad_file_as_texture_style(row: dict[str, str], tmp_path: Path) -> None:
    source = BAD / row["file"]
    audio = row in BAD_AUDIO
    out = tmp_path / ("out.wav" if audio else "out.png")
    options = TINY_AUDIO_TEXTURE if audio else TINY_IMAGE_TEXTURE
    result = invoke("texture", str(source), "-o", str(out), *options)
    if row["expected"].startswith("works"):
        assert result.exit_code == 0, (result.stderr, result.exception)
        if audio:
            assert_good_audio(out, sf.info(source).channels)
            assert sf.info(out).samplerate == sf.info(source).samplerate
        else:
            assert_good_image(out, (32, 32))
    elif result.exit_code == 0:
        assert "or works" in row["expected"] or "or repaired" in row["expected"], row
        assert "warning" in result.stderr
        assert_good_audio(out)
    else:
        assert_clean_failure(result, row["file"], tmp_path)


@pytest.mark.skipif(
    not BAD_MEDIA or not HED.exists(),
    reason="shared corpus/bad or models not found (set AUDIOST_SHARED)",
)
@pytest.mark.parametrize("role", ["content", "style", "output"])
@pytest.mark.parametrize("row", BAD_MEDIA, ids=[row["file"] for row in BAD_MEDIA])
def test_bad_file_in_evaluate(
    row: dict[str, str],
    role: str,
    evaluate_trios: dict[str, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    one_thread,
) -> None:
    monkeypatch.chdir(tmp_path)  # evaluate writes nothing, not even here
    audio = row in BAD_AUDIO
    trio = list(evaluate_trios["audio" if audio else "image"])
    trio[["content", "style", "output"].index(role)] = str(BAD / row["file"])
    result = invoke("evaluate", *trio, "--json", *([] if audio else HED_EVALUATE))
    if row["expected"].startswith("works"):
        assert result.exit_code == 0, (result.stderr, result.exception)
        assert_finite_measures(result)
        assert list(tmp_path.iterdir()) == []
    elif result.exit_code == 0:
        assert "or works" in row["expected"] or "or repaired" in row["expected"], row
        assert "warning" in result.stderr
        assert_finite_measures(result)
    else:
        assert_clean_failure(result, row["file"], tmp_path)
