"""What a batch worker does with one pair, whatever executor runs it.

A worker process keeps one stylist per configuration for its whole life, so
the network is built once and each style's targets are computed once per
worker, then reused for every content it is given.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..config import AudioConfig, ImageConfig
from ..errors import AudiostError, OutOfMemory
from ..media.audio_io import excerpt_record
from ..outputs import write_problem
from .manifest import record


@dataclass(frozen=True)
class Task:
    """One pair as sent to a worker: plain paths, picklable, absolute (a cluster node's cwd differs)."""

    content: str
    style: str
    kind: str
    output: str
    overwrite: bool = False
    #: Folder for this pair's report (pictures and JSON), or None for no report.
    report: str | None = None
    #: The part of an audio style imitated (seconds; duration None: to the end).
    style_start: float = 0.0
    style_duration: float | None = None

    @property
    def style_part(self) -> dict[str, Any]:
        """The style part as keyword arguments; none for a whole style or a picture."""
        if self.kind != "audio" or (
            not self.style_start and self.style_duration is None
        ):
            return {}
        return {"style_start": self.style_start, "style_duration": self.style_duration}


#: A failed line's ``cause`` when the pair ran out of memory (or was
#: refused for the memory free): beside fewer other pairs it may fit.
MEMORY = "memory"

_stylists: dict[Any, Any] = {}


def run_task(task: Task, audio: AudioConfig, image: ImageConfig) -> dict[str, Any]:
    """Style one pair and return its manifest line; never raises for a bad input.

    Every failure of the pair (unreadable input, out of memory, even an
    unexpected error in a decoder) becomes a ``failed`` line, because one bad
    file must not stop a night's batch. Interrupts still propagate.
    """
    started = time.perf_counter()
    config = audio if task.kind == "audio" else image
    try:
        _make_folder(Path(task.output))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            stylist = _stylist(task.kind, config)
            result = stylist.transfer(
                task.content,
                task.style,
                task.output,
                overwrite=task.overwrite,
                **task.style_part,
            )
    except OutOfMemory as exc:
        return _failed(task, str(exc), started, config, cause=MEMORY)
    except AudiostError as exc:
        return _failed(task, str(exc), started, config)
    except OSError as exc:
        return _failed(
            task,
            f"{exc.filename or task.output}: {exc.strerror or exc}",
            started,
            config,
        )
    except MemoryError:
        return _failed(
            task,
            "out of memory; try --preset fast, fewer --jobs, --mono or a smaller --max-size",
            started,
            config,
            cause=MEMORY,
        )
    except Exception as exc:  # noqa: BLE001 - the batch outlives any one pair's bug; the line says what broke
        if _is_cuda_oom(exc):
            _release_cuda()
            return _failed(
                task,
                "out of GPU memory; try fewer --jobs, --preset fast or a smaller --max-size",
                started,
                config,
                cause=MEMORY,
            )
        return _failed(task, f"unexpected {type(exc).__name__}: {exc}", started, config)
    notes = [str(w.message) for w in caught] + result.warnings
    written: dict[str, str] = {}
    if task.report is not None:
        problem, written = _report(task, result)
        notes += problem
    return record(
        task.content,
        task.style,
        "done",
        output=task.output,
        seconds=time.perf_counter() - started,
        device=result.device,
        losses=result.final_losses,
        timings={k: round(v, 3) for k, v in result.timings.items()},
        warnings=notes,
        worker=os.getpid(),
        threads=_threads(),
        **written,
        **_part_record(task),
    )


def _report(task: Task, result: Any) -> tuple[list[str], dict[str, str]]:
    """Write the pair's report: the warning of a report that failed (the output itself is done), or the line's ``report``.

    The line names the report's JSON record, so a batch's overview finds it
    whichever ``--report`` folder the run wrote to.
    """
    from ..report import write_report

    try:
        files = write_report(
            task.report,
            task.content,
            task.style,
            result,
            style_excerpt=(task.style_start, task.style_duration),
        )
    except (AudiostError, OSError, ValueError) as exc:
        return [f"report not written: {exc}"], {}
    return [], {"report": os.fspath(files.record)}


def worker_device(requested: str, index: int, cuda_count: int) -> str:
    """The device worker ``index`` uses: GPUs are dealt out round-robin, anything else is kept.

    ``auto`` and ``cuda`` (no index) mean "any GPU", so with GPUs present
    worker 0 takes cuda:0, worker 1 cuda:1, and so on.
    """
    if cuda_count > 0 and requested in ("auto", "cuda"):
        return f"cuda:{index % cuda_count}"
    return requested


def threads_per_worker(jobs: int, cores: int | None = None) -> int:
    """Intra-op threads for each of ``jobs`` workers so that together they use each core once."""
    if cores is None:
        from ..device import usable_cores

        cores = usable_cores()
    return max(1, cores // max(1, jobs))


def setup_worker(
    index: int, threads: int, audio: AudioConfig, image: ImageConfig
) -> tuple[AudioConfig, ImageConfig]:
    """Pin this process's threads and device; returns the configurations with the device filled in."""
    import torch

    from ..device import prepare_process

    prepare_process(threads)
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return (
        replace(audio, device=worker_device(audio.device, index, count)),
        replace(image, device=worker_device(image.device, index, count)),
    )


def _make_folder(output: Path) -> None:
    """Create the output's mirrored folder; a read-only or full OUTDIR reads like any write failure."""
    try:
        os.makedirs(output.parent, exist_ok=True)
    except OSError as exc:
        raise AudiostError(write_problem(exc), output) from exc


def _stylist(kind: str, config: AudioConfig | ImageConfig) -> Any:
    key = (kind, config)
    if key not in _stylists:
        if kind == "audio":
            from ..audio import AudioStylist

            _stylists[key] = AudioStylist(config)
        else:
            from ..image import ImageStylist

            _stylists[key] = ImageStylist(config)
    return _stylists[key]


def _failed(
    task: Task,
    error: str,
    started: float,
    config: AudioConfig | ImageConfig,
    cause: str | None = None,
) -> dict[str, Any]:
    return record(
        task.content,
        task.style,
        "failed",
        output=task.output,
        error=error,
        seconds=time.perf_counter() - started,
        device=config.device,
        worker=os.getpid(),
        **({"cause": cause} if cause else {}),
        **_part_record(task),
    )


def _part_record(task: Task) -> dict[str, Any]:
    """A manifest line's ``style_excerpt``, where the pair imitated a part of its style."""
    if not task.style_part:
        return {}
    return {"style_excerpt": excerpt_record(task.style_start, task.style_duration)}


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def _is_cuda_oom(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.OutOfMemoryError)


def _release_cuda() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
