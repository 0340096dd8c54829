"""Shared fixtures: the real-world corpus in ../shared and short clips cut from it."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner, Result
from hypothesis import settings

if TYPE_CHECKING:
    from collections.abc import Iterator

    import torch

    from audiost.engine import Objective

# The property tests draw the same examples on every run, so a gate never fails
# on a draw it did not make the time before; HYPOTHESIS_PROFILE=explore draws
# new ones on every run to hunt for bugs.
settings.register_profile("default", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AUDIOST_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus"
BAD = CORPUS / "bad"
HED = SHARED / "models" / "vgg16-hed" / "vgg16_hed_features_fp16.pth"

needs_corpus = pytest.mark.skipif(
    not BAD.is_dir(), reason=f"shared corpus not found at {CORPUS}; set AUDIOST_SHARED"
)
needs_hed = pytest.mark.skipif(
    not HED.is_file() or not CORPUS.is_dir(),
    reason=f"shared VGG16 weights or corpus not found under {SHARED}",
)


def corpus_file(name: str) -> Path:
    """A file of the shared corpus; skips the test where the corpus is absent."""
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"shared corpus file {path} not found (set AUDIOST_SHARED)")
    return path


def bad_manifest() -> list[dict[str, str]]:
    """Rows of corpus/bad/MANIFEST.tsv (file, expected, what it is); empty without the corpus."""
    manifest = BAD / "MANIFEST.tsv"
    if not manifest.exists():
        return []
    with manifest.open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


@contextlib.contextmanager
def sigint_as_in_a_terminal() -> Iterator[None]:
    """Children started inside get SIGINT as in a terminal: delivered, at its default.

    A suite started where SIGINT is blocked or ignored (a background job,
    some CI runners) passes that on to every child, and a Python child then
    never sees the interrupt: the test would test the caller, not audiost.
    The signal mask is inherited from the thread that starts the child, and a
    handler (unlike "ignore") is reset to the default at exec. Measured: with
    SIGINT blocked, the interrupt test waited 30 s for an exit that never
    came.
    """
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        signal.signal(signal.SIGINT, handler)


def clip(name: str, seconds: float, offset: float = 0.0) -> tuple[np.ndarray, int]:
    """``(channels, samples)`` excerpt of a corpus file: small inputs keep tests fast."""
    audio, sr = sf.read(corpus_file(name), dtype="float32", always_2d=True)
    start = int(offset * sr)
    return np.ascontiguousarray(audio[start : start + int(seconds * sr)].T), sr


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread: on a shared 2-core machine OpenMP threads that wait
    for a busy core make small networks many times slower, not faster."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def speech() -> tuple[np.ndarray, int]:
    return clip("speech_pocketsphinx_forever_16k_mono.flac", 3.0, 0.5)


@pytest.fixture(scope="session")
def music() -> tuple[np.ndarray, int]:
    return clip("music_sonicpi_tabla_loop_44k_stereo.flac", 3.0)


@pytest.fixture
def speech_file(tmp_path: Path, speech: tuple[np.ndarray, int]) -> Path:
    path = tmp_path / "speech.wav"
    sf.write(path, speech[0].T, speech[1])
    return path


@pytest.fixture
def music_file(tmp_path: Path, music: tuple[np.ndarray, int]) -> Path:
    path = tmp_path / "music.flac"
    sf.write(path, music[0].T, music[1])
    return path


@contextlib.contextmanager
def read_only(folder: Path):
    """``folder`` unwritable even for root (``chattr +i``), which ignores permission bits."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        folder.chmod(0o555)
        undo = ["chmod", "755", str(folder)]
    elif shutil.which("chattr") and _quiet(["chattr", "+i", str(folder)]):
        undo = ["chattr", "-i", str(folder)]
    else:
        pytest.skip("running as root without chattr: cannot make a folder read-only")
    try:
        yield
    finally:
        _quiet(undo)


