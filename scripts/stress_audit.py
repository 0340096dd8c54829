"""The audit and report of a stressed batch (``scripts/stress_batch.py``).

The audit reads the file system and ``OUT/manifest.jsonl`` only: every
planned pair must end with a valid output (readable, finite, non-empty
audio or image) or a failure line with its reason. *Lost* counts pairs with
neither (or a ``done`` line whose file is missing or unreadable),
*duplicated* counts pairs with more than one ``done`` line, two pairs
claiming one file, and output files no pair planned; partial files and
failures that no injected fault explains are listed too.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Input sub-folders: where the faults are injected, and the bad files.
READONLY, FULLVOL, BAD, IMAGES = "read_only", "full_disk", "bad", "images"

REASONS = ("bad input", "worker killed", "read-only folder", "disk full", "other")


@dataclass
class Run:
    """One ``audiost batch`` process: what it said and what it appended to the manifest."""

    label: str
    exit_code: int | None = None
    wall: float = 0.0
    to_style: int | None = None
    summary: dict[str, int] = field(default_factory=dict)
    lines: list[dict[str, Any]] = field(default_factory=list)
    tracebacks: int = 0
    events: list[str] = field(default_factory=list)


@dataclass
class Faults:
    """How each fault was injected, for the report."""

    read_only: str = "none"
    disk_full: str = "none"
    fsize_limit: int | None = None
    kills: list[int] = field(default_factory=list)


def plan(inputs: Path, styles: Sequence[Path], out: Path) -> Any:
    from audiost.batch.plan import find_sources, plan_pairs

    return plan_pairs(find_sources([inputs], out), styles, out)


def manifest_lines(manifest: Path) -> list[dict[str, Any]]:
    """Every complete manifest line, in order (a line cut short by a crash is left out, as the batch does)."""
    try:
        raw = manifest.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    lines = []
    for text in raw:
        with contextlib.suppress(json.JSONDecodeError):
            line = json.loads(text)
            if isinstance(line, dict) and "status" in line:
                lines.append(line)
    return lines


@dataclass
class Audit:
    """The pairs' final state, from the files and the manifest, and everything wrong with it."""

    planned: int = 0
    unplanned: int = 0
    done: int = 0
    skipped: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    partials: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def reason(line: dict[str, Any], inputs: Path, works: set[str]) -> str:
    """Which injected fault a failure line is explained by, or "other"."""
    error, content = line.get("error") or "", Path(line["content"])
    relative = (
        content.relative_to(inputs).parts if content.is_relative_to(inputs) else ()
    )
    if "worker process died" in error:
        return "worker killed"
    if relative[:1] == (FULLVOL,) and (
        "No space left on device" in error or "File too large" in error
    ):
        return "disk full"
    if relative[:1] == (READONLY,) and "not writable" in error:
        return "read-only folder"
    if relative[:1] == (BAD,) and content.name not in works and content.name in error:
        return "bad input"
    return "other"


def ran_again_alone(line: dict[str, Any]) -> bool:
    """A pair that ran out of memory (or lost its worker to SIGKILL) beside others, run again alone."""
    return (line.get("note") or "").startswith("run again alone")


