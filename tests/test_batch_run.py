"""``audiost batch`` end to end: real clips, the bad corpus, crashes, resume, and Ray."""

from __future__ import annotations

import csv
import fcntl
import importlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from PIL import Image

from audiost import (
    AudioStylist,
    audio_preset,
    resolve_recipe,
    run_batch,
    transfer_audio,
)
from audiost.batch import BatchInterrupted
from audiost.batch.runner import _interrupts_held
from audiost.cli import main
from audiost.errors import AudiostError
from audiost.media.audio_io import resample, write_audio
from audiost.media.image_io import write_image
from audiost.metrics import logmel_distance
from audiost.outputs import atomic_output

from .conftest import (
    BAD,
    CORPUS,
    HED,
    bad_manifest,
    clip,
    needs_corpus,
    needs_hed,
    read_only,
    sigint_as_in_a_terminal,
    small_tmpfs,
)

SOURCES = [
    "speech_pocketsphinx_forever_16k_mono.flac",
    "speech_alsa_rear_side_prompts_48k_mono_s16.wav",
    "sfx_cow_mooing_22k_mono_s16.wav",
    "speech_pocketsphinx_playing_cards_16k_mono_s24.wav",
    "sfx_car_engine_start_stop_44k_mono_s16.wav",
    "speech_ivr_allison_voicemail_options_8k_mono_s16.wav",
]
# Few iterations: these tests are about the batch machinery; quality is checked loosely.
QUICK = ["--preset", "fast", "--iters", "8", "--gl-iters", "8"]