@contextlib.contextmanager
def small_tmpfs(folder: Path, size: int):
    """A tmpfs of ``size`` bytes mounted at ``folder``: a disk that fills up."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not _quiet(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)]
    ):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield
    finally:
        _quiet(["umount", "-l", str(folder)])


def _quiet(command: list[str]) -> bool:
    return subprocess.run(command, capture_output=True, check=False).returncode == 0


def invoke(*args: object) -> Result:
    """``audiost ARGS`` in this process (click's runner): no torch import per call; an uncaught exception is in ``result.exception``."""
    from audiost.cli import main

    return CliRunner().invoke(main, [str(arg) for arg in args])


def assert_one_line_error(
    result: Result | subprocess.CompletedProcess[str],
    *needles: str,
    workdir: Path | None = None,
) -> None:
    """A failed run as users must see it: exit 2, one ``audiost: error:`` line holding every needle, no traceback, and nothing written in ``workdir``.

    ``result`` is from :func:`invoke` or from :func:`run_cli`.
    """
    if isinstance(result, Result):
        assert isinstance(result.exception, SystemExit), result.exception
        code = result.exit_code
    else:
        code = result.returncode
    assert code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("audiost: error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    if workdir is not None:
        assert list(workdir.iterdir()) == []  # no output, no temporary file


def assert_good_audio(path: Path, channels: int | None = None) -> None:
    """A written audio file: finite, not silent, with ``channels`` if given."""
    audio, _ = sf.read(path, always_2d=True)
    assert np.isfinite(audio).all() and np.abs(audio).max() > 0, path
    assert channels is None or audio.shape[1] == channels


def assert_good_image(
    path: Path, size: tuple[int, int] | None = None, *, flat: bool = False
) -> None:
    """A written picture: RGB(A), at least 16 px a side, ``size`` if given, not one flat colour unless ``flat``."""
    from PIL import Image

    with Image.open(path) as image:
        assert image.mode in ("RGB", "RGBA") and min(image.size) >= 16
        assert size is None or image.size == size
        pixels = np.asarray(image)
    assert flat or pixels.std() > 0


def assert_finite_measures(result: Result) -> None:
    """``audiost evaluate --json`` printed only finite measures (or None)."""
    measures = json.loads(result.stdout)["measures"]
    assert all(v is None or math.isfinite(v) for v in measures.values()), measures


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def partners(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small valid file of each kind to pair a bad one with."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("partners")
    rate = 16000
    t = np.arange(rate // 2) / rate
    wave = 0.3 * np.sin(2 * np.pi * 330 * t) * (1 + np.sin(2 * np.pi * 4 * t))
    sf.write(folder / "partner.wav", wave.astype(np.float32), rate)
    pixels = np.random.default_rng(0).integers(0, 255, (32, 48, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(folder / "partner.png")
    return {"audio": folder / "partner.wav", "image": folder / "partner.png"}


def run_cli(
    *args: str, cwd: Path, timeout: float = 300, **popen: object
) -> subprocess.CompletedProcess[str]:
    """``python -m audiost ARGS`` in ``cwd``, as a user runs it: its own process, exit code and stderr."""
    return subprocess.run(
        [sys.executable, "-m", "audiost", *args],
        check=False,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        **popen,
    )


def small_objective(seed: int = 0) -> tuple[Objective, torch.Tensor]:
    """A seconds-cheap Gram-and-content objective on random spectrogram-like canvases, and its content canvas."""
    import torch

    from audiost.engine import ContentLoss, GramLoss, Objective, Term
    from audiost.features import BandedSpectralConv

    generator = torch.Generator().manual_seed(seed)
    content = torch.rand(1, 1, 32, 40, generator=generator) * 4
    style = torch.rand(1, 1, 32, 60, generator=generator) * 4
    net = BandedSpectralConv(32, 8000, (3, 5), 4)
    with torch.no_grad():
        c, s = net(content, net.layer_names), net(style, net.layer_names)
    terms = [Term(f"style:{n}", GramLoss(s[n]), 1.0, n) for n in net.layer_names]
    terms.append(Term("content:conv3", ContentLoss(c["conv3"]), 0.1, "conv3"))
    return Objective(net, terms), content
