"""The one exception type users see.

Everything a user can fix (a bad file, a path that cannot be written, a device
that is missing) is raised as :class:`AudiostError`; the CLI prints it as a
single line and exits with code 2. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import os


class AudiostError(Exception):
    """A user-facing failure, reported as ``<path>: <problem>``.

    Parameters
    ----------
    message : str
        What went wrong and, where possible, what to do about it.
    path : str or os.PathLike, optional
        The file the problem is about; prefixed to the message.
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None):
        self.message = message
        self.path = None if path is None else os.fspath(path)
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class OutOfMemory(AudiostError):
    """A run that did not fit in the memory free at the time: with less else running it may.

    A batch runs such a pair again once its other pairs are done
    (:class:`~audiost.batch.local.LocalExecutor`); a limit the user set
    with ``--max-memory`` is an :class:`AudiostError`, as no retry moves it.
    """
