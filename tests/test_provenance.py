"""Every output carries the settings that made it; `audiost info` shows them and `--recipe` re-runs them."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from audiost.config import settings_table
from audiost.media.audio_io import read_spectral_convergence
from audiost.provenance import encode_record, read_record

from .conftest import assert_one_line_error, corpus_file, invoke

pytestmark = pytest.mark.usefixtures("one_thread")

AUDIO_RUN = (
    "--preset",
    "fast",
    "--iters",
    "3",
    "--gl-iters",
    "4",
    "--duration",
    "1s",
    "-q",
)
IMAGE_RUN = ("--net", "vgg16", "--weights", "random", "--max-size", "40", "--iters", "3", "-q")  # fmt: skip


@pytest.fixture(scope="module")
def audio_pair() -> tuple:
    return (
        corpus_file("speech_pocketsphinx_forever_16k_mono.flac"),
        corpus_file("music_sonicpi_tabla_loop_44k_stereo.flac"),
    )


@pytest.fixture(scope="module")
def image_pair() -> tuple:
    return (
        corpus_file("photo_chelsea_cat_451x300.png"),
        corpus_file("texture_gravel_gray_512x512.png"),
    )


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg", ".mp3"])
def test_an_audio_output_carries_its_settings_and_reruns_from_them(
    tmp_path, audio_pair, suffix
) -> None:
    first, second = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    made = invoke("transfer", *audio_pair, "-o", first, *AUDIO_RUN, "--mix", "0.7", "--style-weight", "9")  # fmt: skip
    assert made.exit_code == 0, made.stderr
    record = read_record(first)
    assert record["kind"] == "audio" and record["audiost"]
    assert record["command"] == "transfer"
    assert record["settings"]["mix"] == 0.7 and record["settings"]["style_weight"] == 9
    assert record["settings"]["iters"] == 3
    # What only the run knew, and evaluate reads back.
    assert read_spectral_convergence(first) == pytest.approx(
        record["spectral_convergence"]
    )

    again = invoke("transfer", *audio_pair, "-o", second, "--recipe", first, "--duration", "1s", "-q")  # fmt: skip
    assert again.exit_code == 0, again.stderr
    assert read_record(second)["settings"] == record["settings"]
    if suffix in (".wav", ".flac"):  # lossless: the same samples
        np.testing.assert_array_equal(sf.read(first)[0], sf.read(second)[0])


def test_a_texture_says_so_and_reruns_from_its_record(tmp_path, audio_pair) -> None:
    style = audio_pair[1]
    first, second = tmp_path / "a.wav", tmp_path / "b.wav"
    run = ("--preset", "fast", "--iters", "3", "--gl-iters", "4", "--duration", "1s", "-q")  # fmt: skip
    made = invoke("texture", style, "-o", first, *run, "--seed", "3", "--style-weight", "9")  # fmt: skip
    assert made.exit_code == 0, made.stderr
    record = read_record(first)
    assert record["command"] == "texture" and record["settings"]["seed"] == 3
    assert re.search(r"made by +audiost \S+ texture\n", invoke("info", first).stdout)
    again = invoke("texture", style, "-o", second, "--recipe", first, "--duration", "1s", "-q")  # fmt: skip
    assert again.exit_code == 0, again.stderr
    assert read_record(second)["settings"] == record["settings"]
    # Seed 3 and style weight 9 came back from the record: the same samples.
    np.testing.assert_array_equal(sf.read(first)[0], sf.read(second)[0])
    # Audio settings do not style a picture.
    picture = corpus_file("photo_chelsea_cat_451x300.png")
    work = tmp_path / "elsewhere"
    work.mkdir()
    assert_one_line_error(
        invoke("texture", picture, "-o", work / "c.png", "--recipe", first),
        "a.wav",
        "settings of an audio texture",
        "do not apply to images",
        workdir=work,
    )


def test_options_override_the_recipe(tmp_path, audio_pair) -> None:
    first = tmp_path / "a.wav"
    assert invoke("transfer", *audio_pair, "-o", first, *AUDIO_RUN).exit_code == 0
    second = tmp_path / "b.wav"
    result = invoke("transfer", *audio_pair, "-o", second, "--recipe", first, "--duration", "1s", "--iters", "2", "-q")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    settings = read_record(second)["settings"]
    assert settings["iters"] == 2
    assert {k: v for k, v in settings.items() if k != "iters"} == {
        k: v for k, v in read_record(first)["settings"].items() if k != "iters"
    }


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_a_picture_carries_its_settings_and_reruns_from_them(
    tmp_path, image_pair, suffix
) -> None:
    first, second = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    made = invoke("transfer", *image_pair, "-o", first, *IMAGE_RUN, "--style-weight", "12")  # fmt: skip
    assert made.exit_code == 0, made.stderr
    record = read_record(first)
    assert record["kind"] == "image" and record["settings"]["style_weight"] == 12
    again = invoke("transfer", *image_pair, "-o", second, "--recipe", first, "-q")
    assert again.exit_code == 0, again.stderr
    assert read_record(second)["settings"] == record["settings"]
    if suffix == ".png":
        assert np.array_equal(
            np.asarray(Image.open(first)), np.asarray(Image.open(second))
        )


def test_info_shows_the_file_and_its_record(tmp_path, audio_pair) -> None:
    out = tmp_path / "a.flac"
    assert invoke("transfer", *audio_pair, "-o", out, *AUDIO_RUN, "--bit-depth", "16").exit_code == 0  # fmt: skip
    shown = invoke("info", out)
    assert shown.exit_code == 0, shown.stderr
    assert "FLAC PCM_16" in shown.stdout and "made by" in shown.stdout
    assert 'bit_depth = "16"' in shown.stdout
    as_json = json.loads(invoke("info", out, "--json").stdout)
    assert as_json["kind"] == "audio" and as_json["sample rate (Hz)"] == 44100
    assert as_json["record"]["settings"] == read_record(out)["settings"]
    # A file audiost did not write has no record, and says so.
    plain = invoke("info", audio_pair[0])
    assert plain.exit_code == 0 and "no audiost record" in plain.stdout


def test_the_record_is_the_recipe_a_batch_would_save(tmp_path, audio_pair) -> None:
    from audiost import audio_preset, transfer_audio

    config = audio_preset("fast", iters=2, gl_iters=2, loudness="rms")
    transfer_audio(*audio_pair, tmp_path / "a.wav", config=config, duration=1.0)
    assert read_record(tmp_path / "a.wav")["settings"] == settings_table(config)


def test_older_outputs_still_give_their_spectral_convergence(tmp_path) -> None:
    path = tmp_path / "old.wav"
    with sf.SoundFile(path, "w", 8000, 1) as file:
        file.comment = "audiost_spectral_convergence=0.250000"
        file.write(np.zeros(800, np.float32))
    assert read_spectral_convergence(path) == 0.25 and read_record(path) is None


def test_an_output_from_before_a_setting_says_it_is_not_remade_as_it_was(
    tmp_path, audio_pair
) -> None:
    """An output whose record lacks a setting added since (a term on by default) re-runs with today's default: said, naming the option; given, or not an option of the command run, not said."""
    made = tmp_path / "made.wav"
    assert invoke("transfer", *audio_pair, "-o", made, *AUDIO_RUN).exit_code == 0
    record = read_record(made)
    # Off today, or as it was before it existed: not said.
    for name in ("pitch_weight", "stereo", "wave_variable"):
        del record["settings"][name]
    older = tmp_path / "older.wav"
    with sf.SoundFile(older, "w", 8000, 1) as file:
        file.comment = encode_record(record)
        file.write(np.zeros(800, np.float32))
    rerun = ("transfer", *audio_pair, "--recipe", older, "--duration", "1s", "-q")
    said = invoke(*rerun, "-o", tmp_path / "a.wav")
    assert said.exit_code == 0, said.stderr
    assert "made by an audiost without --pitch-weight; its default is used" in (
        said.stderr
    )
    assert "--stereo" not in said.stderr and "--wave-variable" not in said.stderr
    given = invoke(*rerun, "-o", tmp_path / "b.wav", "--pitch-weight", "0")
    assert given.exit_code == 0 and "warning" not in given.stderr
    current = invoke(*rerun[:4], made, "--duration", "1s", "-q", "-o", tmp_path / "c.wav")  # fmt: skip
    assert current.exit_code == 0 and "warning" not in current.stderr
    # A texture has no content: a content term it lacks is not its concern.
    texture = ("texture", audio_pair[1], "--recipe", older, "--duration", "1s")
    textured = invoke(*texture, "-q", "-o", tmp_path / "t.wav")
    assert textured.exit_code == 0 and "warning" not in textured.stderr, textured.stderr


