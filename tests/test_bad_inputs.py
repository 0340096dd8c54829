"""Every bad input through every command, from two manifests in one format.

``../shared/corpus/bad`` holds broken and unusual real-world files (and a bad
weights file); ``tests/data/bad`` holds hostile headers made here. Each
MANIFEST.tsv row says what a file must do. Every media file goes through
``transfer`` (as content and as style), ``texture`` (as style) and
``evaluate`` (as content, style and output), in process: it works as its
row says, or fails with exactly one ``audiost: error:`` line naming the
file, exit code 2, no traceback and nothing written; the input itself is
never modified. Special files (pipes, devices, links, huge sparse files,
unreadable files, awkward names) are in ``test_special_files.py``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import Result

from audiost.errors import AudiostError
from audiost.media.audio_io import load_audio
from audiost.media.image_io import load_image
from audiost.media.kind import media_kind

from .conftest import (
    BAD,
    CORPUS,
    REPO,
    assert_finite_measures,
    assert_good_audio,
    assert_good_image,
    assert_one_line_error,
    bad_manifest,
    digest,
    invoke,
    needs_corpus,
)

HOSTILE = Path(__file__).parent / "data" / "bad"


def _rows() -> list[tuple[Path, dict[str, str]]]:
    with (HOSTILE / "MANIFEST.tsv").open(newline="") as manifest:
        hostile = list(csv.DictReader(manifest, delimiter="\t"))
    return [(BAD / row["file"], row) for row in bad_manifest()] + [
        (HOSTILE / row["file"], row) for row in hostile
    ]


ROWS = _rows()
MEDIA = [(path, row) for path, row in ROWS if path.suffix != ".pth"]
WEIGHTS = [(path, row) for path, row in ROWS if path.suffix == ".pth"]
IDS = [
    f"{'shared' if path.parent == BAD else 'tests'}/{path.name}" for path, _ in MEDIA
]

AUDIO_FAST = ["--preset", "fast", "--iters", "1", "--gl-iters", "1", "--wave-iters", "1", "-q"]  # fmt: skip
IMAGE_FAST = ["--net", "vgg16", "--weights", "random", "--iters", "1", "-q"]

pytestmark = pytest.mark.usefixtures("one_thread")


def kind_of(path: Path) -> str:
    """What audiost takes the file for (by its name, as for a corrupt file), so its partner is of that kind."""
    return media_kind(path)


def check_outcome(
    result: Result,
    path: Path,
    row: dict[str, str],
    workdir: Path,
    out: Path | None,
    *,
    flat_style: bool = False,
) -> None:
    """As the row says: works (a good output, nothing else written), fails cleanly, or, where it allows, works with a warning.

    An output may be one flat colour only when its style is (a fully transparent picture is flat black).
    """
    expected = row["expected"]
    if expected.startswith("works"):
        assert result.exit_code == 0, (result.stderr, result.exception)
    elif result.exit_code == 0:
        assert "or works" in expected or "or repaired" in expected, (row, result.stderr)
        assert "warning" in result.stderr
    else:
        assert_one_line_error(result, path.name, workdir=workdir)
        return
    if out is None:
        assert_finite_measures(result)
        assert list(workdir.iterdir()) == []
        return
    if kind_of(path) == "audio":
        assert_good_audio(out)
    else:
        assert_good_image(out, flat=flat_style)
    assert sorted(p.name for p in workdir.iterdir()) == [out.name]


def flat(path: Path) -> bool:
    """Whether a readable picture is one colour everywhere."""
    from audiost.errors import AudiostError
    from audiost.media.image_io import load_image

    try:
        return float(load_image(path).rgb.std()) == 0.0
    except AudiostError:
        return False


@pytest.mark.parametrize("role", ["content", "style"])
@pytest.mark.parametrize(("path", "row"), MEDIA, ids=IDS)
def test_bad_file_in_transfer(
    path: Path,
    row: dict[str, str],
    role: str,
    partners: dict[str, Path],
    tmp_path: Path,
) -> None:
    before = digest(path)
    kind = kind_of(path)
    out = tmp_path / ("out.wav" if kind == "audio" else "out.png")
    pair = [path, partners[kind]] if role == "content" else [partners[kind], path]
    options = (
        AUDIO_FAST
        if kind == "audio"
        else [*IMAGE_FAST, "--refine-iters", "1", "--max-size", "32"]
    )
    result = invoke("transfer", *pair, "-o", out, *options)
    flat_style = role == "style" and kind == "image" and flat(path)
    check_outcome(result, path, row, tmp_path, out, flat_style=flat_style)
    if result.exit_code == 0 and kind == "audio" and role == "content":
        # The content's channels at the higher of the two rates.
        info = sf.info(out)
        rate = max(sf.info(path).samplerate, sf.info(partners["audio"]).samplerate)
        assert (info.samplerate, info.channels) == (rate, sf.info(path).channels)
    if (
        result.exit_code == 0
        and path.name == "exif_rotated_90.jpg"
        and role == "content"
    ):
        from PIL import Image

        with Image.open(out) as written:
            assert written.height > written.width, "EXIF rotation was not applied"
    assert digest(path) == before


@pytest.mark.parametrize(("path", "row"), MEDIA, ids=IDS)
def test_bad_file_as_texture_style(
    path: Path, row: dict[str, str], tmp_path: Path
) -> None:
    if kind_of(path) == "audio":
        out, options = tmp_path / "out.wav", ["--duration", "0.5s", *AUDIO_FAST]
    else:
        out, options = tmp_path / "out.png", ["--size", "32x32", *IMAGE_FAST]
    result = invoke("texture", path, "-o", out, *options)
    flat_style = kind_of(path) == "image" and flat(path)
    check_outcome(result, path, row, tmp_path, out, flat_style=flat_style)
    if result.exit_code == 0 and kind_of(path) == "audio":
        assert sf.info(out).samplerate == sf.info(path).samplerate


@pytest.mark.parametrize("role", [0, 1, 2], ids=["content", "style", "output"])
@pytest.mark.parametrize(("path", "row"), MEDIA, ids=IDS)
def test_bad_file_in_evaluate(
    path: Path,
    row: dict[str, str],
    role: int,
    partners: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # evaluate writes nothing, not even here
    kind = kind_of(path)
    trio: list[Path] = [partners[kind]] * 3
    trio[role] = path
    options = (
        []
        if kind == "audio"
        else ["--net", "vgg16", "--weights", "random", "--max-size", "64"]
    )
    result = invoke("evaluate", *trio, "--json", *options)
    check_outcome(result, path, row, tmp_path, None)


@pytest.mark.parametrize(("path", "row"), MEDIA, ids=IDS)
def test_bad_file_in_info_and_as_a_recipe(
    path: Path,
    row: dict[str, str],
    partners: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """info reads headers: it may describe a file whose samples are broken, but never with a traceback, and refuses one it cannot read for the reason styling it gives; as a recipe, a file without a record is refused in one line."""
    monkeypatch.chdir(tmp_path)
    before = digest(path)
    shown = invoke("info", path, "--json")
    kind = kind_of(path)
    if shown.exit_code == 0:
        assert json.loads(shown.stdout)["record"] is None
    else:
        assert_one_line_error(shown, path.name, workdir=tmp_path)
        # The words reading it to style it gives, not the decoder's (which
        # said a web page named .mp3 did not exist).
        with pytest.raises(AudiostError) as reading:
            load_audio(path) if kind == "audio" else load_image(path)
        assert reading.value.message in shown.output, (shown.output, reading.value)
    rerun = invoke(
        "transfer",
        partners[kind],
        partners[kind],
        "--recipe",
        path,
        "-o",
        tmp_path / "o.wav",
    )
    assert_one_line_error(rerun, path.name, workdir=tmp_path)
    assert digest(path) == before


@pytest.mark.skipif(
    not WEIGHTS, reason="shared corpus/bad not found (set AUDIOST_SHARED)"
)
@pytest.mark.parametrize(("path", "row"), WEIGHTS, ids=[p.name for p, _ in WEIGHTS])
def test_bad_weights(
    path: Path, row: dict[str, str], partners: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out.png"
    image = partners["image"]
    result = invoke(
        "transfer",
        image,
        image,
        "-o",
        out,
        "--net",
        "vgg16",
        "--weights",
        path,
        "--max-size",
        "32",
        "--iters",
        "1",
        "-q",
    )
    assert_one_line_error(result, path.name, workdir=tmp_path)


@pytest.mark.parametrize(
    ("path", "row"),
    [(p, r) for p, r in ROWS if p.suffix == ".pth" or media_kind(p) == "image"],
    ids=lambda value: value.name if isinstance(value, Path) else "",
)
def test_bad_image_or_weights_in_the_python_api(
    path: Path, row: dict[str, str], tmp_path: Path
) -> None:
    """``transfer_image`` raises one-line :class:`AudiostError` naming the file where the CLI would fail, and writes nothing."""
    from audiost import AudiostError, transfer_image

    noise = np.random.default_rng(0).random((24, 40, 3)).astype(np.float32)
    tiny = {
        "net": "vgg16",
        "weights": "random",
        "max_size": 32,
        "iters": 1,
        "refine_iters": 1,
    }
    output = tmp_path / "out.png"
    if path.suffix == ".pth":
        content, tiny["weights"] = noise, str(path)
    else:
        content = path
    if row["expected"].startswith("works"):
        result = transfer_image(content, noise, output, **tiny)
        assert np.isfinite(result.final_losses["total"])
        assert_good_image(output, flat=flat(path))
    else:
        with pytest.raises(AudiostError) as info:
            transfer_image(content, noise, output, **tiny)
        assert path.name in str(info.value) and "\n" not in str(info.value)
        assert list(tmp_path.iterdir()) == [], "something was written"


def test_content_and_style_of_different_kinds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = CORPUS / "photo_chelsea_cat_451x300.png"
    if not photo.exists():
        pytest.skip("shared corpus not found (set AUDIOST_SHARED)")
    monkeypatch.chdir(tmp_path)
    result = invoke("transfer", REPO / "examples" / "speech.wav", photo, "-q")
    assert_one_line_error(
        result, photo.name, "both as audio or both as images", workdir=tmp_path
    )


@needs_corpus
def test_info_decodes_what_has_no_header_libsndfile_reads(monkeypatch) -> None:
    """A file only the fallback decoder reads is described from its samples, as styling it would read them."""
    path = CORPUS / "speech_pocketsphinx_playing_cards_16k_mono_s24.wav"

    def unreadable(*args: object, **kwargs: object) -> None:
        raise sf.LibsndfileError(1, "Error opening: ")

    monkeypatch.setattr(sf, "info", unreadable)
    shown = invoke("info", path, "--json")
    assert shown.exit_code == 0, shown.output
    facts = json.loads(shown.stdout)
    assert facts["format"].startswith("decoded")
    assert facts["sample rate (Hz)"] == 16000 and facts["channels"] == 1
    assert facts["duration (s)"] == pytest.approx(3.502, abs=0.001)
