"""Every audio file in ../shared/corpus/bad through the real CLI.

Each must either work (as the bad corpus's MANIFEST says it should) or fail
with exactly one line naming the file, exit code 2, no traceback and no
output file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from .conftest import BAD, REPO, bad_manifest

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
BAD_AUDIO = [row for row in bad_manifest() if row["file"].endswith(AUDIO_SUFFIXES)]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "audiost", *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=None
    )


@pytest.mark.skipif(not BAD_AUDIO, reason="shared corpus/bad not found (set AUDIOST_SHARED)")
@pytest.mark.parametrize("row", BAD_AUDIO, ids=[row["file"] for row in BAD_AUDIO])
def test_bad_audio_as_content(row: dict[str, str], tmp_path: Path) -> None:
    source = BAD / row["file"]
    out = tmp_path / "out.wav"
    result = run_cli("transfer", str(source), str(REPO / "examples" / "music.wav"), "-o", str(out), "--iters", "3", "--gl-iters", "4", "-q", cwd=tmp_path)
    assert "Traceback" not in result.stderr
    if row["expected"].startswith("works"):
        assert result.returncode == 0, result.stderr
        audio, sr = sf.read(out, always_2d=True)
        assert sr == sf.info(source).samplerate and audio.shape[1] == sf.info(source).channels
        assert np.isfinite(audio).all() and np.abs(audio).max() > 0
    elif result.returncode == 0:
        # Allowed by the manifest ("or works ... with a warning"): say so, keep it finite.
        assert "or works" in row["expected"] or "or repaired" in row["expected"], row
        assert "warning" in result.stderr
        assert np.isfinite(sf.read(out)[0]).all()
    else:
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("audiost: error: ") and row["file"] in lines[0], result.stderr
        assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not BAD_AUDIO, reason="shared corpus/bad not found (set AUDIOST_SHARED)")
def test_bad_audio_as_style(tmp_path: Path) -> None:
    result = run_cli("transfer", str(REPO / "examples" / "speech.wav"), str(BAD / "digital_silence_3s_44k.flac"), "-q", cwd=tmp_path)
    assert result.returncode == 2 and "digital_silence_3s_44k.flac" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []
