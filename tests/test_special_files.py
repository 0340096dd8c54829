"""Special files and awkward paths through the real CLI: never a hang, a crash or a lost file.

Pipes, devices, directories and links named like media, a 12-hour sparse
WAV, an unreadable file, Unicode and dash-led names, hostile output paths.
Every failure is one ``audiost: error:`` line naming the file, exit code 2,
nothing written; every success a finite, well-formed output; inputs are
never modified. Broken file *contents* are in ``test_bad_inputs.py``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import (
    assert_finite_measures,
    assert_good_audio,
    assert_one_line_error,
    digest,
    invoke,
    run_cli,
)

AUDIO_FAST = ["--preset", "fast", "--iters", "1", "--gl-iters", "1", "--wave-iters", "1", "-q"]  # fmt: skip
IMAGE_FAST = ["--net", "vgg16", "--weights", "random", "--iters", "1", "-q"]

pytestmark = pytest.mark.usefixtures("one_thread")


@contextlib.contextmanager
def unblocked_after(fifo: Path, seconds: float) -> Iterator[None]:
    """If something still waits on ``fifo`` after ``seconds``, open its other end
    so the test fails on time instead of hanging the suite."""
    done = threading.Event()

    def release() -> None:
        if not done.wait(seconds):
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    watchdog = threading.Thread(target=release, daemon=True)
    watchdog.start()
    started = time.monotonic()
    try:
        yield
    finally:
        done.set()
        watchdog.join()
    assert time.monotonic() - started < seconds, f"blocked on the pipe {fifo}"


@pytest.mark.parametrize("name", ["pipe.wav", "pipe.png"])
@pytest.mark.parametrize(
    "command", ["content", "style", "texture", "texture-default-length", "evaluate"]
)
def test_named_pipe_is_refused_without_blocking(
    name: str, command: str, partners: dict[str, Path], tmp_path: Path
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    fifo = inputs / name
    os.mkfifo(fifo)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    kind = "audio" if name.endswith(".wav") else "image"
    partner = str(partners[kind])
    out = str(out_dir / ("o.wav" if kind == "audio" else "o.png"))
    fast = AUDIO_FAST if kind == "audio" else IMAGE_FAST
    args = {
        "content": ["transfer", str(fifo), partner, "-o", out, *fast],
        "style": ["transfer", partner, str(fifo), "-o", out, *fast],
        "texture": ["texture", str(fifo), "-o", out, *fast]
        + (["--duration", "1s"] if kind == "audio" else ["--size", "32x32"]),
        "texture-default-length": ["texture", str(fifo), "-o", out, *fast],
        "evaluate": ["evaluate", partner, partner, str(fifo)],
    }[command]
    with unblocked_after(fifo, 10):
        result = invoke(*args)
    assert_one_line_error(result, name, workdir=out_dir)
    assert "not a regular file" in result.stderr


def test_link_to_an_endless_device_is_refused(
    partners: dict[str, Path], tmp_path: Path
) -> None:
    # A separate process: a regression would read forever, so it gets a timeout.
    link = tmp_path / "in" / "endless.wav"
    link.parent.mkdir()
    link.symlink_to("/dev/zero")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = run_cli(
        "texture",
        str(link),
        "-o",
        str(out_dir / "o.wav"),
        *AUDIO_FAST,
        cwd=out_dir,
        timeout=30,
    )
    assert_one_line_error(result, "endless.wav", workdir=out_dir)
    assert "not a regular file" in result.stderr


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: p.symlink_to(p.parent / "missing.wav"), "broken or looping"),
        (lambda p: p.symlink_to(p), "broken or looping"),
        (lambda p: p.symlink_to("/dev/urandom"), "not a regular file"),
    ],
    ids=["directory", "dangling-link", "link-loop", "link-to-urandom"],
)
@pytest.mark.parametrize("name", ["x.wav", "x.png"])
def test_not_a_file_named_like_media(
    make, message: str, name: str, partners: dict[str, Path], tmp_path: Path
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    make(inputs / name)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    kind = "audio" if name.endswith(".wav") else "image"
    out = out_dir / ("o.wav" if kind == "audio" else "o.png")
    fast = AUDIO_FAST if kind == "audio" else IMAGE_FAST
    for args in (
        ["transfer", str(inputs / name), str(partners[kind]), "-o", str(out), *fast],
        ["transfer", str(partners[kind]), str(inputs / name), "-o", str(out), *fast],
        ["texture", str(inputs / name), "-o", str(out), *fast],
        ["evaluate", str(partners[kind]), str(partners[kind]), str(inputs / name)],
    ):
        result = invoke(*args)
        assert_one_line_error(result, name, workdir=out_dir)
        assert message in result.stderr, args


def test_huge_sparse_wav_fails_fast_within_bounded_memory(
    partners: dict[str, Path], tmp_path: Path
) -> None:
    """A 4 GB WAV of (sparse) zeros: 12 hours of audio that is no work to make.

    Without a length limit it read all 2**31 samples (over 20 GB of RAM,
    killed by the kernel); it must be refused from its header, quickly.
    """
    sparse = tmp_path / "in" / "twelve_hours.wav"
    sparse.parent.mkdir()
    size = 2**32 - 64
    with sparse.open("wb") as f:
        f.write(_wav_header(channels=1, rate=48000, data_bytes=size))
        f.truncate(44 + size)
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    def bounded() -> None:  # a regression must fail here, not take the machine
        resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))

    started = time.monotonic()
    result = run_cli(
        "transfer",
        str(sparse),
        str(partners["audio"]),
        "-o",
        str(out_dir / "o.wav"),
        *AUDIO_FAST,
        cwd=out_dir,
        timeout=60,
        preexec_fn=bounded,
    )
    assert_one_line_error(result, "twelve_hours.wav", workdir=out_dir)
    assert "memory" not in result.stderr  # refused for its length, not by luck
    assert time.monotonic() - started < 20


def _wav_header(channels: int, rate: int, data_bytes: int) -> bytes:
    import struct

    fmt = struct.pack(
        "<HHIIHH", 1, channels, rate, rate * 2 * channels, 2 * channels, 16
    )
    riff = struct.pack("<I", (36 + data_bytes) & 0xFFFFFFFF)
    return (
        b"RIFF"
        + riff
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", data_bytes)
    )


def _drop_file_permission_override() -> None:
    """Root reads any file; drop that power (CAP_DAC_*) in the child only."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.mark.skipif(sys.platform != "linux", reason="capabilities are Linux's")
