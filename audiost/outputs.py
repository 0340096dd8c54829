"""Output paths and atomic writes shared by every media type.

Rules: an output never replaces an input, never overwrites an existing file
unless asked, and appears only complete (written to a temporary file in the
same directory, then renamed), so an interrupted run leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import AudiostError

# Temporary files are ".<stem>.<random><_PART><suffix>": hidden, and
# recognisable by is_partial() after a crash left one behind.
_PART = ".part"


def is_partial(name: str) -> bool:
    """Whether a file name is one of :func:`atomic_output`'s temporary files."""
    stem, _, suffix = name.rpartition(_PART)
    return (
        name.startswith(".") and bool(stem) and (suffix == "" or suffix.startswith("."))
    )


def default_output_path(
    content: str | os.PathLike, style: str | os.PathLike, suffix: str
) -> Path:
    """``<content-stem>_x_<style-stem><suffix>`` in the current directory."""
    return Path(f"{Path(content).stem}_x_{Path(style).stem}{suffix}")


def check_output_path(
    path: str | os.PathLike,
    *,
    inputs: Iterable[str | os.PathLike] = (),
    overwrite: bool = False,
    suffixes: Iterable[str] = (),
) -> Path:
    """Validate an output path before any work is done, so a long run never
    fails at the very end because the file cannot be written.

    Raises
    ------
    AudiostError
        If the suffix is unsupported, the directory is missing or read-only,
        the path is an input, or the file exists and ``overwrite`` is false.
    """
    out = Path(path)
    allowed = tuple(s.lower() for s in suffixes)
    if allowed and out.suffix.lower() not in allowed:
        raise AudiostError(
            f"unsupported output format {out.suffix or '(none)'!r}; use one of {', '.join(allowed)}",
            out,
        )
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise AudiostError("output directory does not exist; create it first", parent)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise AudiostError(
            "output directory is not writable; choose another with -o", parent
        )
    if out.is_dir():
        raise AudiostError("output path is a directory; give a file name", out)
    for source in inputs:
        if out.exists() and Path(source).exists() and os.path.samefile(out, source):
            raise AudiostError(
                "output path is one of the inputs; inputs are never overwritten", out
            )
    if out.exists() and not overwrite:
        raise AudiostError("output file exists; pass --overwrite to replace it", out)
    return out


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place on success.

    On any exception (including KeyboardInterrupt) the temporary file is
    removed and ``path`` is untouched.
    """
    final = Path(path)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{final.stem}.",
        suffix=f"{_PART}{final.suffix}",
        dir=final.parent or ".",
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        # mkstemp creates the file private (0600); give it the permissions a
        # plain open() would, as users expect of an output file.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        yield tmp
        os.replace(tmp, final)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise AudiostError(
            f"could not write output: {exc.strerror or exc}", final
        ) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
