"""``run_batch``: plan, resume, execute and record a batch into one output folder.

The folder is the batch's whole state: outputs (each written atomically, so
one that exists is complete), ``manifest.jsonl`` and ``recipe.toml``. Running
the same batch again therefore redoes only what is missing, after a crash,
Ctrl-C or ``kill -9`` alike.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..config import TEXTURE_SETTINGS
from ..errors import AudiostError
from ..outputs import is_partial
from .manifest import MANIFEST_NAME, Manifest, record
from .plan import (
    DEFAULT_TEMPLATE,
    Plan,
    find_sources,
    plan_from_csv,
    plan_pairs,
    report_folder,
)
from .recipe import Recipe, resolve_recipe, save_recipe
from .worker import Task

EXECUTORS = ("local", "ray")
LOCK_NAME = ".audiost-batch.lock"
HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class BatchListener(Protocol):
    """What a front end (the CLI's progress bar) is told as a batch runs."""

    def started(self, todo: Sequence[Task], skipped: int, failed: int) -> None: ...

    def finished(self, line: dict[str, Any]) -> None: ...


@dataclass
class BatchSummary:
    """Counts of a batch run; ``failures`` lists ``(content, error)`` for the failed lines."""

    outdir: Path
    done: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    removed_partials: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    not_styled: Counter[str] = field(default_factory=Counter)
    #: With a report: its overview page of every pair, or why it was not written.
    overview: Path | None = None
    overview_problem: str | None = None

    @property
    def manifest(self) -> Path:
        return self.outdir / MANIFEST_NAME

    def count(self, line: dict[str, Any]) -> None:
        setattr(self, line["status"], getattr(self, line["status"]) + 1)
        if line["status"] == "failed":
            self.failures.append((line["content"], line["error"]))
        elif line["status"] == "skipped" and line["error"]:
            self.not_styled[line["error"]] += 1


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a batch; ``summary`` says what was finished."""

    def __init__(self, summary: BatchSummary):
        super().__init__()
        self.summary = summary


def run_batch(
    inputs: Sequence[str | os.PathLike] = (),
    styles: Sequence[str | os.PathLike] = (),
    outdir: str | os.PathLike = "styled",
    *,
    pairs: str | os.PathLike | None = None,
    recipe: Recipe | None = None,
    jobs: int = 1,
    executor: str = "local",
    ray_address: str | None = None,
    overwrite: bool = False,
    report: str | os.PathLike | None = None,
    listener: BatchListener | None = None,
) -> BatchSummary:
    """Style every input with every style (or the pairs in a CSV) into ``outdir``.

    Parameters
    ----------
    inputs : paths, folders or glob patterns
        Folders are searched recursively; their tree is mirrored in ``outdir``.
    styles : paths
        Each input is styled with each style of its kind (audio or image).
    outdir : path
        Created if missing. Holds the outputs, ``manifest.jsonl`` and ``recipe.toml``.
    pairs : path, optional
        A CSV of ``content,style`` rows, instead of ``inputs`` x ``styles``.
    recipe : Recipe, optional
        Settings and output template; default: the ``balanced`` preset.
    jobs : int
        Local worker processes (``executor="local"``); with ``"ray"``, pairs
        sharing each GPU (1: a GPU per pair; CPU-only work takes a CPU each).
    executor : {"local", "ray"}
        Where pairs run: worker processes here, or Ray tasks.
    ray_address : str, optional
        A running Ray cluster (``"auto"``, ``"ray://host:10001"``); default:
        ``$RAY_ADDRESS`` or a local Ray instance started for this batch.
    overwrite : bool
        Redo every pair; otherwise pairs whose output exists are skipped.
    report : path, optional
        Folder for each pair's report (see :mod:`audiost.report`), mirroring
        OUTDIR's tree, and an overview of every pair (``index.html``,
        ``measures.csv``; :mod:`audiost.batch.overview`); needs matplotlib.
    listener : BatchListener, optional
        Told the tasks to run (and how many were skipped or cannot run) before
        any work, then each manifest line as it is written.

    Returns
    -------
    BatchSummary

    Raises
    ------
    AudiostError
        Before any work, for missing inputs, a bad template or recipe, an
        unusable OUTDIR, or another batch writing to it.
    BatchInterrupted
        On Ctrl-C or SIGTERM, after stopping workers and removing partial
        files; finished outputs and their manifest lines are kept.
    """
    if executor not in EXECUTORS:
        raise AudiostError(
            f"unknown executor {executor!r}; use one of {', '.join(EXECUTORS)}"
        )
    if pairs is not None and (inputs or styles):
        raise AudiostError("give either --pairs or inputs with --style, not both")
    if pairs is None and not styles:
        raise AudiostError("no style given: add --style STYLE (or --pairs FILE)")
    if pairs is None and not inputs:
        raise AudiostError("no inputs given")
    if report is not None:
        from ..report import require_matplotlib

        require_matplotlib()
    started = time.perf_counter()
    recipe = recipe or resolve_recipe()
    several = [
        f"{kind}.{name}"
        for kind, config in (("audio", recipe.audio), ("image", recipe.image))
        for name in ("style_weights", "morph")
        if getattr(config, name, None)
    ]
    if several:
        raise AudiostError(
            f"the recipe sets {', '.join(several)}, which combine several styles in one output; "
            "a batch styles each input with one style at a time: remove them from the recipe"
        )
    looped = [
        f"{kind}.{name}"
        for kind, config in (("audio", recipe.audio), ("image", recipe.image))
        for name in TEXTURE_SETTINGS
        if getattr(config, name, None)
    ]
    if looped:
        raise AudiostError(
            f"the recipe sets {', '.join(looped)}, which is for textures; a batch makes transfers: remove it from the recipe"
        )
    # Planned before OUTDIR is made (planning only reads), so a batch refused
    # for a mistyped input or template leaves no folder behind.
    plan = plan_batch(inputs, styles, outdir, pairs=pairs, template=recipe.template)
    if recipe.has_style_part and not any(pair.kind == "audio" for pair in plan.pairs):
        # A setting that changes nothing would be kept in recipe.toml as if it had.
        raise AudiostError(
            "a style part (--style-start, --style-duration) is a part of an audio style; "
            "this batch has no audio pairs: leave it out"
        )
    out = _make_outdir(Path(outdir))
    summary = BatchSummary(outdir=out)
    with _locked(out):
        summary.removed_partials = _remove_partials(out)
        save_recipe(recipe, out, overwrite=overwrite)
        manifest = Manifest(out)
        tasks = _resume(
            plan,
            manifest,
            summary,
            overwrite,
            out,
            None if report is None else Path(report),
            recipe,
        )
        if listener:
            listener.started(tasks, summary.skipped, summary.failed)
        runner = _executor(executor, jobs, ray_address, recipe)

        def on_result(task: Task, line: dict[str, Any]) -> None:
            with _interrupts_held():
                manifest.append(line)
                summary.count(line)
            if listener:
                listener.finished(line)

        try:
            runner.run(tasks, on_result)
        except KeyboardInterrupt:
            summary.seconds = time.perf_counter() - started
            _overview(summary, report, manifest)
            raise BatchInterrupted(summary) from None
        _overview(summary, report, manifest)
    summary.seconds = time.perf_counter() - started
    return summary


def _overview(
    summary: BatchSummary, report: str | os.PathLike | None, manifest: Manifest
) -> None:
    """Write the report's overview of every pair the manifest knows; one that fails is said, the outputs are done."""
    if report is None:
        return
    from .overview import write_overview

    try:
        summary.overview = write_overview(
            Path(report), summary.outdir, manifest.latest.values()
        )[0]
    except AudiostError as exc:
        summary.overview_problem = str(exc)