def make_clips(folder: Path, count: int, seconds: float = 1.2) -> list[Path]:
    """Short excerpts of real recordings, one per corpus file, as WAV."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in SOURCES[:count]:
        audio, sr = clip(name, seconds, offset=0.3)
        path = folder / f"{Path(name).stem}.wav"
        sf.write(path, audio.T, sr)
        paths.append(path)
    return paths


def make_style(folder: Path) -> Path:
    audio, sr = clip("music_sonicpi_tabla_loop_44k_stereo.flac", 2.0)
    path = folder / "tabla.wav"
    sf.write(path, audio.T, sr)
    return path


# Just enough work to write an output: these tests are about failing to write it.
TINY = {"iters": 2, "gl_iters": 2}


def batch_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "audiost", "batch", *args]


def fast_batch(inputs: Path, style: Path, out: Path, *args: str) -> list[str]:
    """A quiet ``fast`` batch of ``inputs`` with one style into ``out``."""
    return batch_command(
        str(inputs), "-s", str(style), "-o", str(out), "-q", "--preset", "fast", *args
    )


def manifest_lines(outdir: Path) -> list[dict]:
    path = outdir / "manifest.jsonl"
    if not path.exists():
        return []
    return [
        json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")
    ]


def partial_files(outdir: Path) -> list[Path]:
    return [p for p in outdir.rglob(".*") if ".part" in p.name]


def assert_styled_from(path: Path, content: Path, style: Path) -> None:
    """The content's duration and channels at the higher of the two inputs' rates, finite and not silent."""
    audio, sr = sf.read(path, always_2d=True)
    reference = sf.info(content)
    assert sr == max(reference.samplerate, sf.info(style).samplerate)
    assert audio.shape[1] == reference.channels
    assert abs(audio.shape[0] - reference.frames * sr / reference.samplerate) <= 1
    assert np.isfinite(audio).all() and np.sqrt(np.mean(audio**2)) > 1e-3, (
        f"{path} is silent or not finite"
    )


@needs_hed
def test_folder_with_every_bad_file(tmp_path: Path) -> None:
    """Good clips among every file of corpus/bad: every good output, one reasoned line per bad file."""
    folder = tmp_path / "library"
    good = make_clips(folder / "good", 3)
    for path in BAD.iterdir():
        if path.name != "MANIFEST.tsv":
            shutil.copy(path, folder / path.name)
    style, texture = make_style(tmp_path), CORPUS / "texture_gravel_gray_512x512.png"
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(
        f'[image]\nnet = "vgg16"\nweights = "{HED}"\nmax_size = 48\niters = 3\nrefine_iters = 1\n'
    )
    out = tmp_path / "out"
    result = subprocess.run(
        batch_command(
            str(folder),
            "-s",
            str(style),
            "-s",
            str(texture),
            "-o",
            str(out),
            "--recipe",
            str(recipe),
            "-j",
            "2",
            "-q",
            *QUICK,
        ),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 1, result.stderr  # some pairs failed, as they should
    assert "Traceback" not in result.stderr
    lines = {Path(line["content"]).name: line for line in manifest_lines(out)}
    assert len(manifest_lines(out)) == len(lines), "more than one line for some file"
    assert set(lines) == {p.name for p in good} | {
        p.name for p in BAD.iterdir() if p.name != "MANIFEST.tsv"
    }
    for path in good:
        line = lines[path.name]
        assert line["status"] == "done", line
        assert_styled_from(Path(line["output"]), path, Path(line["style"]))
        assert Path(line["output"]).parent == out / "good"  # the tree is mirrored
    for row in bad_manifest():
        line = lines[row["file"]]
        if row["file"].endswith(".pth"):
            assert (
                line["status"] == "skipped"
                and "neither audio nor an image" in line["error"]
            )
        elif row["expected"].startswith("works"):
            assert line["status"] == "done", line
            assert Path(line["output"]).stat().st_size > 0
        elif line["status"] == "failed" or not row["expected"].startswith(
            "clear error, or works"
        ):
            assert line["status"] == "failed" and row["file"] in line["error"], line
            assert not Path(line["output"]).exists()
    done = [line for line in lines.values() if line["status"] == "done"]
    # Two workers, each with its share of the cores.
    assert len({line["worker"] for line in done}) == 2
    assert all(
        line["threads"] * 2 <= max(2, len(os.sched_getaffinity(0))) for line in done
    )
    assert f"{len(done)} done" in result.stderr.splitlines()[-1]
    assert not partial_files(out)


@needs_corpus
def test_batch_output_is_the_transfer_output(tmp_path: Path, speech, music) -> None:
    """A batch pair comes out as ``transfer_audio`` makes it, and so moves toward the style."""
    content, style = tmp_path / "speech.wav", tmp_path / "tabla.wav"
    sf.write(content, speech[0].T, speech[1])
    sf.write(style, music[0].T, music[1])
    summary = run_batch(
        [content],
        [style],
        tmp_path / "out",
        recipe=resolve_recipe(preset="fast", settings={"iters": 30}),
    )
    assert (summary.done, summary.failed) == (1, 0)
    batch_audio, sr = sf.read(
        tmp_path / "out" / "speech_x_tabla.wav", dtype="float32", always_2d=True
    )
    single = transfer_audio(content, style, config=audio_preset("fast", iters=30))
    np.testing.assert_allclose(batch_audio.T, single.audio, atol=1e-4)
    style_audio = resample(music[0], music[1], sr)
    # Measured 0.90 (see test_transfer_quality's speech-and-tabla pair).
    assert logmel_distance(batch_audio.T, style_audio, sr) < 0.95 * logmel_distance(
        speech[0], style_audio, sr
    )


@needs_corpus
def test_kill_9_halfway_then_resume(tmp_path: Path) -> None:
    """SIGKILL the batch mid-way; the re-run finishes the rest, writes each output once and completes the manifest."""
    clips = make_clips(tmp_path / "in", 6)
    style, out = make_style(tmp_path), tmp_path / "out"
    command = fast_batch(tmp_path / "in", style, out, "--iters", "25")
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while sum(line["status"] == "done" for line in manifest_lines(out)) < 2:
        assert process.poll() is None and time.monotonic() < deadline, (
            "batch ended before it could be killed"
        )
        time.sleep(0.05)
    process.kill()
    process.wait()
    time.sleep(1.0)  # the worker gets SIGTERM from the kernel as its parent dies
    first = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("*.wav")}
    assert 2 <= len(first) < len(clips)

    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr
    outputs = {p.name: p for p in out.glob("*.wav")}
    assert sorted(outputs) == sorted(f"{c.stem}_x_tabla.wav" for c in clips)
    for name, identity in first.items():  # finished work was not redone
        assert (
            outputs[name].stat().st_ino,
            outputs[name].stat().st_mtime_ns,
        ) == identity
    lines = manifest_lines(out)
    for content in clips:
        mine = [line for line in lines if line["content"] == str(content)]
        assert sum(line["status"] == "done" for line in mine) <= 1
        assert mine and mine[-1]["status"] in ("done", "skipped"), mine
        assert_styled_from(
            outputs[f"{content.stem}_x_tabla.wav"], content, Path(lines[-1]["style"])
        )
    assert not partial_files(out)


@needs_corpus
def test_a_worker_killed_beside_others_runs_its_pair_again_alone(
    tmp_path: Path,
) -> None:
    """SIGKILL, the out-of-memory killer's signal, to a worker mid-pair: the pair is run again once the others are done, alone, and only once."""
    import psutil

    clips = make_clips(tmp_path / "in", 4)
    style, out = make_style(tmp_path), tmp_path / "out"
    process = subprocess.Popen(
        fast_batch(tmp_path / "in", style, out, "-j", "2", "--iters", "40"),
        stderr=subprocess.PIPE,
        text=True,
    )

    def kill_workers(after_done: int, count: int) -> None:
        while (
            sum(line["status"] == "done" for line in manifest_lines(out)) < after_done
        ):
            assert process.poll() is None, (
                "the batch ended before its workers were killed"
            )
            time.sleep(0.05)
        workers = [
            child
            for child in psutil.Process(process.pid).children()
            if "spawn_main" in " ".join(child.cmdline())
        ]
        for worker in workers[:count]:
            worker.kill()

    kill_workers(after_done=1, count=1)  # two pairs in flight: one goes
    # The other three done, only the retried pair can be running: it fails
    # for good, as a pair that ran out of memory alone would.
    kill_workers(after_done=3, count=2)
    _, stderr = process.communicate(timeout=300)
    lines = manifest_lines(out)
    by_pair = {
        str(c): [line for line in lines if line["content"] == str(c)] for c in clips
    }
    retried = [c for c, mine in by_pair.items() if mine[-1]["status"] == "failed"]
    assert process.returncode == 1 and len(retried) == 1, stderr
    assert all(len(mine) == 1 for mine in by_pair.values()), (
        "the first kill was recorded, not retried"
    )
    (last,) = by_pair[retried[0]]
    assert last["cause"] == "memory" and "signal 9" in last["error"]
    assert last["note"].startswith("run again alone")
    assert "run again alone" in stderr and "Traceback" not in stderr
    assert all(by_pair[c][-1]["status"] == "done" for c in by_pair if c not in retried)
    assert not partial_files(out)


@pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"]
)
def test_a_stop_signal_waits_for_the_record_to_end(signum: int) -> None:
    """A Ctrl-C or SIGTERM that the kernel hands to another thread (the batch
    process has torch's) still waits for the manifest line and the count.

    CI saw a blocked signal mask fail this way: the manifest said 1 done, the
    interrupted summary 0. The other thread is signalled directly here, so
    the test does not depend on which thread the kernel picks.
    """

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    finished, release = [], threading.Event()
    with sigint_as_in_a_terminal():
        other = threading.Thread(target=release.wait)
        other.start()
    previous = signal.signal(signum, stop)
    try:
        with pytest.raises(KeyboardInterrupt), _interrupts_held():
            signal.pthread_kill(other.ident, signum)
            time.sleep(0.2)  # the handler would run here, were it not held
            finished.append(True)
        assert finished and signal.getsignal(signum) is stop
    finally:
        release.set()
        other.join()
        signal.signal(signum, previous)


@needs_corpus
@pytest.mark.parametrize(
    "how",
    ["sigterm-to-batch", "ctrl-c-to-group"],
)
def test_interrupt_keeps_finished_outputs(tmp_path: Path, how: str) -> None:
    """SIGTERM to the batch, or Ctrl-C (SIGINT to the terminal's whole process
    group, workers included): a clean stop that keeps what is finished."""
    make_clips(tmp_path / "in", 4)
    style, out = make_style(tmp_path), tmp_path / "out"
    jobs = "1" if how == "sigterm-to-batch" else "2"
    with sigint_as_in_a_terminal():
        process = subprocess.Popen(
            fast_batch(tmp_path / "in", style, out, "-j", jobs, "--iters", "40"),
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group, as in a terminal
        )
    while not any(line["status"] == "done" for line in manifest_lines(out)):
        assert process.poll() is None
        time.sleep(0.05)
    started = time.monotonic()
    if how == "sigterm-to-batch":
        process.send_signal(signal.SIGTERM)
    else:
        os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and time.monotonic() - started < 15
    done = [line for line in manifest_lines(out) if line["status"] == "done"]
    assert (
        f"interrupted: {len(done)} done" in stderr
        and "run the same command again" in stderr
        and "Traceback" not in stderr
    ), stderr
    assert all(Path(line["output"]).exists() for line in done)
    # Nothing half-made: every output is whole. One more than the manifest
    # says per worker is possible: a worker can be stopped between renaming
    # its finished output into place and sending its line (a line already
    # sent is recorded, test_lines_sent_as_the_batch_stops_are_recorded);
    # the next run skips such an output, "output exists".
    outputs = list(out.glob("*.wav"))
    assert len(done) <= len(outputs) <= len(done) + int(jobs)
    assert all(sf.info(path).frames > 0 for path in outputs)
    assert not partial_files(out)


