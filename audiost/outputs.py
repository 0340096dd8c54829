"""Output paths and atomic writes shared by every media type.

Rules: an output never replaces an input, never overwrites an existing file
unless asked, and appears only complete (written to a temporary file in the
same directory, then renamed), so an interrupted run leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import AudiostError

# Temporary files are ".<stem>.<random><_PART><suffix>": hidden, and
# recognisable by is_partial() after a crash left one behind.
_PART = ".part"
# What to do when the OS refuses to write an output, by errno.
_FREE_SPACE = "free space or choose another output folder"
_NO_SPACE = {
    errno.ENOSPC: _FREE_SPACE,
    errno.EDQUOT: _FREE_SPACE,
    errno.EFBIG: "raise the file-size limit (ulimit -f) or choose another output folder",
}
_NOT_WRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM}
# How much the probe in _refusal() tries to add to a failed temporary file.
_PROBE_BYTES = 1 << 20


def is_partial(name: str) -> bool:
    """Whether a file name is one of :func:`atomic_output`'s temporary files."""
    stem, _, suffix = name.rpartition(_PART)
    return (
        name.startswith(".") and bool(stem) and (suffix == "" or suffix.startswith("."))
    )


def default_output_path(
    content: str | os.PathLike,
    styles: str | os.PathLike | Iterable[str | os.PathLike],
    suffix: str,
) -> Path:
    """``<content-stem>_x_<style-stem><suffix>`` in the current directory; several styles' stems are joined by ``+``."""
    if isinstance(styles, (str, os.PathLike)):
        styles = [styles]
    stems = "+".join(Path(style).stem for style in styles)
    return Path(f"{Path(content).stem}_x_{stems}{suffix}")


def in_folder_if_one(output: str | os.PathLike | None, default: Path) -> Path:
    """``output`` as given; ``default`` where it is None; ``default``'s name inside it where it is a folder.

    ``-o renders/`` then writes ``renders/<content>_x_<style>.wav``, as
    ``cp`` and ``mv`` take a folder, instead of refusing a file name
    without an extension.
    """
    if output is None:
        return default
    output = Path(output)
    return output / default.name if output.is_dir() else output


def intermediate_path(output: str | os.PathLike, iteration: int) -> Path:
    """Where ``--save-every`` puts the result at ``iteration``: ``out.iter0050.wav`` beside ``out.wav``."""
    output = Path(output)
    return output.with_name(f"{output.stem}.iter{iteration:04d}{output.suffix}")


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
    if out.is_dir():
        raise AudiostError("output path is a directory; give a file name", out)
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
            "output folder is not writable (read-only?); make it writable or choose another output folder",
            parent,
        )
    for source in inputs:
        if out.exists() and Path(source).exists() and os.path.samefile(out, source):
            raise AudiostError(
                "output path is one of the inputs; inputs are never overwritten", out
            )
    if out.exists() and not overwrite:
        raise AudiostError("output file exists; pass --overwrite to replace it", out)
    return out


def write_problem(exc: OSError) -> str:
    """An OSError met writing an output, as a message that says what to do about it."""
    reason = exc.strerror or str(exc)
    if exc.errno in _NO_SPACE:
        return f"could not write output: {reason}; {_NO_SPACE[exc.errno]}"
    if exc.errno in _NOT_WRITABLE:
        return f"could not write output: {reason} (read-only or not writable folder); make it writable or choose another output folder"
    return f"could not write output: {reason}"


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place on success.

    On any exception (including KeyboardInterrupt) the temporary file is
    removed and ``path`` is untouched. Write failures, the temporary file's
    creation included, are raised as AudiostError saying why (disk full,
    read-only folder) and what to do.
    """
    final = Path(path)
    tmp: Path | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{final.stem}.",
            suffix=f"{_PART}{final.suffix}",
            dir=final.parent or ".",
        )
        os.close(fd)
        tmp = Path(tmp_name)
        # mkstemp creates the file private (0600); give it the permissions a
        # plain open() would, as users expect of an output file.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        yield tmp
        os.replace(tmp, final)
    except OSError as exc:
        _discard(tmp)
        raise AudiostError(write_problem(exc), final) from exc
    except RuntimeError as exc:  # libsndfile's errors, which drop the errno
        refusal = _refusal(tmp)
        _discard(tmp)
        if refusal is None:
            raise
        raise AudiostError(write_problem(refusal), final) from exc
    except BaseException:
        _discard(tmp)
        raise


def _refusal(tmp: Path | None) -> OSError | None:
    """The OS's reason for refusing more bytes in ``tmp`` (disk full, size limit), or None.

    Some writers hide it: libsndfile reports a full disk as a bare "System
    error". Writing on to the same file gets the errno they dropped.
    """
    if tmp is None:
        return None
    chunk = bytes(1 << 16)
    try:
        with open(tmp, "ab", buffering=0) as handle:
            handle.writelines(chunk for _ in range(_PROBE_BYTES // len(chunk)))
    except OSError as exc:
        return exc if exc.errno in _NO_SPACE else None
    return None


def _discard(tmp: Path | None) -> None:
    if tmp is not None:
        tmp.unlink(missing_ok=True)
