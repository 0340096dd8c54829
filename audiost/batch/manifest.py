"""The batch manifest: one JSON line per pair, appended the moment it finishes.

The file is an append-only log, so nothing done is ever lost to a crash:
a line is one ``write`` to a file opened for appending, flushed and synced
at once. Across runs the *last* line for a (content, style) pair is that
pair's state. A line cut short by ``kill -9`` is ignored when read back.
"""

from __future__ import annotations

import errno
import json
import os
import socket
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import AudiostError
from ..outputs import write_problem

MANIFEST_NAME = "manifest.jsonl"
STATUSES = ("done", "skipped", "failed")


def record(
    content: str | os.PathLike,
    style: str | os.PathLike | None,
    status: str,
    *,
    output: str | os.PathLike | None = None,
    error: str | None = None,
    seconds: float | None = None,
    device: str | None = None,
    losses: dict[str, float] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One manifest line: the fields every line has, then any ``extra``."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
    return {
        "content": os.fspath(content),
        "style": None if style is None else os.fspath(style),
        "output": None if output is None else os.fspath(output),
        "status": status,
        "error": error,
        "seconds": None if seconds is None else round(seconds, 3),
        "device": device,
        "losses": losses or {},
        **extra,
    }


class Manifest:
    """Append-only JSONL log of a batch in OUTDIR."""

    def __init__(self, outdir: Path):
        self.path = outdir / MANIFEST_NAME
        self.latest: dict[tuple[str, str | None], dict[str, Any]] = {}
        for line in self._read():
            self.latest[(line["content"], line.get("style"))] = line
        self._end_cut_line()

    def append(self, line: dict[str, Any]) -> None:
        """Write one line now, durable before this returns."""
        line = {
            **line,
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "host": socket.gethostname(),
        }
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                if os.write(fd, data) != len(data):
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            # OUTDIR itself is full or became read-only: the batch cannot
            # keep its record, so it stops; what is finished stays, and a
            # re-run finds it.
            raise AudiostError(
                f"{write_problem(exc)}; finished outputs are kept: run the same command again to resume",
                self.path,
            ) from exc
        self.latest[(line["content"], line["style"])] = line

    def knows(self, line: dict[str, Any]) -> bool:
        """True if the pair's last line already says this, so repeating it would add nothing.

        Same status, error and output; and a pair found done again (its
        output exists) is already known by its ``done`` line.
        """
        last = self.latest.get((line["content"], line["style"]))
        if last is None:
            return False
        status = last["status"] == line["status"] or (
            last["status"],
            line["status"],
        ) == ("done", "skipped")
        return (
            status
            and last.get("error") == line.get("error")
            and last.get("output") == line.get("output")
        )

    def _end_cut_line(self) -> None:
        """Terminate a line a crash cut short, so the next line does not run into it."""
        try:
            with open(self.path, "rb+") as handle:
                size = handle.seek(0, os.SEEK_END)
                if size:
                    handle.seek(size - 1)
                    if handle.read(1) != b"\n":
                        handle.write(b"\n")
        except FileNotFoundError:
            pass

    def _read(self) -> Iterator[dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return
        for raw in text.splitlines():
            try:
                line = json.loads(raw)
            except json.JSONDecodeError:
                continue  # the tail of a line cut short by a crash
            if (
                isinstance(line, dict)
                and "content" in line
                and line.get("status") in STATUSES
            ):
                yield line