def test_the_bar_ends_full_whatever_order_the_pairs_finish_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Costs whose sum in one order (0.3 + 0.2 + 0.1 = 0.6) is below their
    # sum in the other (0.6000000000000001): the bar once overshot its
    # total, tqdm warned "clamping frac" and the time left read -00:00.
    from audiost.batch.worker import Task

    # The module, not the command that audiost.cli exports under its name.
    batch_cli = importlib.import_module("audiost.cli.batch")
    from audiost.config import ImageConfig

    clips = ["a.wav", "b.wav", "c.wav"]
    tasks = [Task(clip, "style.wav", "audio", f"out_{clip}") for clip in clips]
    monkeypatch.setattr(
        batch_cli, "expected_costs", lambda todo, image: [0.3, 0.2, 0.1]
    )
    progress = batch_cli._Progress(quiet=False, jobs=2, image=ImageConfig())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        progress.started(tasks, skipped=0, failed=0)
        for task in reversed(tasks):
            progress.finished(
                {
                    "status": "done",
                    "content": task.content,
                    "style": task.style,
                    "output": task.output,
                    "seconds": 1.0,
                }
            )
        bar = progress.bar
        assert bar is not None and bar.n == bar.total
        progress.close()


def test_lines_sent_as_the_batch_stops_are_recorded() -> None:
    """A pair that finished as the Ctrl-C arrived (its line in the pipe, unread) is counted, not lost from the manifest."""
    from multiprocessing import Pipe
    from types import SimpleNamespace

    from audiost.batch.local import _collect_sent

    finished, idle, silent = (SimpleNamespace(task=name) for name in "abc")
    ends = [Pipe() for _ in range(3)]
    for worker, (ours, _) in zip((finished, idle, silent), ends, strict=True):
        worker.conn = ours
    ends[0][1].send({"status": "done"})
    idle.task = None
    ends[2][1].close()  # a worker stopped before sending anything
    recorded = []
    _collect_sent(
        [finished, idle, silent], lambda task, line: recorded.append((task, line))
    )
    assert recorded == [("a", {"status": "done"})]
    assert finished.task is None and silent.task == "c"


@needs_corpus
def test_rerun_skips_done_work_and_guards_settings(tmp_path: Path) -> None:
    make_clips(tmp_path / "in", 2)
    style, out = make_style(tmp_path), tmp_path / "out"
    runner = CliRunner()
    args = [
        "batch",
        str(tmp_path / "in"),
        "-s",
        str(style),
        "-o",
        str(out),
        "-q",
        *QUICK,
    ]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("*.wav")}
    lines = len(manifest_lines(out))

    again = runner.invoke(main, args)
    assert again.exit_code == 0 and "0 pairs to style" in again.output
    assert (
        len(manifest_lines(out)) == lines
        and {p: p.stat().st_mtime_ns for p in out.glob("*.wav")} == stamps
    )

    changed = runner.invoke(main, [*args, "--style-weight", "30"])
    assert (
        changed.exit_code == 2
        and "other settings (audio.style_weight: 6.0 -> 30.0" in changed.output
    )

    from_recipe = runner.invoke(
        main,
        [
            "batch",
            str(tmp_path / "in"),
            "-s",
            str(style),
            "-o",
            str(out),
            "-q",
            "--recipe",
            str(out / "recipe.toml"),
        ],
    )
    assert from_recipe.exit_code == 0 and "0 pairs to style" in from_recipe.output

    # Redone with the bar: it fills by each clip's cost and counts the pairs.
    redo = runner.invoke(main, [*(a for a in args if a != "-q"), "--overwrite"])
    assert redo.exit_code == 0 and "2 pairs to style" in redo.output
    assert "100%|" in redo.stderr and "2/2 pairs, last" in redo.stderr, redo.stderr
    assert all(p.stat().st_mtime_ns != stamp for p, stamp in stamps.items())