@pytest.mark.parametrize(
    ("recipe", "needles"),
    [
        ("speech", ["holds no audiost settings"]),
        ("picture", ["image transfer", "do not apply to audio"]),
        ("missing.wav", ["no such file"]),
    ],
)
def test_a_recipe_that_cannot_be_used_is_one_line(
    tmp_path, audio_pair, image_pair, recipe, needles
) -> None:
    if recipe == "picture":
        source = tmp_path / "p.png"
        assert invoke("transfer", *image_pair, "-o", source, *IMAGE_RUN).exit_code == 0
    else:
        source = audio_pair[0] if recipe == "speech" else tmp_path / recipe
    work = tmp_path / "work"
    work.mkdir()
    result = invoke("transfer", *audio_pair, "-o", work / "o.wav", "--recipe", source, "-q")  # fmt: skip
    assert_one_line_error(result, *needles, workdir=work)


def test_a_toml_recipe_is_a_starting_point_too(tmp_path, audio_pair) -> None:
    recipe = tmp_path / "recipe.toml"
    recipe.write_text('preset = "fast"\niters = 2\n[audio]\ngl_iters = 3\nmix = 0.4\n')
    out = tmp_path / "o.wav"
    result = invoke("transfer", *audio_pair, "-o", out, "--recipe", recipe, "--duration", "1s", "-q")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    settings = read_record(out)["settings"]
    assert (settings["iters"], settings["gl_iters"], settings["mix"]) == (2, 3, 0.4)
    assert settings["n_filters"] == 64  # from the recipe's preset, fast