def audit(
    inputs: Path,
    out: Path,
    styles: Sequence[Path],
    runs: Sequence[Run],
    faults: Faults,
    works: set[str],
) -> Audit:
    """Check every planned pair's final state against the files and the manifest."""
    from audiost.outputs import is_partial

    result = Audit()
    the_plan = plan(inputs, styles, out)
    result.planned, result.unplanned = len(the_plan.pairs), len(the_plan.unplanned)
    lines = manifest_lines(out / "manifest.jsonl")
    by_pair: dict[tuple[str, str | None], list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        by_pair[(line["content"], line.get("style"))].append(line)

    # Every input file is either planned or recorded as not stylable.
    seen = {os.path.abspath(p.content) for p in the_plan.pairs} | {
        os.path.abspath(u.content) for u in the_plan.unplanned
    }
    for path in sorted(inputs.rglob("*")):
        if path.is_file() and os.path.abspath(path) not in seen:
            result.lost.append(f"{path}: input in neither the plan nor the manifest")

    outputs: set[str] = set()
    claimed: dict[str, list[str]] = defaultdict(list)
    for pair in the_plan.pairs:
        key = (os.path.abspath(pair.content), os.path.abspath(pair.style))
        output = os.path.abspath(pair.output)
        outputs.add(output)
        mine = by_pair.get(key, [])
        name = f"{Path(key[0]).relative_to(inputs)} x {Path(key[1]).name}"
        done = [line for line in mine if line["status"] == "done"]
        if len(done) > 1:
            result.duplicated.append(f"{name}: {len(done)} done lines")
        for line in done:
            claimed[line["output"]].append(name)
        problem = output_problem(Path(output), pair.kind)
        last = mine[-1] if mine else None
        if last is None:
            result.lost.append(f"{name}: no manifest line")
        elif problem is None and last["status"] in ("done", "skipped"):
            result.done += 1
        elif last["status"] == "failed" and problem == "missing":
            cause = reason(last, inputs, works)
            result.failed[cause] += 1
            if cause == "other":
                result.unexplained.append(f"{name}: {last['error']}")
        else:
            result.lost.append(
                f"{name}: last line {last['status']}, output {problem or 'valid'}"
            )
    for output, names in claimed.items():
        if len(set(names)) > 1:
            result.duplicated.append(
                f"{output}: claimed by {', '.join(sorted(set(names)))}"
            )

    for item in the_plan.unplanned:
        key = (
            os.path.abspath(item.content),
            item.style and os.path.abspath(item.style),
        )
        mine = by_pair.get(key, [])
        if not mine or mine[-1]["status"] != item.status:
            result.lost.append(
                f"{item.content}: not stylable, but no {item.status} line"
            )
        elif item.status == "skipped":
            result.skipped += 1
        else:
            result.failed["bad input"] += 1

    bookkeeping = {str(out / "manifest.jsonl"), str(out / "recipe.toml")}
    for folder, _, names in os.walk(out):
        for file in names:
            path = os.path.join(folder, file)
            if is_partial(file):
                result.partials.append(path)
            elif not file.startswith(".") and path not in outputs | bookkeeping:
                result.duplicated.append(f"{path}: an output no pair planned")

    kills = sum(
        "worker process died" in (line.get("error") or "")
        for run in runs
        for line in run.lines
    )
    if kills > len(faults.kills):
        result.unexplained.append(
            f"{kills - len(faults.kills)} worker death(s) not caused here"
        )
    # A pair whose worker was killed beside others runs again alone at the
    # end of the run; a run interrupted before then leaves it to the resume.
    retried = sum(map(ran_again_alone, (line for run in runs for line in run.lines)))
    interrupted = any(run.exit_code == 130 for run in runs)
    if faults.kills and not (kills or retried or interrupted):
        result.warnings.append(
            "the killed worker's pair was neither run again alone nor recorded as failed"
        )
    readonly_done = sum(
        1
        for pair in the_plan.pairs
        if pair.content.relative_to(inputs).parts[0] == READONLY
        and output_problem(Path(pair.output), pair.kind) is None
    )
    if faults.read_only != "none" and readonly_done:
        result.warnings.append(
            f"{readonly_done} output(s) were written into the read-only folder"
        )
    if faults.disk_full != "none" and not result.failed["disk full"]:
        result.warnings.append("the full disk refused no output")
    return result


def output_problem(path: Path, kind: str) -> str | None:
    """None if ``path`` is a complete, readable, finite audio file or image; else what is wrong."""
    import numpy as np

    if not path.exists():
        return "missing"
    if path.stat().st_size == 0:
        return "empty"
    try:
        if kind == "audio":
            import soundfile as sf

            data, _ = sf.read(path, dtype="float32")
        else:
            from PIL import Image

            with Image.open(path) as image:
                data = np.asarray(image.convert("RGB"), dtype=np.float32)
    except Exception as exc:  # noqa: BLE001 - any failure to read back means a broken output
        return f"unreadable ({type(exc).__name__}: {exc})"
    if data.size == 0:
        return "no samples or pixels"
    if not np.isfinite(data).all():
        return "not finite"
    return None


def report(
    runs: Sequence[Run],
    result: Audit,
    faults: Faults,
    inputs: Path,
    works: set[str],
    jobs: int,
    seed: int,
    total: float,
) -> None:
    from benchlib import markdown_table, seconds

    def failed(run: Run, cause: str) -> str:
        return str(
            sum(
                line["status"] == "failed" and reason(line, inputs, works) == cause
                for line in run.lines
            )
        )

    def summary(run: Run, key: str) -> str:
        return str(run.summary.get(key, "?"))

    rows = [
        ["pairs planned (+ inputs not stylable)"]
        + ["" for _ in runs]
        + [f"{result.planned} (+{result.unplanned})"],
        ["pairs to style (attempted)"]
        + [str(run.to_style if run.to_style is not None else "?") for run in runs]
        + [""],
        ["done"] + [summary(run, "done") for run in runs] + [str(result.done)],
        ["- of which run again alone (worker killed beside others)"]
        + [
            str(
                sum(
                    ran_again_alone(line) and line["status"] == "done"
                    for line in run.lines
                )
            )
            for run in runs
        ]
        + [""],
        ["skipped (output exists, or not stylable)"]
        + [summary(run, "skipped") for run in runs]
        + [str(result.skipped)],
        ["failed"]
        + [summary(run, "failed") for run in runs]
        + [str(sum(result.failed.values()))],
    ]
    rows += [
        [f"- {cause}"]
        + [failed(run, cause) for run in runs]
        + [str(result.failed[cause])]
        for cause in REASONS
    ]
    rows += [
        ["**lost**"] + ["" for _ in runs] + [f"**{len(result.lost)}**"],
        ["**duplicated**"] + ["" for _ in runs] + [f"**{len(result.duplicated)}**"],
        ["partial files left"] + ["" for _ in runs] + [str(len(result.partials))],
        ["tracebacks in the output"] + [str(run.tracebacks) for run in runs] + [""],
        ["exit code"] + [str(run.exit_code) for run in runs] + [""],
        ["wall (s)"] + [seconds(run.wall) for run in runs] + [seconds(total)],
    ]
    print(f"### Batch stress: {result.planned} pairs, `--jobs {jobs}`, seed {seed}\n")
    print(f"- read-only folder: {faults.read_only}")
    print(f"- full disk: {faults.disk_full}")
    for run in runs:
        for event in run.events:
            print(f"- {run.label}: {event}")
    print()
    print(markdown_table(["", *(run.label for run in runs), "final state"], rows))
    print()
    for title, items in (
        ("lost", result.lost),
        ("duplicated", result.duplicated),
        ("partial files left", result.partials),
        ("failures with no injected cause", result.unexplained),
        ("warnings", result.warnings),
    ):
        if items:
            print(f"{title}:")
            for item in items[:20]:
                print(f"  {item}")
            if len(items) > 20:
                print(f"  ... and {len(items) - 20} more")


def bad_files_that_work(corpus: Path) -> set[str]:
    """Files of ``corpus/bad`` its MANIFEST says must work (valid, unusual inputs)."""
    import csv

    with open(corpus / "bad" / "MANIFEST.tsv", newline="") as handle:
        return {
            row["file"]
            for row in csv.DictReader(handle, delimiter="\t")
            if row["expected"].startswith("works")
        }