@needs_corpus
def test_usage_errors_are_one_line(tmp_path: Path) -> None:
    (content,) = make_clips(tmp_path / "in", 1)
    style = make_style(tmp_path)
    runner = CliRunner()
    cases = [
        (["batch", str(content), "-o", str(tmp_path / "o1")], "no style given"),
        (
            [
                "batch",
                str(tmp_path / "missing"),
                "-s",
                str(style),
                "-o",
                str(tmp_path / "o2"),
            ],
            "no such file or directory",
        ),
        (
            [
                "batch",
                str(content),
                "-s",
                str(style),
                "--pairs",
                str(style),
                "-o",
                str(tmp_path / "o3"),
            ],
            "not both",
        ),
        (["batch", str(content), "-s", str(style), "-o", str(content)], "not a folder"),
        (
            [
                "batch",
                str(content),
                "-s",
                str(style),
                "-o",
                str(tmp_path / "o4"),
                "--template",
                "{style}.wav",
            ],
            "must contain {content}",
        ),
    ]
    for args, message in cases:
        result = runner.invoke(main, args)
        assert result.exit_code == 2 and message in result.output, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1
    # A refused batch leaves no OUTDIR behind (a mistyped input made one).
    assert not any((tmp_path / f"o{n}").exists() for n in range(1, 5))
    held = tmp_path / "held"
    held.mkdir()
    with open(held / ".audiost-batch.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = runner.invoke(
            main, ["batch", str(content), "-s", str(style), "-o", str(held)]
        )
    assert (
        result.exit_code == 2
        and "another audiost batch is writing to this folder" in result.output
    )


@needs_corpus
def test_reused_style_targets_give_the_same_result(tmp_path: Path, one_thread) -> None:
    """The batch worker's reuse of style targets saves the style's cost and changes nothing."""
    first, second = make_clips(tmp_path, 2)
    style = make_style(tmp_path)
    settings = {"iters": 5, "gl_iters": 4, "sample_rate": 16000, "device": "cpu"}
    shared = AudioStylist(**settings)
    a = shared.transfer(first, style)
    b = shared.transfer(second, style)
    fresh = AudioStylist(**settings).transfer(second, style)
    np.testing.assert_allclose(b.audio, fresh.audio, atol=1e-6)
    assert b.timings["style"] < 0.1 * a.timings["style"]
    # A style edited between pairs is read again, never served stale.
    audio, sr = sf.read(style)
    sf.write(style, audio[::-1], sr)
    os.utime(style, ns=(time.time_ns(), time.time_ns() + 10**9))
    changed = shared.transfer(second, style)
    assert changed.timings["style"] > 0.1 * a.timings["style"]
    assert not np.allclose(changed.audio, b.audio, atol=1e-3)


@needs_hed
def test_a_report_has_every_pair_on_one_page(tmp_path: Path) -> None:
    """``--report``: each pair's report mirrors OUTDIR, and index.html and measures.csv hold every pair (a resume's into another folder too) with the reports' measures and working links."""
    pytest.importorskip("matplotlib")
    (clip,) = make_clips(tmp_path / "in" / "sub", 1)
    shutil.copy(
        BAD / "digital_silence_3s_44k.flac",
        tmp_path / "in" / "digital_silence_3s_44k.flac",
    )
    cat = tmp_path / "in" / "cat.png"
    shutil.copy(CORPUS / "photo_chelsea_cat_451x300.png", cat)
    style, out, report = make_style(tmp_path), tmp_path / "out", tmp_path / "report"
    recipe = resolve_recipe(
        {"image": {"net": "vgg16", "weights": str(HED), "max_size": 48}},
        settings={"iters": 8, "gl_iters": 8},
    )
    painting = CORPUS / "painting_hokusai_poppies_655x449.png"
    summary = run_batch(
        [tmp_path / "in"], [style, painting], out, recipe=recipe, report=report
    )
    assert (summary.done, summary.failed) == (2, 1)
    assert summary.overview == report / "index.html"
    assert (report / "sub" / f"{clip.stem}_x_tabla.spectrograms.png").is_file()
    # A resume with nothing left to do (the bad file given up on), told to
    # report elsewhere, still lists what earlier runs made, from where they
    # wrote it.
    (tmp_path / "in" / "digital_silence_3s_44k.flac").unlink()
    elsewhere = tmp_path / "elsewhere"
    again = run_batch(
        [tmp_path / "in"], [style, painting], out, recipe=recipe, report=elsewhere
    )
    assert (again.done, again.skipped, again.failed) == (0, 2, 0)
    assert again.overview == elsewhere / "index.html"
    rows = list(csv.DictReader((elsewhere / "measures.csv").open()))
    assert len(rows) == 3
    for row in rows:
        if row["status"] == "done":
            mirrored = Path(row["output"]).relative_to(out)
            record = json.loads((report / mirrored.with_suffix(".json")).read_text())
            assert float(row["style_gain"]) == pytest.approx(
                record["measures"]["style_gain"], rel=1e-5
            )
            assert record["measures"]["style_gain"] > 0.2
        else:
            assert (
                "digital_silence_3s_44k.flac" in row["error"]
                and row["style_gain"] == ""
            )
    page = _Page()
    page.feed((elsewhere / "index.html").read_text())
    assert len(page.rows) == 3 and {len(row) for row in page.rows} == {len(page.head)}
    named = {row[page.head.index("content")]: row for row in page.rows}
    assert set(named) == {
        clip.name,
        "cat.png",
        "digital_silence_3s_44k.flac",
    }
    failed = named["digital_silence_3s_44k.flac"]
    assert "is digital silence" in failed[page.head.index("picture")]
    assert page.links and all(
        (elsewhere / unquote(link)).is_file() for link in page.links
    )
    assert {Path(link).suffix for link in page.links} == {".png", ".wav"}


