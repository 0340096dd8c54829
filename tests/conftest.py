"""Shared fixtures: the real-world corpus in ../shared and short clips cut from it."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

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
