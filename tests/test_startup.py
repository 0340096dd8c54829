"""Help, completion and ``import audiost`` answer without importing torch or librosa.

Importing torch costs 1.5-4 s, as long as a short transfer's work; a user
asking for ``--help`` or pressing TAB should not wait for it. A transfer
needs torch, but not what a first call would otherwise import for nothing
(torch's compiler, librosa's audio module). How long each takes is measured
by ``scripts/bench_startup.py`` and ``scripts/bench_cold_start.py``; these
tests keep the heavy imports out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

import audiost

from .conftest import HED, clip, corpus_file, needs_hed

HEAVY = ("torch", "librosa")
# What a transfer used to import on its first call, for nothing it needs: torch's
# compiler (by torch.optim's first optimiser, 0.9 s), librosa's audio module
# (by librosa.resample: scipy.signal, numba, 2 s), scipy.signal (by
# pyloudnorm, 0.7 s) and sympy (by nn.utils.skip_init, 0.3 s), on the 2-core
# development machine.
FIRST_CALL = ("torch._dynamo", "librosa.core.audio", "scipy.signal", "sympy")
# Runs the CLI as the installed ``audiost`` script does, then reports which
# heavy modules got imported.
PROBE = f"""
import sys
from audiost.cli import main
try:
    main(sys.argv[1:], prog_name="audiost")
except SystemExit as stop:
    code = stop.code
print("HEAVY:", ",".join(m for m in {HEAVY + FIRST_CALL!r} if m in sys.modules), file=sys.stderr)
sys.exit(code)
"""


def run_probe(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )


def heavy_modules(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("HEAVY:")]
    assert lines, result.stderr
    return lines[-1].removeprefix("HEAVY:").strip()


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["transfer", "--help"],
        ["batch", "--help"],
        ["evaluate", "--help"],
        ["texture", "--help"],
    ],
    ids=" ".join,
)
def test_help_does_not_import_torch_or_librosa(args: list[str]) -> None:
    result = run_probe(*args)
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout or "version" in result.stdout
    assert heavy_modules(result) == ""


@pytest.mark.parametrize(
    ("words", "expected"),
    [("audiost tr", "plain,transfer"), ("audiost transfer --pre", "plain,--preset")],
)
def test_completion_does_not_import_torch_or_librosa(words: str, expected: str) -> None:
    result = run_probe(
        env={
            "_AUDIOST_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - 1),
        }
    )
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout.splitlines()
    assert heavy_modules(result) == ""


def audio_pair(tmp_path: Path) -> list[str]:
    speech, sr = clip("speech_pocketsphinx_forever_16k_mono.flac", 1.0)
    sf.write(tmp_path / "speech.wav", speech.T, sr)
    style = corpus_file("music_sonicpi_tabla_loop_44k_stereo.flac")  # resampled
    out = str(tmp_path / "out.wav")
    return [str(tmp_path / "speech.wav"), str(style), "-o", out, "--preset", "fast"]


def image_pair(tmp_path: Path) -> list[str]:
    photo = corpus_file("photo_chelsea_cat_451x300.png")
    painting = corpus_file("painting_hokusai_poppies_655x449.png")
    network = ["--net", "vgg16", "--weights", str(HED), "--max-size", "32"]
    return [str(photo), str(painting), "-o", str(tmp_path / "out.png"), *network]


@pytest.mark.parametrize(
    "pair",
    [audio_pair, pytest.param(image_pair, marks=needs_hed)],
    ids=["audio", "image"],
)
def test_a_transfer_imports_only_what_it_needs(tmp_path: Path, pair) -> None:
    args = pair(tmp_path)
    result = run_probe("transfer", *args, "--iters", "2", "-q")
    assert result.returncode == 0, result.stderr
    assert Path(args[3]).is_file()
    assert heavy_modules(result) == "torch"


def test_evaluate_imports_neither_torch_nor_librosa(tmp_path: Path) -> None:
    """Measuring audio is NumPy and soxr work: a cold ``audiost evaluate`` took 2.5 s, 2.1 of it librosa's import."""
    content, style = audio_pair(tmp_path)[:2]
    result = run_probe("evaluate", content, style, content)
    assert result.returncode == 0, result.stderr
    assert "style_gain" in result.stdout
    assert heavy_modules(result) == ""


def test_import_audiost_is_light_and_its_api_loads_on_use() -> None:
    code = (
        "import sys, audiost\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
        "print(audiost.transfer_audio.__module__, audiost.ImageStylist.__module__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    before, modules = result.stdout.splitlines()
    assert before == ""
    assert modules == "audiost.audio.transfer audiost.image.transfer"


def test_every_public_name_resolves() -> None:
    for name in audiost.__all__:
        assert getattr(audiost, name) is not None, name
        assert name in dir(audiost)
    with pytest.raises(AttributeError, match="no attribute 'transfer_video'"):
        audiost.transfer_video  # noqa: B018
