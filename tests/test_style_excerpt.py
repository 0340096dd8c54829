"""``--style-start`` / ``--style-duration``: only the chosen part of a style is imitated, and measured against."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from audiost import AudioStylist, audio_preset, transfer_audio
from audiost.cli import main
from audiost.evaluate import evaluate
from audiost.media.audio_io import load_audio
from audiost.metrics import audio_measures

from .conftest import clip, corpus_file

PART_S = 3.0


@pytest.fixture(scope="module")
def two_part_style(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A style file of applause then a mariachi band, 3 s each (44.1 kHz mono), and each part alone."""
    folder = tmp_path_factory.mktemp("excerpt")
    applause, sr = clip("sfx_applause_crowd_44k_mono_f32.wav", PART_S)
    band, band_sr = clip("music_mariachi_mexico_44k_mono.mp3", PART_S, 2.0)
    assert sr == band_sr
    paths = (
        folder / "applause_then_band.wav",
        folder / "applause.wav",
        folder / "band.wav",
    )
    for path, wave in zip(
        paths, (np.hstack([applause, band]), applause, band), strict=True
    ):
        sf.write(path, wave.T, sr)
    return paths


@pytest.fixture(scope="module")
def voice(tmp_path_factory, speech) -> Path:
    path = tmp_path_factory.mktemp("voice") / "voice.wav"
    sf.write(path, speech[0].T, speech[1])
    return path


def test_each_excerpt_brings_its_own_part(two_part_style, voice, one_thread) -> None:
    """The same file, two excerpts, one stylist: each output nears its part and not the other; the style's targets are not reused across excerpts."""
    both, applause, band = two_part_style
    stylist = AudioStylist(audio_preset("fast", iters=15, wave_iters=5))
    first = stylist.transfer(voice, both, style_duration=PART_S)
    second = stylist.transfer(voice, both, style_start=PART_S)
    gains = {}
    for name, result in (("applause", first), ("band", second)):
        for part, path in (("applause", applause), ("band", band)):
            measures = _measures(voice, path, result)
            gains[name, part] = measures["style_gain"]
    assert gains["applause", "applause"] > gains["applause", "band"] + 0.15
    assert gains["band", "band"] > gains["band", "applause"] + 0.15
    assert min(gains["applause", "applause"], gains["band", "band"]) > 0.6


def _measures(voice: Path, style: Path, result) -> dict[str, float]:
    return audio_measures(
        *load_audio(voice), *load_audio(style), result.audio, result.sr
    )


def test_a_file_s_excerpt_is_styled_as_those_samples_would_be(
    two_part_style, voice, one_thread
) -> None:
    """Read from the file (not decoded whole) or given as the excerpt's samples: the same output, sample for sample."""
    both, _, _ = two_part_style
    cfg = audio_preset("fast", iters=4, wave_iters=2)
    from_file = transfer_audio(
        voice, both, config=cfg, style_start=1.5, style_duration=PART_S
    )
    samples, sr = load_audio(both, start=1.5, duration=PART_S)
    from_samples = transfer_audio(voice, samples, config=cfg, style_sr=sr)
    np.testing.assert_array_equal(from_file.audio, from_samples.audio)