def plan_batch(
    inputs: Sequence[str | os.PathLike],
    styles: Sequence[str | os.PathLike],
    outdir: str | os.PathLike,
    *,
    pairs: str | os.PathLike | None = None,
    template: str = DEFAULT_TEMPLATE,
) -> Plan:
    """The pairs :func:`run_batch` would style and their output names, and the inputs it would not take, without writing anything."""
    out = Path(outdir)
    if pairs is not None:
        return plan_from_csv(pairs, out, template)
    return plan_pairs(find_sources(inputs, out), styles, out, template)


def _resume(
    plan: Plan,
    manifest: Manifest,
    summary: BatchSummary,
    overwrite: bool,
    outdir: Path,
    report: Path | None,
    recipe: Recipe,
) -> list[Task]:
    """Record what needs no work and return the tasks that do (each audio pair with the recipe's style part).

    Lines that would only repeat what the manifest already says (an output
    found again, a file still not stylable) are not written twice.
    """
    for item in plan.unplanned:
        line = record(
            _abs(item.content),
            item.style and _abs(item.style),
            item.status,
            error=item.error,
        )
        _note(line, manifest, summary)
    tasks = []
    for pair in plan.pairs:
        content, style, output = _abs(pair.content), _abs(pair.style), _abs(pair.output)
        if not overwrite and _complete(pair.output):
            line = record(
                content, style, "skipped", output=output, note="output exists"
            )
            _note(line, manifest, summary)
            continue
        folder = None if report is None else report_folder(report, outdir, output)
        tasks.append(
            Task(
                content,
                style,
                pair.kind,
                output,
                overwrite=overwrite,
                report=folder,
                style_start=recipe.style_start,
                style_duration=recipe.style_duration,
            )
        )
    return tasks


