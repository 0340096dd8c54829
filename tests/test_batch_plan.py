"""Batch planning, recipes and the manifest: fast tests with no styling."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from audiost.batch.costs import expected_costs
from audiost.batch.manifest import Manifest, record
from audiost.batch.plan import find_sources, plan_from_csv, plan_pairs
from audiost.batch.recipe import load_recipe, resolve_recipe, save_recipe
from audiost.batch.worker import Task, threads_per_worker, worker_device
from audiost.config import ImageConfig
from audiost.device import usable_cores, use_cpu_cores
from audiost.errors import AudiostError
from audiost.image.scales import planned_work
from audiost.media.image import fit_size

from .conftest import BAD, corpus_file, invoke


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """clips/{a.wav, a.flac, sub/b.ogg, notes.txt, .hidden.wav}, a style, and a picture."""
    clips = tmp_path / "clips"
    (clips / "sub").mkdir(parents=True)
    speech = corpus_file("speech_pocketsphinx_playing_cards_16k_mono_s24.wav")
    shutil.copy(speech, clips / "a.wav")
    shutil.copy(
        corpus_file("speech_pocketsphinx_forever_16k_mono.flac"), clips / "a.flac"
    )
    shutil.copy(corpus_file("sfx_night_crickets_44k_mono.ogg"), clips / "sub" / "b.ogg")
    shutil.copy(corpus_file("photo_chelsea_cat_451x300.png"), clips / "sub" / "cat.png")
    (clips / "notes.txt").write_text("not media")
    shutil.copy(speech, clips / ".hidden.wav")
    shutil.copy(
        corpus_file("music_sonicpi_tabla_loop_44k_stereo.flac"), tmp_path / "tabla.flac"
    )
    return tmp_path


def test_folder_is_walked_mirrored_and_classified(tree: Path) -> None:
    out = tree / "out"
    plan = plan_pairs(find_sources([tree / "clips"], out), [tree / "tabla.flac"], out)
    outputs = sorted(str(p.output.relative_to(out)) for p in plan.pairs)
    # a.wav and a.flac collide on "a_x_tabla.wav": both get a stable digest suffix.
    assert len(outputs) == 3 and outputs[2] == "sub/b_x_tabla.wav"
    assert (
        all(o.startswith("a_x_tabla-") and o.endswith(".wav") for o in outputs[:2])
        and outputs[0] != outputs[1]
    )
    again = plan_pairs(find_sources([tree / "clips"], out), [tree / "tabla.flac"], out)
    assert [p.output for p in again.pairs] == [p.output for p in plan.pairs]
    why = {u.content.name: u for u in plan.unplanned}
    assert (
        why["notes.txt"].status == "skipped"
        and "neither audio nor an image" in why["notes.txt"].error
    )
    assert (
        why["cat.png"].status == "skipped" and "no image style" in why["cat.png"].error
    )
    assert ".hidden.wav" not in why and all(
        p.content.name != ".hidden.wav" for p in plan.pairs
    )


def test_outdir_inside_input_folder_is_not_an_input(tree: Path) -> None:
    out = tree / "clips" / "styled"
    out.mkdir()
    shutil.copy(tree / "clips" / "a.wav", out / "old_result.wav")
    names = [s.path.name for s in find_sources([tree / "clips"], out)]
    assert "old_result.wav" not in names and "a.wav" in names


def test_globs_mirror_from_their_fixed_part(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tree)
    sources = find_sources(["clips/**/*.ogg"], tree / "out")
    assert [(s.path.name, str(s.relative)) for s in sources] == [("b.ogg", "sub/b.ogg")]
    with pytest.raises(AudiostError, match="matches no files"):
        find_sources(["clips/*.mp3"], tree / "out")
    with pytest.raises(AudiostError, match="no such file"):
        find_sources(["clips/missing.wav"], tree / "out")


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{content}_{nope}.{ext}", "unknown field"),
        ("{style}.{ext}", "must contain {content}"),
        ("../{content}.{ext}", "inside OUTDIR"),
        ("/tmp/{content}.{ext}", "inside OUTDIR"),
        ("{content}.mp4", "extension must be one of"),
        ("{content", "bad output template"),
    ],
)
def test_bad_templates_are_refused_before_any_work(
    tree: Path, template: str, message: str
) -> None:
    out = tree / "out"
    with pytest.raises(AudiostError, match=message):
        plan_pairs(
            find_sources([tree / "clips" / "a.wav"], out),
            [tree / "tabla.flac"],
            out,
            template,
        )


def test_an_output_never_replaces_an_input(tree: Path) -> None:
    clips = tree / "clips"
    plan = plan_pairs(
        find_sources([clips / "a.wav"], clips),
        [tree / "tabla.flac"],
        clips,
        "{content}.wav",
    )
    assert (
        not plan.pairs
        and plan.unplanned[0].status == "failed"
        and "replace an input" in plan.unplanned[0].error
    )


def test_mirroring_never_follows_a_symlink_out_of_outdir(tree: Path) -> None:
    out, elsewhere = tree / "out", tree / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "sub").symlink_to(elsewhere)
    plan = plan_pairs(find_sources([tree / "clips"], out), [tree / "tabla.flac"], out)
    escaped = [u for u in plan.unplanned if u.content.name == "b.ogg"]
    assert escaped and "outside OUTDIR" in escaped[0].error
    assert all(elsewhere not in p.output.resolve().parents for p in plan.pairs)


def test_pairs_csv(tree: Path) -> None:
    table = tree / "pairs.csv"
    table.write_text(
        "content,style\nclips/a.wav,tabla.flac\nclips/missing.wav,tabla.flac\nclips/sub/cat.png,tabla.flac\n\n"
    )
    plan = plan_from_csv(table, tree / "out")
    assert [
        (p.content.name, p.output.relative_to(tree / "out").as_posix())
        for p in plan.pairs
    ] == [("a.wav", "clips/a_x_tabla.wav")]
    errors = sorted(u.error for u in plan.unplanned)
    assert (
        "no such file" in errors[0]
        and "content is image but style is audio" in errors[1]
    )
    table.write_text("clips/a.wav\n")
    with pytest.raises(AudiostError, match="row 1 needs two columns"):
        plan_from_csv(table, tree / "out")


def test_recipe_layers_preset_recipe_tables_and_options(tmp_path: Path) -> None:
    path = tmp_path / "recipe.toml"
    path.write_text(
        'preset = "fast"\nstyle_weight = 20\n[audio]\ngl_iters = 8\n[image]\nmax_size = 128\nstyle_layers = "conv1_1:1,conv2_1:0.5"\n'
    )
    recipe = resolve_recipe(load_recipe(path), settings={"iters": 7, "max_size": None})
    assert (
        recipe.audio.iters == 7 and recipe.image.iters == 7
    )  # option beats recipe beats preset
    assert (
        recipe.audio.kernel_widths == (3, 9) and recipe.audio.gl_iters == 8
    )  # preset fast, then table
    assert recipe.audio.style_weight == recipe.image.style_weight == 20
    assert recipe.image.max_size == 128 and recipe.image.style_layer_weights == (
        1.0,
        0.5,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("iterz = 3\n", "unknown recipe setting"),
        ("[audio]\nmax_size = 3\n", "audio.max_size"),
        ('iters = "ten"\n', "iters must be int"),
        ("iters = 1.5\n", "iters must be int"),
        ("mono = 1\n", "mono must be bool"),
        ('optimizer = "sgd"\n', "optimizer must be one of"),
        ("import os\nos.system('touch pwned')\n", "not a valid TOML"),
        ('style_start = "1:20"\n', "style_start must be a number of seconds"),
        ("style_start = -1\n", "style_start must be a number of seconds, 0 or more"),
        ("style_duration = 0\n", "style_duration must be a number of seconds above 0"),
    ],
)
def test_recipe_errors_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "recipe.toml"
    path.write_text(text)
    with pytest.raises(AudiostError, match=message) as caught:
        resolve_recipe(load_recipe(path), source=path)
    assert str(path) in str(caught.value)
    assert not (tmp_path / "pwned").exists()


def test_saved_recipe_reruns_exactly_and_guards_the_folder(tmp_path: Path) -> None:
    recipe = resolve_recipe({"preset": "fast", "seed": 3}, settings={"device": "cpu"})
    path = save_recipe(recipe, tmp_path, overwrite=False)
    assert "device" not in path.read_text()  # where it ran is not what it made
    assert resolve_recipe(load_recipe(path)) == resolve_recipe(
        {"preset": "fast", "seed": 3}
    )
    save_recipe(recipe, tmp_path, overwrite=False)  # same settings: fine
    other = resolve_recipe({"preset": "fast", "seed": 4})
    with pytest.raises(AudiostError, match=r"other settings \(audio.seed: 3 -> 4"):
        save_recipe(other, tmp_path, overwrite=False)
    save_recipe(other, tmp_path, overwrite=True)
    assert load_recipe(path)["audio"]["seed"] == 4


def test_a_style_part_is_saved_only_when_chosen_and_guards_the_folder(
    tmp_path: Path,
) -> None:
    """The part of each audio style a batch imitated is in recipe.toml; resuming with another part is refused, a folder of whole styles read as 0 s on."""
    whole = resolve_recipe({"preset": "fast"})
    path = save_recipe(whole, tmp_path, overwrite=False)
    assert not re.search("style_(start|duration)", path.read_text())
    part = resolve_recipe(
        {"preset": "fast", "style_start": 10}, style_start=80, style_duration=30
    )  # the options beat the recipe
    assert (part.style_start, part.style_duration, part.has_style_part) == (
        80,
        30,
        True,
    )
    with pytest.raises(
        AudiostError,
        match=r"other settings \(style_duration: None -> 30.0; style_start: 0.0 -> 80.0\)",
    ):
        save_recipe(part, tmp_path, overwrite=False)
    save_recipe(part, tmp_path, overwrite=True)
    assert resolve_recipe(load_recipe(path)) == part
    with pytest.raises(AudiostError, match=r"style_start: 80.0 -> 0.0"):
        save_recipe(
            resolve_recipe({"preset": "fast", "style_duration": 30}),
            tmp_path,
            overwrite=False,
        )


def test_a_net_given_on_the_command_line_is_said_to_reach_the_audio_pairs(
    tmp_path: Path,
) -> None:
    """``--net vgg16``, meant for a batch's pictures, also puts a VGG on every clip's spectrogram (40 times slower): said before the work, and not for pictures alone."""
    clip = corpus_file("speech_pocketsphinx_forever_16k_mono.flac")
    cat = corpus_file("photo_chelsea_cat_451x300.png")
    tabla = corpus_file("music_sonicpi_tabla_loop_44k_stereo.flac")
    # Each pair fails at once on these weights: the notice is the point.
    vgg = ("--net", "vgg16", "--weights", BAD / "weights_not_a_state_dict.pth")
    mixed = invoke(
        "batch", clip, cat, "-s", tabla, "-s", cat, "-o", tmp_path / "a", *vgg
    )
    assert mixed.exit_code == 1
    assert "--net vgg16 styles the 1 audio pair too" in mixed.stderr
    assert "recipe's [image] table" in mixed.stderr
    pictures = invoke("batch", cat, "-s", cat, "-o", tmp_path / "b", *vgg)
    assert pictures.exit_code == 1 and "audio pair" not in pictures.stderr


def test_a_style_part_with_no_audio_style_is_refused(tmp_path: Path) -> None:
    """A part of a picture style would change nothing and still be kept in recipe.toml as if it had."""
    cat = corpus_file("photo_chelsea_cat_451x300.png")
    out = tmp_path / "out"
    result = invoke("batch", cat, "-s", cat, "-o", out, "--style-start", "5")
    assert result.exit_code == 2
    assert "this batch has no audio pairs: leave it out" in result.stderr
    assert not out.exists()


def test_the_overview_names_each_pair_plainly_and_safely(tmp_path: Path) -> None:
    """Takes named alike in two folders stay apart, a style's part is named, a failed pair shows its reason, and a hostile file name stays text."""
    from audiost.batch.overview import write_overview

    out, report = tmp_path / "out", tmp_path / "report"
    lines = [
        record(tmp_path / "in" / "a" / "take.wav", tmp_path / "song.wav", "done",
               output=out / "a" / "take_x_song.wav", seconds=1.0,
               style_excerpt={"start": 80.0, "duration": 30.0}),
        record(tmp_path / "in" / "b" / "take.wav", tmp_path / "song.wav", "failed",
               output=out / "b" / "take_x_song.wav", error="take.wav: is digital silence"),
        record(tmp_path / "in" / "<script>x</script>.wav", tmp_path / "song.wav", "done",
               output=out / "x.wav", seconds=2.0),
    ]  # fmt: skip
    index, table = write_overview(report, out, lines)
    page = index.read_text()
    assert ">a/take.wav<" in page and ">b/take.wav<" in page
    assert ">song.wav from 80 s for 30 s<" in page
    assert "<td>take.wav: is digital silence</td>" in page
    assert "<script>x" not in page and "&lt;script&gt;x&lt;/script&gt;.wav" in page
    rows = list(csv.DictReader(table.open()))
    assert [row["status"] for row in rows] == ["done", "failed", "done"]
    assert rows[1]["error"] == "take.wav: is digital silence"


