"""Several audio styles in one output: their statistics blended, or a morph from the first to the last.

The blend's share moves the output toward each style in proportion; the
morph sounds like the first style at the start and the last at the end.
Measured with the log-mel distance of :mod:`audiost.metrics` on real
corpus inputs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from audiost import AudiostError, audio_preset, transfer_audio
from audiost.audio.objective import morph_shares, style_shares
from audiost.engine import (
    EnvelopeLoss,
    GramLoss,
    LevelDistributionLoss,
    MeanStdLoss,
    TimeWindows,
)
from audiost.engine.losses import window_slices
from audiost.media.audio_io import load_audio, resample
from audiost.metrics import ANALYSIS_RATE, logmel_distance
from audiost.provenance import read_record

from .conftest import assert_one_line_error, corpus_file, invoke

pytestmark = pytest.mark.usefixtures("one_thread")

SPEECH = "speech_librivox_austen_sense_and_sensibility_part2_16k_mono_s16.wav"
CRICKETS = "sfx_night_crickets_44k_mono.ogg"
DJEMBE = "music_djembe_accompaniment_africa_44k_stereo.ogg"
QUICK = audio_preset("fast", iters=20, gl_iters=16)


def mono(path_or_audio: Path | np.ndarray, sr: int | None = None) -> np.ndarray:
    if sr is None:
        path_or_audio, sr = load_audio(path_or_audio)
    return resample(np.atleast_2d(path_or_audio), sr, ANALYSIS_RATE).mean(axis=0)


def distances(audio: np.ndarray, *styles: np.ndarray) -> list[float]:
    return [logmel_distance(audio, style, ANALYSIS_RATE) for style in styles]


@pytest.fixture(scope="module")
def inputs() -> tuple[Path, Path, Path]:
    return corpus_file(SPEECH), corpus_file(CRICKETS), corpus_file(DJEMBE)


@pytest.fixture(scope="module")
def style_audio(inputs) -> tuple[np.ndarray, np.ndarray]:
    return mono(inputs[1]), mono(inputs[2])


# -------------------------------------------------------------- the losses


def test_a_blended_statistic_is_the_weighted_mean_of_the_styles() -> None:
    torch.manual_seed(0)
    first, second = torch.randn(1, 8, 40), 3 * torch.randn(1, 8, 60) + 1
    for kind in (GramLoss, MeanStdLoss):
        a, b = kind(first), kind(second)
        blend = kind.blend([a, b], [0.25, 0.75])
        torch.testing.assert_close(blend.target, 0.25 * a.target + 0.75 * b.target)
        # Its own target is a minimum of neither style's loss but of the blend's.
        assert blend.from_statistic(blend.target) == 0
        assert blend.from_statistic(b.target) < blend.from_statistic(a.target)


def test_blended_levels_are_between_the_styles_rank_by_rank() -> None:
    quiet = torch.rand(1, 1, 5, 50) * 2
    loud = torch.rand(1, 1, 5, 80) * 2 + 6
    blend = LevelDistributionLoss.blend(
        [LevelDistributionLoss(quiet), LevelDistributionLoss(loud)], [0.5, 0.5]
    )
    middle = blend.sorted_target
    assert middle.shape[-1] == 80
    # The barycentre of two separate ranges lies between them, not on both.
    assert 3 < float(middle.min()) and float(middle.max()) < 5
    assert torch.all(middle.diff(dim=-1) >= 0)  # still sorted: quantiles


def test_a_blended_envelope_is_the_geometric_mean_of_the_powers() -> None:
    a, b = torch.rand(1, 1, 6, 30), torch.rand(1, 1, 6, 30) + 3
    first, second = EnvelopeLoss(a, "frequency"), EnvelopeLoss(b, "frequency")
    blend = EnvelopeLoss.blend([first, second], [0.5, 0.5])
    torch.testing.assert_close(blend.target, (first.target + second.target) / 2)


@pytest.mark.parametrize(("length", "count"), [(100, 1), (100, 9), (7, 5), (3, 8)])
def test_windows_cover_the_time_axis_and_overlap_by_half(length, count) -> None:
    slices = window_slices(length, count)
    assert len(slices) == count
    assert slices[0].start == 0 and slices[-1].stop >= length
    assert all(s.stop > s.start for s in slices)
    covered = np.zeros(length, bool)
    for s in slices:
        covered[s] = True
    assert covered.all()
    if count > 1 and length >= 4 * (count + 1):
        assert slices[1].start < slices[0].stop  # neighbours share frames


def test_each_window_is_held_to_its_own_target() -> None:
    canvas = torch.cat([torch.zeros(1, 1, 4, 50), torch.full((1, 1, 4, 50), 5.0)], -1)
    early, late = canvas[..., :50], canvas[..., 50:]
    windows = TimeWindows(
        [EnvelopeLoss(early, "frequency"), EnvelopeLoss(late, "frequency")]
    )
    swapped = TimeWindows(
        [EnvelopeLoss(late, "frequency"), EnvelopeLoss(early, "frequency")]
    )
    assert float(windows(canvas)) < float(swapped(canvas))


def test_a_morph_moves_from_the_first_style_to_the_last() -> None:
    assert morph_shares(0.0, 2) == [1.0, 0.0]
    assert morph_shares(1.0, 2) == [0.0, 1.0]
    assert morph_shares(0.25, 2) == pytest.approx([0.75, 0.25])
    # Three styles: through the middle one, two neighbours at a time.
    assert morph_shares(0.5, 3) == pytest.approx([0.0, 1.0, 0.0])
    assert morph_shares(0.75, 3) == pytest.approx([0.0, 0.5, 0.5])
    for place in np.linspace(0, 1, 11):
        assert sum(morph_shares(place, 4)) == pytest.approx(1.0)


def test_style_shares_are_normalised() -> None:
    assert style_shares((), 3) == pytest.approx([1 / 3] * 3)
    assert style_shares((3.0, 1.0), 2) == pytest.approx([0.75, 0.25])


# --------------------------------------------------------------- transfers


def test_the_blend_moves_toward_each_style_in_proportion(inputs, style_audio) -> None:
    content, crickets, djembe = inputs
    outputs = {
        share: transfer_audio(
            content,
            [crickets, djembe],
            config=QUICK,
            duration=4.0,
            style_weights=(share, 1 - share),
        )
        for share in (0.8, 0.2)
    }
    mostly_crickets, mostly_djembe = (
        distances(mono(r.audio, r.sr), *style_audio) for r in outputs.values()
    )
    # Measured: crickets/djembe distances 4.6/15.3 dB at 0.8, 13.3/6.4 at 0.2
    # (the content: 27.0/20.7).
    assert mostly_crickets[0] < mostly_djembe[0] - 3
    assert mostly_djembe[1] < mostly_crickets[1] - 3
    # A blend, not one style: both distances well below the content's.
    before = distances(mono(content), *style_audio)
    blend = distances(mono(outputs[0.8].audio, outputs[0.8].sr), *style_audio)
    assert blend[0] < 0.6 * before[0] and blend[1] < 0.9 * before[1]


def test_a_morph_starts_as_the_first_style_and_ends_as_the_last(
    inputs, style_audio
) -> None:
    content, crickets, djembe = inputs
    result = transfer_audio(
        content, [crickets, djembe], config=QUICK, duration=6.0, morph=True
    )
    audio = mono(result.audio, result.sr)
    third = audio.size // 3
    start, end = (
        distances(audio[:third], *style_audio),
        distances(audio[-third:], *style_audio),
    )
    # Measured: start 3.5/17.4 dB from crickets/djembe, end 16.9/3.6.
    assert start[0] < start[1] - 6
    assert end[1] < end[0] - 6
    assert np.isfinite(result.audio).all()


def test_a_morph_runs_across_sections(inputs, style_audio) -> None:
    """Sections (here of 6 s over a 14 s content) each take their stretch of the morph."""
    _, crickets, djembe = inputs
    content = corpus_file("music_wesnoth_traveling_minstrels_folk_44k_stereo.flac")
    result = transfer_audio(
        content,
        [crickets, djembe],
        config=QUICK.replace(iters=10, wave_iters=3),
        duration=14.0,
        section_seconds=6.0,
        morph=True,
    )
    audio = mono(result.audio, result.sr)
    fifth = audio.size // 5
    start, end = (
        distances(audio[:fifth], *style_audio),
        distances(audio[-fifth:], *style_audio),
    )
    # Measured: start 9.0/21.7 dB from crickets/djembe, end 15.0/11.6.
    assert start[0] < start[1] - 5 and end[1] < end[0] - 2


# --------------------------------------------------------- command line


def test_the_command_line_blends_and_records_it(tmp_path, inputs) -> None:
    content, crickets, djembe = inputs
    out = tmp_path / "blend.wav"
    result = invoke(
        "transfer", content, crickets, djembe, "--style-weights", "0.7,0.3",
        "-o", out, "--preset", "fast", "--iters", "4", "--gl-iters", "4",
        "--duration", "2s", "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    settings = read_record(out)["settings"]
    assert settings["style_weights"] == [0.7, 0.3] and settings["morph"] is False


def test_the_default_name_joins_the_styles(tmp_path, inputs, monkeypatch) -> None:
    content, crickets, djembe = inputs
    monkeypatch.chdir(tmp_path)
    result = invoke(
        "transfer", content, crickets, djembe, "--morph", "--preset", "fast",
        "--iters", "2", "--gl-iters", "2", "--duration", "2s", "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    name = f"{content.stem}_x_{crickets.stem}+{djembe.stem}.wav"
    assert [p.name for p in tmp_path.iterdir()] == [name]


@pytest.mark.parametrize(
    ("styles", "args", "needles"),
    [
        (2, ["--style-weights", "1,2,3"], ["3 style weights", "2 styles"]),
        (1, ["--morph"], ["two styles"]),
        (2, ["--morph", "--style-weights", "1,1"], ["--morph", "style_weights"]),
        (2, ["--style-weights", "0,0"], ["--style-weights", "not all be 0"]),
        (2, ["--style-weights", "1,nan"], ["--style-weights"]),
    ],
)
def test_several_style_mistakes_are_one_line_before_any_work(
    tmp_path, inputs, styles, args, needles
) -> None:
    content, *style_files = inputs
    result = invoke(
        "transfer", content, *style_files[:styles], *args,
        "-o", tmp_path / "out.wav", "--preset", "fast", "-q",
    )  # fmt: skip
    assert_one_line_error(result, *needles, workdir=tmp_path)
    assert not list(tmp_path.iterdir())


def test_images_do_not_morph(tmp_path) -> None:
    photo = corpus_file("photo_chelsea_cat_451x300.png")
    styles = [
        corpus_file("texture_gravel_gray_512x512.png"),
        corpus_file("texture_grass_gray_512x512.png"),
    ]
    result = invoke("transfer", photo, *styles, "-o", tmp_path / "o.png", "--morph")
    assert_one_line_error(result, "--morph", "image", workdir=tmp_path)


def test_a_batch_takes_one_style_per_output() -> None:
    result = invoke("batch", "--help")
    assert "--morph" not in result.output and "--style-weights" not in result.output


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ("[audio]\nmorph = true\n", "audio.morph"),
        ("style_weights = [1, 2]\n", "style_weights"),
    ],
)
def test_a_batch_recipe_that_combines_styles_is_refused_before_any_work(
    tmp_path, inputs, table, named
) -> None:
    content, crickets, _ = inputs
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(table)
    out = tmp_path / "out"
    result = invoke(
        "batch", content, "-s", crickets, "-o", out, "--recipe", recipe, "-q"
    )
    assert_one_line_error(result, named, "one style at a time")
    assert not out.exists()


def test_several_styles_through_arrays(inputs) -> None:
    """Arrays with their own rates, one per style."""
    content, crickets, djembe = inputs
    a, a_sr = load_audio(crickets, duration=3.0)
    b, b_sr = load_audio(djembe, duration=3.0)
    result = transfer_audio(
        content,
        [a, b],
        style_sr=[a_sr, b_sr],
        config=QUICK.replace(iters=4),
        duration=2.0,
    )
    assert result.sr == max(a_sr, b_sr) and np.isfinite(result.audio).all()
    with pytest.raises(AudiostError, match="1 style rates given for 2 styles"):
        transfer_audio(content, [a, b], style_sr=[a_sr], config=QUICK)