def _note(line: dict[str, Any], manifest: Manifest, summary: BatchSummary) -> None:
    summary.count(line)
    if not manifest.knows(line):
        manifest.append(line)


def _complete(output: Path) -> bool:
    """Outputs are renamed into place only when fully written, so any non-empty one is complete."""
    try:
        return output.is_file() and output.stat().st_size > 0
    except OSError:
        return False


def _executor(name: str, jobs: int, ray_address: str | None, recipe: Recipe) -> Any:
    if name == "ray":
        from .ray_executor import RayExecutor

        return RayExecutor(ray_address, recipe.audio, recipe.image, per_gpu=jobs)
    from .local import LocalExecutor

    return LocalExecutor(jobs, recipe.audio, recipe.image)


def _make_outdir(outdir: Path) -> Path:
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise AudiostError(
            "OUTDIR exists and is not a folder; choose another -o", outdir
        ) from None
    except OSError as exc:
        raise AudiostError(
            f"cannot create OUTDIR: {exc.strerror or exc}", outdir
        ) from None
    if not os.access(outdir, os.W_OK | os.X_OK):
        raise AudiostError("OUTDIR is not writable; choose another -o", outdir)
    return outdir


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait for the block's end: a finished pair is in both the manifest and the summary, or in neither.

    Interrupted between the two (seen under load: the manifest said 1 done,
    the summary 0), the closing line would miscount, and a Ctrl-C inside
    the write would cut a manifest line short. The Python handlers are
    swapped, not the signal mask: a mask holds only this thread, and the
    kernel hands a Ctrl-C to any thread of the process (torch starts some),
    whose arrival Python then raises here all the same (CI saw exactly that).
    """
    previous = {signum: signal.getsignal(signum) for signum in HELD_SIGNALS}
    if threading.current_thread() is not threading.main_thread() or None in (
        previous.values()
    ):
        # Only the main thread may set handlers (and only it is interrupted);
        # a handler set outside Python (None) could not be put back.
        yield
        return
    held: list[tuple[int, Any]] = []
    for signum in HELD_SIGNALS:
        signal.signal(signum, lambda signum, frame: held.append((signum, frame)))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum, frame in held[:1]:
            _deliver(previous[signum], signum, frame)


def _deliver(handler: Any, signum: int, frame: Any) -> None:
    """Act on a held signal as its own handler would have."""
    if callable(handler):
        handler(signum, frame)
    elif handler == signal.SIG_DFL:
        os.kill(os.getpid(), signum)


@contextlib.contextmanager
def _locked(outdir: Path) -> Iterator[None]:
    """Hold an exclusive lock on OUTDIR: two batches writing one folder would redo each other's work.

    filelock takes the operating system's lock (``flock`` on POSIX,
    ``msvcrt`` on Windows), which is released if the process dies.
    """
    from filelock import FileLock, Timeout

    lock = FileLock(outdir / LOCK_NAME, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise AudiostError(
            "another audiost batch is writing to this folder; wait for it or choose another -o",
            outdir,
        ) from None
    try:
        yield
    finally:
        lock.release()


def _remove_partials(outdir: Path) -> int:
    """Delete temporary files a killed run left behind (safe: this batch holds OUTDIR's lock)."""
    removed = 0
    for folder, _, names in os.walk(outdir):
        for name in names:
            if is_partial(name):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, name))
                    removed += 1
    return removed


def _abs(path: str | os.PathLike) -> str:
    return os.path.abspath(path)