def test_the_overview_finds_each_pairs_report_where_it_was_written(
    tmp_path: Path,
) -> None:
    """A line's own report (another run's --report folder) wins; a line naming none, or one moved away, is looked for under this report folder."""
    from audiost.batch.overview import write_overview
    from audiost.report import report_files

    out, report, earlier = tmp_path / "out", tmp_path / "report", tmp_path / "earlier"

    def written(folder: Path, output: Path, kind: str, gain: float) -> Path:
        files = report_files(folder, output, kind)
        folder.mkdir(parents=True, exist_ok=True)
        files.picture.write_bytes(b"png")
        record = {"kind": kind, "measures": {"style_gain": gain}}
        files.record.write_text(json.dumps(record))
        return files.record

    outputs = [out / "a_x_s.wav", out / "sub" / "b_x_s.png", out / "c_x_s.wav"]
    lines = [
        # Reported into another folder by an earlier run.
        record("a.wav", "s.wav", "done", output=outputs[0],
               report=str(written(earlier, outputs[0], "audio", 0.9))),
        # A line from before lines named their report.
        record("b.png", "s.png", "done", output=outputs[1]),
        # Its report folder was moved here since.
        record("c.wav", "s.wav", "done", output=outputs[2],
               report=str(tmp_path / "gone" / "c_x_s.json")),
    ]  # fmt: skip
    written(report / "sub", outputs[1], "image", 0.5)
    written(report, outputs[2], "audio", 0.7)
    written(report, outputs[0], "audio", 0.1)  # not the line's report
    index, table = write_overview(report, out, lines)
    rows = list(csv.DictReader(table.open()))
    assert [float(row["style_gain"]) for row in rows] == [0.9, 0.5, 0.7]
    page = index.read_text()
    for picture in ("../earlier/a_x_s.spectrograms.png", "sub/b_x_s.contact.png",
                    "c_x_s.spectrograms.png"):  # fmt: skip
        assert f'<img src="{picture}"' in page