class _Page(HTMLParser):
    """The overview's table as text cells, and every file it links to."""

    def __init__(self) -> None:
        super().__init__()
        self.head: list[str] = []
        self.rows: list[list[str]] = []
        self.links: set[str] = set()
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        values = dict(attrs)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        for name in ("src", "href"):
            if values.get(name) and values[name] != "measures.csv":
                self.links.add(values[name])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            (self.head if tag == "th" else self.rows[-1]).append("".join(self._cell))
            self._cell = None
        elif tag == "thead":
            self.rows.pop()  # the head's own row

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


@pytest.mark.ray
@needs_corpus
def test_ray_executor_on_a_local_instance(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    clips = make_clips(tmp_path / "in", 2)
    shutil.copy(BAD / "html_page_named.mp3", tmp_path / "in" / "html_page_named.mp3")
    style, out = make_style(tmp_path), tmp_path / "out"
    summary = run_batch(
        [tmp_path / "in"],
        [style],
        out,
        recipe=resolve_recipe(settings={"iters": 8, "gl_iters": 8}),
        executor="ray",
    )
    assert (summary.done, summary.failed) == (2, 1)
    lines = {Path(line["content"]).name: line for line in manifest_lines(out)}
    assert "html_page_named.mp3" in lines["html_page_named.mp3"]["error"]
    for content in clips:
        line = lines[content.name]
        assert line["status"] == "done" and line["worker"].endswith("@ray")
        assert_styled_from(Path(line["output"]), content, Path(line["style"]))


@pytest.mark.ray
@needs_corpus
def test_ray_pairs_that_finished_as_the_batch_stops_are_recorded(
    tmp_path: Path,
) -> None:
    """A Ctrl-C while the driver records one pair keeps the line of another that finished meanwhile."""
    pytest.importorskip("ray")
    make_clips(tmp_path / "in", 2)
    style, out = make_style(tmp_path), tmp_path / "out"

    class StopAfterBothFinish:
        def started(self, todo: list, skipped: int, failed: int) -> None:
            self.stopped = False

        def finished(self, line: dict) -> None:
            if self.stopped:
                return
            self.stopped = True
            deadline = time.monotonic() + 120
            while len(list(out.glob("*.wav"))) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.5)  # the second task returns its line just after its rename
            raise KeyboardInterrupt

    with pytest.raises(BatchInterrupted) as stopped:
        run_batch(
            [tmp_path / "in"],
            [style],
            out,
            recipe=resolve_recipe(settings={"iters": 8, "gl_iters": 8}),
            executor="ray",
            listener=StopAfterBothFinish(),
        )
    assert stopped.value.summary.done == 2
    assert [line["status"] for line in manifest_lines(out)] == ["done", "done"]


