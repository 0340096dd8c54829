"""Local executor: N worker processes on this machine, one pair each at a time.

Written on ``multiprocessing`` rather than ``concurrent.futures``: a process
pool cannot say which task a dead worker was running and breaks as a whole
when one dies, while here each worker is handed one pair at a time, so a
worker killed mid-pair (by the OOM killer, a crashing decoder or ``kill -9``)
costs exactly that pair, which is recorded as failed or run again (below),
and a fresh worker takes its place.

Workers share the machine's memory, and each pair checks its estimate
against what is free when it starts, so pairs started together can each
fit alone and not together. A pair that ran out of memory (or was killed,
as the kernel's out-of-memory killer does) beside other pairs is therefore
not recorded yet: it runs again once every other pair is done, alone,
and its line is that run's.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from ..config import AudioConfig, ImageConfig
from ..errors import AudiostError
from .manifest import record
from .worker import MEMORY, Task, run_task, setup_worker, threads_per_worker

ResultCallback = Callable[[Task, dict[str, Any]], None]
# Seconds a worker gets to clean up (remove its temporary file) after SIGTERM.
_STOP_GRACE_S = 10.0
_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


class LocalExecutor:
    """Runs tasks on ``jobs`` spawned worker processes, dividing the CPU cores between them."""

    def __init__(self, jobs: int, audio: AudioConfig, image: ImageConfig):
        if jobs < 1:
            raise AudiostError(f"--jobs must be at least 1, got {jobs}")
        self.jobs = jobs
        self.audio, self.image = audio, image
        # spawn, not fork: a forked child would inherit the parent's torch
        # thread pools and CUDA state, neither of which survives a fork.
        self._context = multiprocessing.get_context("spawn")

    def run(self, tasks: Sequence[Task], on_result: ResultCallback) -> None:
        """Run every task, calling ``on_result(task, line)`` in this process as each finishes."""
        # No more workers than tasks, and the cores shared among those that run.
        count = min(self.jobs, len(tasks))
        if count == 0:
            return
        threads = threads_per_worker(count)
        queue = _Queue(tasks)
        workers = [_Worker(self, index, threads) for index in range(count)]
        try:
            _deal(workers, queue)
            while any(w.task is not None for w in workers):
                busy = [w for w in workers if w.task is not None]
                ready = wait(
                    [w.conn for w in busy] + [w.process.sentinel for w in busy]
                )
                for worker in busy:
                    line = worker.result(ready)
                    if line is None:
                        continue
                    task, alone = worker.task, worker.alone
                    worker.task = None
                    if line.get("cause") == MEMORY and not alone and count > 1:
                        queue.retry_alone(task)
                    else:
                        on_result(task, _said_retried(line) if alone else line)
                _deal(workers, queue)
            for worker in workers:
                worker.finish()
        except KeyboardInterrupt:
            _stop(workers)
            _collect_sent(workers, on_result)
            raise


class _Queue:
    """The tasks still to hand out: in order, then, one at a time with no other pair running, those that ran out of memory beside others."""

    def __init__(self, tasks: Sequence[Task]):
        self._pending = deque(tasks)
        self._alone: deque[Task] = deque()

    def retry_alone(self, task: Task) -> None:
        self._alone.append(task)

    def next(self, others_busy: bool) -> tuple[Task, bool] | None:
        """The next task and whether it runs alone; None while nothing may start."""
        if self._pending:
            return self._pending.popleft(), False
        if self._alone and not others_busy:
            return self._alone.popleft(), True
        return None


def _deal(workers: list[_Worker], queue: _Queue) -> None:
    """Give every idle worker its next task, while the queue has one for it."""
    for worker in workers:
        if worker.task is None:
            step = queue.next(any(w.task is not None for w in workers))
            if step is None:
                return
            worker.give(*step)


def _said_retried(line: dict[str, Any]) -> dict[str, Any]:
    return {
        **line,
        "note": "run again alone: it ran out of memory beside other pairs",
    }


class _Worker:
    def __init__(self, owner: LocalExecutor, index: int, threads: int):
        self.owner, self.index, self.threads = owner, index, threads
        self.task: Task | None = None
        self.alone = False
        self.restart()

    def restart(self) -> None:
        parent, child = self.owner._context.Pipe()
        self.conn: Connection = parent
        args = (
            child,
            self.index,
            self.threads,
            self.owner.audio,
            self.owner.image,
        )
        self.process: BaseProcess = self.owner._context.Process(
            target=_serve, args=args, daemon=True, name=f"audiost-worker-{self.index}"
        )
        self.process.start()
        child.close()

    def give(self, task: Task, alone: bool = False) -> None:
        self.task, self.alone = task, alone
        try:
            self.conn.send(task)
        except (BrokenPipeError, OSError):
            pass  # the worker is dead: the main loop sees its sentinel and records the pair

    def result(self, ready: list[Any]) -> dict[str, Any] | None:
        """The manifest line of this worker's task if it has finished (a dead worker's is made here, and the worker restarted), else None."""
        if self.conn in ready and self.conn.poll():
            with contextlib.suppress(EOFError):
                return self.conn.recv()
        if self.process.is_alive():
            return None
        line = _died(self.task, self.process.exitcode)
        self.restart()
        return line

    def finish(self) -> None:
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.process.join(timeout=_STOP_GRACE_S)
        if self.process.is_alive():
            self.process.kill()


def _stop(workers: list[_Worker]) -> None:
    """SIGTERM every worker (each removes its partial output), then kill any that linger."""
    for worker in workers:
        if worker.process.is_alive():
            worker.process.terminate()
    for worker in workers:
        worker.process.join(timeout=_STOP_GRACE_S)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()


def _collect_sent(workers: list[_Worker], on_result: ResultCallback) -> None:
    """Record the lines stopped workers sent but nobody read yet.

    A pair can finish as the Ctrl-C arrives: its output is in place and its
    line is in the pipe. Recording it keeps the manifest and the
    interrupted summary in step with the outputs on disk.
    """
    for worker in workers:
        if worker.task is None:
            continue
        with contextlib.suppress(EOFError, OSError):
            if worker.conn.poll():
                line = worker.conn.recv()
                task, worker.task = worker.task, None
                on_result(task, line)


def _died(task: Task, exitcode: int | None) -> dict[str, Any]:
    how = (
        f"killed by signal {-exitcode}"
        if exitcode is not None and exitcode < 0
        else f"exit code {exitcode}"
    )
    error = f"worker process died while styling this pair ({how}): the input may crash a decoder, or memory ran out"
    # SIGKILL is how the kernel's out-of-memory killer stops a process.
    cause = {"cause": MEMORY} if exitcode == -signal.SIGKILL else {}
    return record(
        task.content, task.style, "failed", output=task.output, error=error, **cause
    )


def _serve(
    conn: Connection, index: int, threads: int, audio: AudioConfig, image: ImageConfig
) -> None:
    """Worker process main loop: receive a task, send back its manifest line, until told to stop."""
    # Ctrl-C reaches the whole process group; the parent decides, and stops
    # workers with SIGTERM, which unwinds like an interrupt so temporary files go.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    _die_with_parent()
    try:
        audio, image = setup_worker(index, threads, audio, image)
        while True:
            task = conn.recv()
            if task is None:
                return
            conn.send(run_task(task, audio, image))
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        # Stopping: a second SIGTERM must not interrupt the interpreter's own clean-up.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _die_with_parent() -> None:
    """Get SIGTERM when the batch process dies, even by ``kill -9``.

    Otherwise an orphaned worker would finish its pair while a re-run
    starts the same pair again: a result written twice. Linux only (prctl);
    elsewhere the worker stops at its next pair, when the pipe is gone.
    """
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