def test_a_folder_from_an_earlier_version_is_not_resumed_as_if_it_were_this_ones(
    tmp_path: Path,
) -> None:
    """A setting the saved recipe lacks was not in the program that made those outputs: --recipe cannot finish them alike."""
    path = save_recipe(resolve_recipe({"preset": "fast"}), tmp_path, overwrite=False)
    text = path.read_text()
    path.write_text(re.sub(r"content_level_weight = .*\n", "", text))
    assert path.read_text() != text
    with pytest.raises(AudiostError, match="earlier audiost") as caught:
        save_recipe(resolve_recipe(load_recipe(path)), tmp_path, overwrite=False)
    assert "audio.content_level_weight" in str(caught.value)
    assert "--recipe" not in str(caught.value)


def test_manifest_survives_a_line_cut_by_a_crash(tmp_path: Path) -> None:
    manifest = Manifest(tmp_path)
    manifest.append(record("a.wav", "s.wav", "done", output="o.wav", seconds=1.0))
    with open(manifest.path, "a") as handle:
        handle.write('{"content": "b.wav", "sty')  # kill -9 mid-write
    again = Manifest(tmp_path)
    again.append(record("c.wav", "s.wav", "failed", error="c.wav: broken"))
    lines = manifest.path.read_text().splitlines()
    parsed = [json.loads(line) for line in lines if line.endswith("}")]
    assert [p["content"] for p in parsed] == ["a.wav", "c.wav"] and len(lines) == 3
    assert set(Manifest(tmp_path).latest) == {("a.wav", "s.wav"), ("c.wav", "s.wav")}


