"""The ``audiost transfer`` command as a user meets it: names, overwrite rules, messages."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from audiost import transfer_audio
from audiost.cli import main
from audiost.errors import AudiostError

from .conftest import corpus_file

FAST = ["--preset", "fast", "--iters", "4", "--gl-iters", "4", "--wave-iters", "2"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_default_output_name_progress_and_summary(
    runner, speech_file, music_file, tmp_path, monkeypatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = runner.invoke(main, ["transfer", str(speech_file), str(music_file), *FAST])
    assert result.exit_code == 0, result.output
    out = work / "speech_x_music.wav"
    assert out.exists() and sorted(os.listdir(work)) == [
        "speech_x_music.wav"
    ]  # no temp files left
    # The bar: iterations of both stages, and the loss.
    assert "loss=" in result.stderr and "6/6" in result.stderr
    assert "styling the waveform" in result.stderr
    assert f"wrote {out.name}" in result.stderr
    info, content = sf.info(out), sf.info(speech_file)
    # The content's channels and duration at the (higher) style's rate.
    rate = sf.info(music_file).samplerate
    assert (info.samplerate, info.channels) == (rate, content.channels)
    assert info.frames == content.frames * rate // content.samplerate


def test_a_folder_as_output_gets_the_default_name(
    runner, speech_file, music_file, tmp_path
) -> None:
    """``-o renders/`` writes the default name inside it (as cp and mv take a folder), for transfers, textures and pictures."""
    renders = tmp_path / "renders"
    renders.mkdir()
    photo = corpus_file("photo_chelsea_cat_451x300.png")
    texture = corpus_file("texture_gravel_gray_512x512.png")
    tiny = ["--net", "vgg16", "--weights", "random", "--max-size", "48", "--iters", "3"]
    for args in (
        ["transfer", str(speech_file), str(music_file), *FAST],
        [
            "texture",
            str(music_file),
            "--duration",
            "1s",
            "--iters",
            "4",
            "--gl-iters",
            "4",
        ],
        ["transfer", str(photo), str(texture), *tiny],
    ):
        result = runner.invoke(main, [*args, "-o", str(renders), "-q"])
        assert result.exit_code == 0, result.stderr
    assert sorted(os.listdir(renders)) == [
        "music_texture.wav",
        "photo_chelsea_cat_451x300_x_texture_gravel_gray_512x512.png",
        "speech_x_music.wav",
    ]
    styled = sf.read(renders / "speech_x_music.wav")[0]
    assert np.isfinite(styled).all() and np.abs(styled).max() > 0.01
    # Written once: the folder's file is not replaced unasked.
    again = runner.invoke(
        main, ["transfer", str(speech_file), str(music_file), "-o", str(renders), *FAST]
    )
    assert again.exit_code == 2 and "output file exists" in again.stderr
    # The Python API takes the name it is given: a folder is refused, before any work.
    with pytest.raises(AudiostError, match="output path is a directory"):
        transfer_audio(speech_file, music_file, renders)


def test_never_overwrites_without_asking(
    runner, speech_file, music_file, tmp_path
) -> None:
    out = tmp_path / "o.flac"
    out.write_bytes(b"precious")
    result = runner.invoke(
        main, ["transfer", str(speech_file), str(music_file), "-o", str(out), *FAST]
    )
    assert (
        result.exit_code == 2
        and "--overwrite" in result.stderr
        and out.read_bytes() == b"precious"
    )
    result = runner.invoke(
        main,
        [
            "transfer",
            str(speech_file),
            str(music_file),
            "-o",
            str(out),
            "--overwrite",
            "-q",
            *FAST,
        ],
    )
    assert result.exit_code == 0 and result.stderr == ""  # --quiet: nothing at all
    assert sf.info(out).format == "FLAC"


def test_refuses_to_write_over_an_input(runner, speech_file, music_file) -> None:
    before = speech_file.read_bytes()
    result = runner.invoke(
        main,
        [
            "transfer",
            str(speech_file),
            str(music_file),
            "-o",
            str(speech_file),
            "--overwrite",
            *FAST,
        ],
    )
    assert result.exit_code == 2 and "inputs are never overwritten" in result.stderr
    assert speech_file.read_bytes() == before


@pytest.mark.parametrize(
    "output, message",
    [
        ("missing_dir/out.wav", "output directory does not exist"),
        ("out.opus", "unsupported output format"),
    ],
)
def test_bad_output_paths(
    runner, speech_file, music_file, tmp_path, output, message
) -> None:
    result = runner.invoke(
        main,
        [
            "transfer",
            str(speech_file),
            str(music_file),
            "-o",
            str(tmp_path / output),
            *FAST,
        ],
    )
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_interrupted_write_leaves_nothing(
    speech_file, music_file, tmp_path, monkeypatch
) -> None:
    """A failure while writing (here: a full disk) leaves neither a partial file nor a temporary one."""
    from audiost.media import audio_io

    opened = audio_io.sf.SoundFile

    def disk_full(path, mode="r", *args, **kwargs):
        if mode != "w" or not isinstance(path, (str, os.PathLike)):
            # Reads, and the in-memory check that the output can be written.
            return opened(path, mode, *args, **kwargs)
        Path(path).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(audio_io.sf, "SoundFile", disk_full)
    result = CliRunner().invoke(
        main,
        [
            "transfer",
            str(speech_file),
            str(music_file),
            "-o",
            str(tmp_path / "o.wav"),
            *FAST,
        ],
    )
    assert result.exit_code == 2 and "No space left on device" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["music.flac", "speech.wav"]


def test_device_and_option_errors(runner, speech_file, music_file, tmp_path) -> None:
    import torch

    if not torch.cuda.is_available():
        result = runner.invoke(
            main,
            [
                "transfer",
                str(speech_file),
                str(music_file),
                "--device",
                "cuda",
                "-o",
                str(tmp_path / "o.wav"),
            ],
        )
        assert result.exit_code == 2 and "no CUDA GPU" in result.stderr
    result = runner.invoke(
        main, ["transfer", str(speech_file), str(music_file), "--preset", "ultra"]
    )
    assert result.exit_code == 2 and "ultra" in result.stderr


def test_options_reach_the_engine(runner, speech_file, music_file, tmp_path) -> None:
    out_a, out_b = tmp_path / "a.wav", tmp_path / "b.wav"
    for out, seed in ((out_a, "1"), (out_b, "2")):
        result = runner.invoke(
            main,
            [
                "transfer",
                str(speech_file),
                str(music_file),
                "-o",
                str(out),
                "--seed",
                seed,
                "--mono",
                "-q",
                *FAST,
            ],
        )
        assert result.exit_code == 0, result.stderr
    assert not np.array_equal(sf.read(out_a)[0], sf.read(out_b)[0])
    quiet = tmp_path / "raw.wav"
    result = runner.invoke(
        main,
        [
            "transfer",
            str(speech_file),
            str(music_file),
            "-o",
            str(quiet),
            "--seed",
            "1",
            "--loudness",
            "none",
            "-q",
            *FAST,
        ],
    )
    assert result.exit_code == 0 and not np.allclose(
        sf.read(quiet)[0], sf.read(out_a)[0]
    )


def test_images_go_through_the_same_command(runner, tmp_path, monkeypatch) -> None:
    photo, texture = (
        corpus_file("photo_chelsea_cat_451x300.png"),
        corpus_file("texture_gravel_gray_512x512.png"),
    )
    monkeypatch.chdir(tmp_path)
    tiny = ["--net", "vgg16", "--weights", "random", "--max-size", "48", "--iters", "3"]
    result = runner.invoke(main, ["transfer", str(photo), str(texture), *tiny])
    assert result.exit_code == 0, result.stderr
    out = tmp_path / "photo_chelsea_cat_451x300_x_texture_gravel_gray_512x512.png"
    assert (
        out.exists()
        and "3/3" in result.stderr
        and f"wrote {out.name} (48x32 px)" in result.stderr
    )
    result = runner.invoke(
        main, ["transfer", str(photo), str(texture), "--gl-iters", "3", *tiny]
    )
    assert (
        result.exit_code == 2
        and "--gl-iters does not apply to image inputs; leave it out" in result.stderr
    )


def test_image_progress_counts_every_coarse_to_fine_pass_and_colour_flag(
    runner, tmp_path
) -> None:
    from audiost.media.image import resize, rgb_to_yiq
    from audiost.media.image_io import load_image

    photo, painting = (
        corpus_file("photo_chelsea_cat_451x300.png"),
        corpus_file("painting_hokusai_poppies_655x449.png"),
    )
    tiny = ["--net", "vgg16", "--weights", "random", "--iters", "4", "-o"]
    passes = ["--max-size", "128", "--start-size", "64", "--refine-iters", "2"]
    result = runner.invoke(
        main,
        [
            "transfer",
            str(photo),
            str(painting),
            *passes,
            *tiny,
            str(tmp_path / "a.png"),
        ],
    )
    # 64, 90 and 128 px: 4 iterations, then 2 for each refinement.
    assert result.exit_code == 0 and "8/8" in result.stderr, result.stderr
    out = tmp_path / "kept.png"
    result = runner.invoke(
        main,
        [
            "transfer",
            str(photo),
            str(painting),
            "--max-size",
            "64",
            "--preserve-color",
            *tiny,
            str(out),
        ],
    )
    assert result.exit_code == 0, result.stderr
    colours = rgb_to_yiq(load_image(out).rgb)[..., 1:]
    expected = rgb_to_yiq(resize(load_image(photo).rgb, (64, 43)))[..., 1:]
    assert np.abs(colours - expected).mean() < 0.02, (
        "the bare flag did not keep the photo's colours"
    )


@pytest.mark.parametrize("command", ["transfer", "batch", "texture"])
def test_help_reads_in_sections(command: str) -> None:
    from audiost.cli.options import HELP_SECTIONS

    text = CliRunner().invoke(main, [command, "--help"]).stdout
    titles = [
        line[:-1]
        for line in text.splitlines()
        if line.endswith(":") and not line.startswith(" ")
    ]
    # Sections in their order, every one a command has, then the rest.
    assert titles == [t for t in (*HELP_SECTIONS, "Options") if t in titles]
    assert {"Output", "Quality", "Limits", "Device"} <= set(titles)
    assert text.index("--mix" if command != "texture" else "--loudness") < text.index(
        "Quality:"
    )


def test_texture_help_speaks_of_the_style_not_a_content() -> None:
    text = " ".join(CliRunner().invoke(main, ["texture", "--help"]).stdout.split())
    # "content" only where the command says it has none, and as a choice's name.
    for allowed in (
        "and no content",
        "[content|random|pghi]",
        "a texture has no content phase; 'content' means PGHI here",
        "[default: content]",
    ):
        text = text.replace(allowed, "")
    assert "content" not in text.lower(), text
