"""Ray executor: each pair is a Ray task, on a running cluster or a local one started here.

Ray (``pip install 'audiost[ray]'``) schedules the tasks; audiost only keeps
a bounded number in flight and records each line as it comes back. Every
node needs audiost installed and must see the inputs and OUTDIR at the same
paths (shared storage), because workers read and write files directly.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

from ..config import AudioConfig, ImageConfig
from ..errors import AudiostError
from .local import ResultCallback
from .manifest import record
from .worker import Task, run_task, setup_worker

# Tasks kept queued per schedulable slot: enough that no slot idles while
# the driver records a result, few enough that Ctrl-C cancels little.
_IN_FLIGHT_PER_SLOT = 2
_configured: dict[str, tuple[AudioConfig, ImageConfig]] = {}


class RayExecutor:
    """Runs tasks on Ray: one CPU per task, and where the cluster has GPUs, ``per_gpu`` tasks share each.

    Several pairs on one GPU keep it busy through each pair's host-side
    work (decoding, Griffin-Lim's start, writing), as local workers do.
    """

    def __init__(
        self,
        address: str | None,
        audio: AudioConfig,
        image: ImageConfig,
        per_gpu: int = 1,
    ):
        try:
            import ray
        except ImportError:
            raise AudiostError(
                "--executor ray needs Ray: pip install 'audiost[ray]'"
            ) from None
        self.ray = ray
        self.address = address
        self.per_gpu = per_gpu
        self.audio, self.image = audio, image

    def run(self, tasks: Sequence[Task], on_result: ResultCallback) -> None:
        """Run every task, calling ``on_result(task, line)`` in this process as each finishes."""
        if not tasks:
            return
        ray = self.ray
        started_here = not ray.is_initialized()
        if started_here:
            self._connect()
        try:
            resources = ray.cluster_resources()
            gpus = int(resources.get("GPU", 0))
            use_gpu = gpus > 0 and "cpu" not in (self.audio.device, self.image.device)
            if self.per_gpu > 1 and not use_gpu:
                why = (
                    "this batch runs on the CPU"
                    if gpus
                    else "the Ray cluster has no GPU"
                )
                raise AudiostError(
                    f"--jobs {self.per_gpu} with --executor ray sets pairs per GPU, and {why}; "
                    "leave --jobs out (Ray gives each pair a CPU)"
                )
            slots = gpus * self.per_gpu if use_gpu else int(resources.get("CPU", 1))
            # max_calls=0: Ray would otherwise start a fresh process for every GPU
            # task, throwing away the network and style targets each time.
            remote = ray.remote(
                num_cpus=1,
                num_gpus=1 / self.per_gpu if use_gpu else 0,
                max_calls=0,
                max_retries=1,
            )(_ray_task)
            configs = ray.put((self.audio, self.image))
            self._drain(
                remote,
                configs,
                iter(tasks),
                max(1, slots) * _IN_FLIGHT_PER_SLOT,
                on_result,
            )
        finally:
            if started_here:
                ray.shutdown()

    def _connect(self) -> None:
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "logging_level": logging.WARNING,
            "log_to_driver": False,
        }
        try:
            self.ray.init(address=self.address, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = (
                self.address or os.environ.get("RAY_ADDRESS") or "a local Ray instance"
            )
            raise AudiostError(f"cannot start or reach Ray ({where}): {exc}") from None

    def _drain(
        self,
        remote: Any,
        configs: Any,
        pending: Iterator[Task],
        window: int,
        on_result: ResultCallback,
    ) -> None:
        ray = self.ray
        in_flight: dict[Any, Task] = {}

        def submit() -> None:
            while len(in_flight) < window:
                task = next(pending, None)
                if task is None:
                    return
                in_flight[remote.remote(task, configs)] = task

        def collect(done: list[Any]) -> None:
            for ref in done:
                task = in_flight.pop(ref)
                try:
                    line = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    line = record(
                        task.content,
                        task.style,
                        "failed",
                        output=task.output,
                        error=f"Ray task failed ({type(exc).__name__}): {_first_line(exc)}",
                    )
                on_result(task, line)

        submit()
        try:
            while in_flight:
                done, _ = ray.wait(list(in_flight), num_returns=1)
                collect(done)
                submit()
        except KeyboardInterrupt:
            # Tasks that finished as the Ctrl-C arrived have their outputs in
            # place: record them, so the manifest and summary match the disk.
            if in_flight:
                done, _ = ray.wait(
                    list(in_flight), num_returns=len(in_flight), timeout=0
                )
                collect(done)
            for ref in in_flight:
                ray.cancel(ref, force=True)
            raise


def _ray_task(task: Task, configs: tuple[AudioConfig, ImageConfig]) -> dict[str, Any]:
    """Runs on a Ray worker: set the process up once, then style the pair."""
    key = repr(configs)
    if key not in _configured:
        import ray

        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
        # Ray restricts each GPU task to its own GPU (CUDA_VISIBLE_DEVICES), so index 0 is it.
        _configured[key] = setup_worker(0, max(1, int(cpus)), *configs)
    audio, image = _configured[key]
    line = run_task(task, audio, image)
    line["worker"] = f"{line.get('worker')}@ray"
    return line


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