def test_workers_share_out_gpus_and_cores() -> None:
    assert [worker_device("auto", i, 2) for i in range(3)] == [
        "cuda:0",
        "cuda:1",
        "cuda:0",
    ]
    assert worker_device("cuda", 3, 4) == "cuda:3"
    assert (
        worker_device("auto", 1, 0) == "auto"
        and worker_device("cpu", 1, 2) == "cpu"
        and worker_device("cuda:1", 0, 2) == "cuda:1"
    )
    assert (
        threads_per_worker(1, cores=16) == 16 and threads_per_worker(4, cores=16) == 4
    )
    assert threads_per_worker(3, cores=2) == 1
    assert threads_per_worker(2) * 2 <= max(2, len(os.sched_getaffinity(0)))


def test_every_bad_file_in_a_folder_is_found(tmp_path: Path) -> None:
    if not BAD.is_dir():
        pytest.skip("shared corpus/bad not found")
    sources = find_sources([BAD], tmp_path / "out")
    found = {s.path.name: s.kind for s in sources}
    assert set(found) == {p.name for p in BAD.iterdir() if not p.name.startswith(".")}
    assert (
        found["weights_not_a_state_dict.pth"] is None and found["MANIFEST.tsv"] is None
    )
    assert (
        found["html_page_named.mp3"] == "audio"
        and found["png_data_named.jpg"] == "image"
    )


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"cpu.max": "150000 100000\n"}, 2),  # 1.5 CPUs: two threads, one part-time
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "100000", "cpu/cpu.cfs_period_us": "100000"}, 1),
        ({"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, None),
        ({}, None),
    ],
)
def test_threads_follow_a_container_cpu_quota(
    tmp_path: Path, files: dict[str, str], expected: int | None
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    cores = len(os.sched_getaffinity(0))
    assert usable_cores(tmp_path) == (min(cores, expected) if expected else cores)


def test_cli_sizes_torch_threads_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        assert use_cpu_cores() == usable_cores() == torch.get_num_threads()
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        torch.set_num_threads(1)
        assert use_cpu_cores() == 1 == torch.get_num_threads()
        assert use_cpu_cores(3) == 3 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def test_a_dry_run_lists_the_pairs_and_writes_nothing(tmp_path) -> None:
    inputs = tmp_path / "in"
    (inputs / "voices").mkdir(parents=True)
    speech = corpus_file("speech_pocketsphinx_forever_16k_mono.flac")
    shutil.copy(speech, inputs / "voices" / "a.flac")
    shutil.copy(speech, inputs / "b.flac")
    shutil.copy(corpus_file("photo_chelsea_cat_451x300.png"), inputs / "cat.png")
    style = corpus_file("music_sonicpi_tabla_loop_44k_stereo.flac")
    out = tmp_path / "out"
    args = ("batch", inputs, "-s", style, "-o", out, "--template", "{content}.flac")

    result = invoke(*args, "--dry-run")
    assert result.exit_code == 0, result.stderr
    rows = sorted(line.split("\t") for line in result.stdout.splitlines())
    assert rows == [
        ["left out", str(inputs / "cat.png"), "", "no image style given; not styled"],
        ["to style", str(inputs / "b.flac"), str(style), str(out / "b.flac")],
        ["to style", str(inputs / "voices" / "a.flac"), str(style), str(out / "voices" / "a.flac")],
    ]  # fmt: skip
    assert "2 pair(s) to style" in result.stderr and not out.exists()

    # An output already there is what a real run would skip.
    out.mkdir()
    (out / "b.flac").write_bytes(b"done before")
    result = invoke(*args, "--dry-run")
    assert [line.split("\t")[0] for line in sorted(result.stdout.splitlines())] == [
        "exists",
        "left out",
        "to style",
    ]
    assert sorted(p.name for p in out.iterdir()) == ["b.flac"]


def test_expected_costs_follow_length_channels_rate_and_pixels(capfd) -> None:
    """The batch bar's weights: from headers, relative within each kind; a pair that will fail counts as average."""
    mariachi = str(corpus_file("music_mariachi_mexico_44k_mono.mp3"))

    def audio(content: str, style: str = mariachi) -> Task:
        return Task(str(corpus_file(content)), style, "audio", "out.wav")

    def image(content: str) -> Task:
        painting = str(corpus_file("painting_hokusai_poppies_655x449.png"))
        return Task(str(corpus_file(content)), painting, "image", "out.png")

    tasks = [
        audio("music_frozen_bubble_intro_theme_44k_stereo.ogg"),  # 15 s, stereo
        audio("speech_pocketsphinx_playing_cards_16k_mono_s24.wav"),  # 3.5 s
        audio(  # 16.4 s at 8 kHz, styled at 8 kHz
            "speech_ivr_allison_voicemail_options_8k_mono_s16.wav",
            str(
                corpus_file(
                    "music_hold_music_manolo_camp_morning_coffee_8k_mono_s16.wav"
                )
            ),
        ),
        Task(str(BAD / "html_page_named.mp3"), mariachi, "audio", "out.wav"),
        image("photo_chelsea_cat_451x300.png"),
        image("photo_hubble_extreme_deep_field_1000x872.jpg"),
    ]
    costs = expected_costs(tasks, ImageConfig())
    stereo, short, telephone, broken, cat, hubble = costs
    assert stereo / short == pytest.approx(2 * 15.0 / 3.502, rel=0.01)
    # 8 kHz runs at about 0.45 of the cost per second at 44.1 kHz.
    assert telephone / short == pytest.approx(16.369 * 0.454 / 3.502, rel=0.01)
    assert broken == 1.0
    assert (
        capfd.readouterr().err == ""
    )  # libmpg123's notes on the HTML "MP3" kept quiet
    assert (stereo + short + telephone) / 3 == pytest.approx(1.0)
    # Images in their own units: the cat at 451 px has three passes, the
    # Hubble picture is fitted to 512 px.
    work = {
        name: sum(i * p for i, p in planned_work(ImageConfig(), size))
        for name, size in (("cat", (451, 300)), ("hubble", fit_size((1000, 872), 512)))
    }
    assert hubble / cat == pytest.approx(work["hubble"] / work["cat"])
    assert cat + hubble == pytest.approx(2.0)