def test_the_command_measures_against_the_excerpt(
    two_part_style, voice, tmp_path: Path
) -> None:
    """``--json`` and ``--report`` measure against the part imitated, as ``evaluate --style-start`` does; the texture's length is the excerpt's."""
    both, _, _ = two_part_style
    runner = CliRunner()
    output, report = tmp_path / "out.wav", tmp_path / "report"
    fast = ["--preset", "fast", "--iters", "5", "-q"]
    done = runner.invoke(
        main,
        ["transfer", str(voice), str(both), "-o", str(output), "--style-start", "3",
         "--json", "--report", str(report), *fast],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    document = json.loads(done.stdout)
    assert document["style_excerpt"] == {"start": 3.0, "duration": None}
    against_band = evaluate(voice, both, output, style_start=3.0).measures
    assert document["measures"] == pytest.approx(
        {
            **against_band,
            "spectral_convergence": document["measures"]["spectral_convergence"],
        }
    )
    assert against_band["style_gain"] != pytest.approx(
        evaluate(voice, both, output).measures["style_gain"], abs=0.01
    )
    recorded = json.loads((report / "out.json").read_text())
    assert recorded["style_excerpt"] == {"start": 3.0, "duration": None}
    assert recorded["measures"] == pytest.approx(document["measures"])
    measured = runner.invoke(
        main,
        [
            "evaluate",
            str(voice),
            str(both),
            str(output),
            "--style-start",
            "3",
            "--json",
        ],
    )
    assert measured.exit_code == 0, measured.output
    assert json.loads(measured.stdout)["measures"] == pytest.approx(
        document["measures"]
    )
    texture = tmp_path / "texture.wav"
    made = runner.invoke(
        main,
        [
            "texture",
            str(both),
            "--style-start",
            "4",
            "-o",
            str(texture),
            "--json",
            *fast,
        ],
    )
    assert made.exit_code == 0, made.output
    assert sf.info(texture).duration == pytest.approx(2 * PART_S - 4, abs=0.05)
    assert json.loads(made.stdout)["style_excerpt"]["start"] == 4.0


def test_an_excerpt_outside_the_style_or_of_a_picture_is_refused(
    two_part_style, voice, tmp_path: Path
) -> None:
    both, _, _ = two_part_style
    runner = CliRunner()
    late = runner.invoke(
        main,
        [
            "transfer",
            str(voice),
            str(both),
            "-o",
            str(tmp_path / "o.wav"),
            "--style-start",
            "9",
        ],
    )
    assert late.exit_code == 2
    assert late.stderr == (
        f"audiost: error: {both}: the excerpt starts at 9 s, at or past the end of the audio (6.00 s)\n"
    )
    assert not (tmp_path / "o.wav").exists()
    # A silent part of a sounding file: the message names the part, not the file alone.
    wave, sr = sf.read(voice, dtype="float32")
    padded = tmp_path / "voice_then_silence.wav"
    sf.write(padded, np.concatenate([wave, np.zeros(2 * sr, np.float32)]), sr)
    quiet = runner.invoke(
        main,
        [
            "transfer",
            str(voice),
            str(padded),
            "--style-start",
            f"{len(wave) / sr + 0.5:g}",
        ],
    )
    assert quiet.exit_code == 2
    assert quiet.stderr.startswith(f"audiost: error: {padded} from ")
    assert quiet.stderr.endswith(" s: is digital silence; there is nothing to style\n")
    photo = str(corpus_file("photo_chelsea_cat_451x300.png"))
    picture = runner.invoke(main, ["transfer", photo, photo, "--style-duration", "2s"])
    assert picture.exit_code == 2
    assert "excerpt of audio; crop a picture first" in picture.stderr


def test_a_batch_imitates_the_part_and_keeps_it_in_its_recipe(
    two_part_style, voice, tmp_path: Path
) -> None:
    """``batch --style-start``: each pair nears the part, the manifest and recipe.toml say which, ``transfer --recipe`` re-runs a pair as the batch did, and one style the part misses fails its pairs in one line."""
    both, applause, band = two_part_style
    shutil.copy(voice, tmp_path / "voice_again.wav")
    out = tmp_path / "out"
    fast = ["--preset", "fast", "--iters", "15", "--wave-iters", "5", "-q"]
    runner = CliRunner()
    ran = runner.invoke(
        main,
        ["batch", str(voice), str(tmp_path / "voice_again.wav"), "-s", str(both),
         "-s", str(applause), "-o", str(out), "--style-start", "3", *fast],
    )  # fmt: skip
    assert ran.exit_code == 1, ran.output  # the 3 s of applause has nothing from 3 s on
    # One line for both pairs (the path as the user would type it, from here).
    (missed,) = [line for line in ran.stderr.splitlines() if "failed:" in line]
    assert missed.startswith("audiost: failed: 2 pairs: ")
    assert missed.endswith(
        f"{applause.name}: the excerpt starts at 3 s, at or past the end of the audio (3.00 s)"
    )
    assert "style_start = 3.0\n" in (out / "recipe.toml").read_text()
    lines = [json.loads(line) for line in (out / "manifest.jsonl").open()]
    assert sorted(line["status"] for line in lines) == [
        "done",
        "done",
        "failed",
        "failed",
    ]
    assert all(
        line["style_excerpt"] == {"start": 3.0, "duration": None} for line in lines
    )
    styled = out / "voice_x_applause_then_band.wav"
    output, sr = sf.read(styled, dtype="float32", always_2d=True)
    toward = {
        name: audio_measures(*load_audio(voice), *load_audio(path), output.T, sr)[
            "style_gain"
        ]
        for name, path in (("band", band), ("applause", applause))
    }
    assert toward["band"] > toward["applause"] + 0.15, toward
    again = tmp_path / "again.wav"
    rerun = runner.invoke(
        main,
        ["transfer", str(voice), str(both), "--recipe", str(out / "recipe.toml"),
         "-o", str(again), "-q"],
    )  # fmt: skip
    assert rerun.exit_code == 0, rerun.output
    np.testing.assert_allclose(
        sf.read(again, dtype="float32", always_2d=True)[0], output, atol=1e-4
    )


def test_a_custom_loop_s_problem_takes_the_same_parts(
    two_part_style, voice, one_thread
) -> None:
    """``stylist.problem`` builds from the content's excerpt and the style's part, as ``transfer`` does."""
    both, _, band = two_part_style
    stylist = AudioStylist(audio_preset("fast"))
    objective, canvas = stylist.problem(voice, both, style_start=PART_S)
    band_objective, band_canvas = stylist.problem(voice, band)
    applause_objective, _ = stylist.problem(voice, both, style_duration=PART_S)
    torch.testing.assert_close(canvas, band_canvas)
    loss = objective(canvas)[0].item()
    assert loss == pytest.approx(band_objective(canvas)[0].item(), rel=1e-5)
    assert applause_objective(canvas)[0].item() != pytest.approx(loss, rel=0.05)
    _, short = stylist.problem(voice, both, start=0.5, duration=1.0)
    assert short.shape[-1] < 0.5 * canvas.shape[-1]
