"""Start-up cost of the command line: ``--help``, completion and ``import audiost`` against a bare ``import torch``.

Each command runs in a fresh interpreter, as a user's shell runs it
(``audiost`` is ``from audiost.cli import main; main()``), ``--repeats``
times; the table gives the median wall time, its ratio to ``import torch``,
and which heavy libraries the command imported (read from one more run
under ``python -X importtime``). The aim (#15): help and completion answer
without torch or librosa, in at most a third of ``import torch``.

Usage::

    python scripts/bench_startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

from benchlib import REPO, machine_lines, markdown_table

HEAVY = ("torch", "librosa", "scipy", "numba", "numpy", "soundfile", "PIL")
CLI = "from audiost.cli import main; main(prog_name='audiost')"
EXAMPLES = REPO / "examples"
COMMANDS: dict[str, list[str]] = {
    "python (nothing imported)": ["-c", "pass"],
    "import torch": ["-c", "import torch"],
    "import audiost": ["-c", "import audiost"],
    "audiost --help": ["-c", CLI, "--help"],
    "audiost transfer --help": ["-c", CLI, "transfer", "--help"],
    "audiost batch --help": ["-c", CLI, "batch", "--help"],
    "audiost evaluate --help": ["-c", CLI, "evaluate", "--help"],
    "audiost texture --help": ["-c", CLI, "texture", "--help"],
    "audiost --version": ["-c", CLI, "--version"],
    "completion (audiost tr<TAB>)": ["-c", CLI],
    # Measuring needs neither torch nor librosa: NumPy and soxr only.
    "audiost evaluate (5.6 s clips)": [
        "-c",
        CLI,
        "evaluate",
        str(EXAMPLES / "speech.wav"),
        str(EXAMPLES / "music.wav"),
        str(EXAMPLES / "music.wav"),
    ],
}
# What bash's completion script sets for ``audiost tr<TAB>``.
COMPLETION_ENV = {
    "_AUDIOST_COMPLETE": "bash_complete",
    "COMP_WORDS": "audiost tr",
    "COMP_CWORD": "1",
}


def run(args: Sequence[str], extra: Sequence[str] = ()) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if args[-1] == CLI:  # the completion row: the CLI with no arguments
        env.update(COMPLETION_ENV)
    return subprocess.run(
        [sys.executable, *extra, *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def wall(args: Sequence[str]) -> float:
    start = time.perf_counter()
    done = run(args)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr}")
    return elapsed


def heavy_imports(args: Sequence[str]) -> list[str]:
    """The heavy top-level packages ``args`` imports, from ``-X importtime``'s report."""
    report = run(args, ["-X", "importtime"]).stderr
    names = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in report.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return [name for name in HEAVY if name in names]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    for command in COMMANDS.values():  # warm the file cache
        wall(command)
    times = {name: [] for name in COMMANDS}
    for _ in range(args.repeats):  # interleaved, so load changes hit every row
        for name, command in COMMANDS.items():
            times[name].append(wall(command))
    medians = {name: statistics.median(values) for name, values in times.items()}
    torch_time = medians["import torch"]
    rows = [
        [
            f"`{name}`" if name[0].isalpha() and "(" not in name else name,
            f"{medians[name]:.2f}",
            f"{medians[name] / torch_time:.2f}",
            ", ".join(heavy_imports(command)) or "-",
        ]
        for name, command in COMMANDS.items()
    ]
    print("## Start-up: fresh interpreter per command\n")
    print("\n".join(machine_lines("cpu", args.repeats)) + "\n")
    print(
        markdown_table(["command", "wall (s)", "/ import torch", "heavy imports"], rows)
    )


if __name__ == "__main__":
    main()