def test_unreadable_file(partners: dict[str, Path], tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    locked = inputs / "locked.wav"
    shutil.copy(partners["audio"], locked)
    locked.chmod(0)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    preexec = _drop_file_permission_override if os.geteuid() == 0 else None
    result = run_cli(
        "transfer",
        str(locked),
        str(partners["audio"]),
        "-o",
        str(out_dir / "o.wav"),
        *AUDIO_FAST,
        cwd=out_dir,
        preexec_fn=preexec,
    )
    assert_one_line_error(result, "locked.wav", workdir=out_dir)
    assert "not readable" in result.stderr


def test_unicode_and_spaces_in_names(
    partners: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = tmp_path / "ïn pút ✓"
    inputs.mkdir()
    content = inputs / "Grüße aus Köln — 東京 ✓.wav"
    style = inputs / "stÿle with  two  spaces.wav"
    shutil.copy(partners["audio"], content)
    shutil.copy(partners["audio"], style)
    work = tmp_path / "wörk dir"
    work.mkdir()
    monkeypatch.chdir(work)
    result = invoke("transfer", str(content), str(style), *AUDIO_FAST)
    assert result.exit_code == 0, (result.stderr, result.exception)
    out = work / "Grüße aus Köln — 東京 ✓_x_stÿle with  two  spaces.wav"
    assert sorted(work.iterdir()) == [out]
    assert_good_audio(out)
    empty = tmp_path / "émpty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    result = invoke("texture", str(inputs / "nö such ✓.wav"), "--duration", "1s")
    assert_one_line_error(result, "nö such ✓.wav", workdir=empty)


def test_paths_starting_with_a_dash(
    partners: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(partners["audio"], tmp_path / "-v.wav")
    shutil.copy(partners["audio"], tmp_path / "--style.wav")
    # Read as options: a usage error, as one line, and nothing written.
    result = invoke("transfer", "-v.wav", "--style.wav", *AUDIO_FAST)
    assert isinstance(result.exception, SystemExit) and result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("audiost: error: "), result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["--style.wav", "-v.wav"]
    # After "--" they are files.
    result = invoke(
        "transfer", "-o", "out.wav", *AUDIO_FAST, "--", "-v.wav", "--style.wav"
    )
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert_good_audio(tmp_path / "out.wav")
    result = invoke("evaluate", "--json", "--", "-v.wav", "--style.wav", "out.wav")
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert_finite_measures(result)


@pytest.mark.parametrize(
    "output, message",
    [
        ("/dev/null", "unsupported output format"),
        ("link-to-content.wav", "inputs are never overwritten"),
        ("content.wav/out.wav", "output directory does not exist"),
    ],
)
def test_hostile_output_paths(
    output: str,
    message: str,
    partners: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    content = tmp_path / "content.wav"
    shutil.copy(partners["audio"], content)
    (tmp_path / "link-to-content.wav").symlink_to(content)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = invoke(
        "transfer",
        str(content),
        str(partners["audio"]),
        "-o",
        output,
        "--overwrite",
        *AUDIO_FAST,
    )
    assert isinstance(result.exception, SystemExit) and result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert digest(content) == digest(partners["audio"])