@pytest.mark.ray
@needs_corpus
def test_ray_shares_a_gpu_between_pairs_when_asked(tmp_path: Path) -> None:
    """``--jobs 2`` under Ray runs two pairs on one GPU at once (a declared GPU: Ray only counts it)."""
    ray = pytest.importorskip("ray")
    (first,) = make_clips(tmp_path / "in", 1, seconds=3.0)
    shutil.copy(first, tmp_path / "in" / "again.wav")  # the same work twice
    style, out = make_style(tmp_path), tmp_path / "out"
    arrived: list[float] = []

    class Arrivals:
        def started(self, todo: list, skipped: int, failed: int) -> None:
            pass

        def finished(self, line: dict) -> None:
            arrived.append(time.monotonic())

    recipe = resolve_recipe(settings={"iters": 40, "gl_iters": 16})
    ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False)
    try:
        summary = run_batch(
            [tmp_path / "in"],
            [style],
            out,
            recipe=recipe,
            executor="ray",
            jobs=2,
            listener=Arrivals(),
        )
        assert summary.done == 2
        # Together, the two lines arrive about at once; one after the
        # other, a whole pair's time apart.
        shortest = min(line["seconds"] for line in manifest_lines(out))
        assert arrived[1] - arrived[0] < 0.5 * shortest, (arrived, shortest)
        # This run is on the CPU: pairs per GPU mean nothing there, and it says so.
        with pytest.raises(AudiostError, match=r"pairs per GPU.*runs on the CPU"):
            run_batch(
                [tmp_path / "in"],
                [style],
                tmp_path / "cpu",
                recipe=resolve_recipe(settings={"device": "cpu"}),
                executor="ray",
                jobs=2,
            )
    finally:
        ray.shutdown()


@needs_corpus
def test_unwritable_output_folder_reads_clearly(tmp_path: Path, speech) -> None:
    """An output folder that cannot be written is a one-line AudiostError, even when the temporary file cannot be made."""
    locked = tmp_path / "locked"
    with read_only(locked):
        with (
            pytest.raises(AudiostError, match="not writable") as caught,
            atomic_output(locked / "out.wav"),
        ):
            pass
        assert str(locked / "out.wav") in str(caught.value)
        with pytest.raises(AudiostError, match="make it writable"):
            write_audio(locked / "out.wav", speech[0], speech[1])
        assert not list(locked.iterdir())


@needs_corpus
def test_full_disk_reads_clearly_and_leaves_nothing(tmp_path: Path, speech) -> None:
    """A write refused for space is named as such, for libsndfile too (whose error hides the errno)."""
    picture = np.asarray(Image.open(CORPUS / "photo_chelsea_cat_451x300.png"))
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (16384, hard))
    try:
        with pytest.raises(AudiostError, match="File too large; raise the file-size"):
            write_audio(tmp_path / "out.wav", speech[0], speech[1])
        with pytest.raises(AudiostError, match="File too large; raise the file-size"):
            write_image(tmp_path / "out.png", picture)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert not list(tmp_path.iterdir())


@needs_corpus
def test_batch_goes_on_past_a_full_disk_and_a_read_only_folder(tmp_path: Path) -> None:
    """Pairs whose folder is full or read-only fail with the reason; every other pair is done."""
    inputs, out = tmp_path / "in", tmp_path / "out"
    good = make_clips(inputs / "ok", 1, seconds=0.5)
    full = make_clips(inputs / "full", 3, seconds=0.5)
    blocked = make_clips(inputs / "locked", 1, 0.5) + make_clips(
        inputs / "locked" / "nested", 1, 0.5
    )
    style = make_style(tmp_path)
    # Room for one of the three outputs in "full" (16 kHz is the largest: 24-bit).
    room = int(1.5 * max(sf.info(p).frames * 3 for p in full))
    with read_only(out / "locked"), small_tmpfs(out / "full", -(-room // 4096) * 4096):
        summary = run_batch(
            [inputs], [style], out, recipe=resolve_recipe(preset="fast", settings=TINY)
        )
        full_done = [p.name for p in (out / "full").iterdir()]
        left = partial_files(out)
    lines = {line["content"]: line for line in manifest_lines(out)}
    assert summary.done == len(good) + len(full_done) and len(full_done) < len(full)
    assert lines[str(good[0])]["status"] == "done"
    for clip_path in full:
        line = lines[str(clip_path)]
        assert line["status"] == "done" or (
            "could not write output: No space left on device; free space"
            in line["error"]
        ), line
    for clip_path in blocked:
        line = lines[str(clip_path)]
        assert line["status"] == "failed" and "not writable" in line["error"], line
    assert "nested" in lines[str(blocked[1])]["error"]
    assert not left
