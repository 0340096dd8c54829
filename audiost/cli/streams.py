"""``-`` for stdin and stdout: pipes in and out of ``transfer`` and ``texture``.

A piped input is saved to a private temporary file first, and a piped
output is written to one and then copied to stdout. The pipeline then
works on files as always: an input's kind is told from its bytes, a long
take is read within the limits, an output is checked before the work and
carries its record; messages call the files ``stdin`` and ``stdout``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..errors import AudiostError
from .common import ALIASES

#: What stands for stdin or stdout on the command line.
STREAM = Path("-")

#: More than this from stdin is refused (an endless stream would fill the disk).
MAX_STDIN_BYTES = 4 << 30


def one_writer_of_stdout(as_json: bool, output: Path | None) -> None:
    """Refuse ``--json`` with ``-o -``: both would write to stdout."""
    if as_json and output == STREAM:
        raise AudiostError(
            "--json and -o - would both write to stdout; give -o FILE with --json"
        )


@contextlib.contextmanager
def stdin_inputs(paths: Sequence[Path]) -> Iterator[list[Path]]:
    """``paths`` with ``-`` replaced by a temporary file holding all of stdin.

    Refuses ``-`` given twice (one stdin), a terminal (nothing is piped),
    an empty stream and one longer than :data:`MAX_STDIN_BYTES`.
    """
    if sum(path == STREAM for path in paths) > 1:
        raise AudiostError(
            "- (stdin) is given twice; only one input can come from stdin"
        )
    if STREAM not in paths:
        yield list(paths)
        return
    if sys.stdin is None or sys.stdin.isatty():
        raise AudiostError(
            "- reads the input from stdin, but stdin is a terminal; pipe a file in, e.g. cat voice.wav | audiost transfer - style.wav"
        )
    with tempfile.TemporaryDirectory(prefix="audiost-") as folder:
        saved = Path(folder) / "stdin"
        size = _save_stdin(saved)
        if not size:
            raise AudiostError("stdin is empty; pipe an audio file or a picture in")
        with _aliased(saved, "stdin"):
            yield [saved if path == STREAM else path for path in paths]


def _save_stdin(path: Path) -> int:
    stream = sys.stdin.buffer
    size = 0
    with path.open("wb") as file:
        while block := stream.read(1 << 20):
            size += len(block)
            if size > MAX_STDIN_BYTES:
                raise AudiostError(
                    f"stdin gives more than {MAX_STDIN_BYTES >> 30} GiB; save it to a file and give its name"
                )
            file.write(block)
    return size


@contextlib.contextmanager
def stdout_output(output: Path | None, suffix: str) -> Iterator[Path | None]:
    """For ``-o -``: a temporary output file (``suffix``: .wav, .png) whose bytes go to stdout once it is complete.

    Nothing reaches stdout if the work fails; a terminal as stdout is
    refused before any work (binary data would garble it).
    """
    if output != STREAM:
        yield output
        return
    if sys.stdout is None or sys.stdout.isatty():
        raise AudiostError(
            "-o - writes the result to stdout, but stdout is a terminal; redirect it, e.g. > out.wav or | another program"
        )
    with tempfile.TemporaryDirectory(prefix="audiost-") as folder:
        made = Path(folder) / f"stdout{suffix}"
        with _aliased(made, "stdout"):
            yield made
            try:
                with made.open("rb") as file:
                    shutil.copyfileobj(file, sys.stdout.buffer)
                sys.stdout.buffer.flush()
            except BrokenPipeError:
                # Nothing more can reach the reader; keep Python's exit-time
                # flush from failing on the closed pipe too.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                raise AudiostError(
                    "stdout was closed before the whole result was written (the program reading it stopped)"
                ) from None


@contextlib.contextmanager
def _aliased(path: Path, name: str) -> Iterator[None]:
    """Messages said inside, and a failure raised from inside, call ``path`` ``name``."""
    ALIASES[str(path)] = name
    try:
        yield
    except AudiostError as exc:
        renamed = None if exc.path is None else exc.path.replace(str(path), name)
        raise AudiostError(exc.message.replace(str(path), name), renamed) from None
    finally:
        del ALIASES[str(path)]
