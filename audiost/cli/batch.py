"""``audiost batch``: folders of clips against one or more styles, resumable, on local workers or Ray."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from ..batch.costs import expected_costs
from ..batch.plan import DEFAULT_TEMPLATE, Plan
from ..batch.recipe import load_recipe, resolve_recipe
from ..batch.runner import (
    EXECUTORS,
    BatchInterrupted,
    BatchSummary,
    plan_batch,
    run_batch,
)
from ..batch.worker import Task
from ..config import AUDIO_PRESETS, ImageConfig
from ..progress import BAR_FORMAT
from .common import EXIT_INTERRUPTED, EXIT_SOME_FAILED, printable, report_failures, say
from .options import (
    SectionedCommand,
    given,
    pair_setting_options,
    style_excerpt_options,
)

_SHOWN_FAILURES = 10


@click.command(cls=SectionedCommand)
@click.argument(
    "inputs", nargs=-1, type=click.Path(path_type=Path), metavar="[INPUT ...]"
)
@click.option(
    "-s",
    "--style",
    "styles",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Style file; repeat for several. Each input gets each style of its kind.",
)
@click.option(
    "-o",
    "--outdir",
    required=True,
    type=click.Path(path_type=Path),
    help="Output folder (created if missing); the input tree is mirrored in it.",
)
@click.option(
    "--pairs",
    type=click.Path(path_type=Path),
    help="CSV of content,style rows to run instead of INPUT x --style (paths relative to the CSV).",
)
@click.option(
    "--template",
    help=f"Output name; fields {{content}} {{style}} {{ext}} {{kind}}.  [default: {DEFAULT_TEMPLATE}]",
)
@click.option(
    "--recipe",
    type=click.Path(path_type=Path),
    help="TOML file of settings (see docs/batch.md); options given here override it.",
)
@click.option(
    "--preset",
    type=click.Choice(list(AUDIO_PRESETS)),
    help="Speed/quality trade-off.  [default: balanced]",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Local worker processes; CPU cores (or GPUs) are shared out between them. With --executor ray: pairs per GPU.",
)
@click.option(
    "--executor",
    type=click.Choice(EXECUTORS),
    default="local",
    show_default=True,
    help="Run pairs in local worker processes, or as Ray tasks.",
)
@click.option(
    "--ray-address",
    help="Ray cluster to use (e.g. auto, ray://head:10001); default: $RAY_ADDRESS or a local Ray started for this batch.",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Redo every pair; by default pairs whose output exists are skipped (resume).",
)
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="No progress bar: one plain line per pair, for logs.",
)
@click.option(
    "--report",
    type=click.Path(path_type=Path, file_okay=False),
    help="Also write each pair's pictures and JSON record (see transfer --report) here, mirroring OUTDIR, and index.html (every pair's measures, picture and output on one sortable page) and measures.csv.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="List the pairs and their output names (tab-separated: status, content, style, output) and style nothing; OUTDIR is not created.",
)
@style_excerpt_options(
    "Audio styles: imitate each from this time on (a song's chorus, a minute of a long recording); e.g. 1:20. Saved in recipe.toml.  [default: 0]"
)
@pair_setting_options
@report_failures
def batch(
    inputs: tuple[Path, ...],
    styles: tuple[Path, ...],
    outdir: Path,
    pairs: Path | None,
    template: str | None,
    recipe: Path | None,
    preset: str | None,
    jobs: int,
    executor: str,
    ray_address: str | None,
    overwrite: bool,
    quiet: bool,
    report: Path | None,
    dry_run: bool,
    style_start: float | None,
    style_duration: float | None,
    **settings: Any,
) -> None:
    """Style every INPUT (files, folders, glob patterns) with every --style into OUTDIR.

    Audio and images are told apart by content; each input is paired with the
    styles of its kind. Re-running the same command finishes only what is
    missing. OUTDIR gets manifest.jsonl (one line per pair) and recipe.toml
    (the settings used). Exit code 1 if any pair failed.
    """
    loaded = load_recipe(recipe) if recipe else None
    resolved = resolve_recipe(
        loaded,
        preset=preset,
        template=template,
        style_start=style_start,
        style_duration=style_duration,
        settings=given(settings),
        source=recipe,
    )
    if dry_run:
        _list_plan(
            plan_batch(inputs, styles, outdir, pairs=pairs, template=resolved.template),
            overwrite,
        )
        return
    listener = _Progress(
        quiet,
        jobs if executor == "local" else None,
        resolved.image,
        # --net reaches audio too; said once the plan shows audio pairs.
        audio_net=given(settings).get("net")
        if resolved.audio.net != "spectral-conv"
        else None,
    )
    try:
        summary = run_batch(
            inputs,
            styles,
            outdir,
            pairs=pairs,
            recipe=resolved,
            jobs=jobs,
            executor=executor,
            ray_address=ray_address,
            overwrite=overwrite,
            report=report,
            listener=listener,
        )
    except BatchInterrupted as stop:
        listener.close()
        _print_summary(stop.summary, interrupted=True)
        sys.exit(EXIT_INTERRUPTED)
    listener.close()
    _print_summary(summary, interrupted=False)
    if summary.failed:
        sys.exit(EXIT_SOME_FAILED)


def _list_plan(plan: Plan, overwrite: bool) -> None:
    """A dry run: one tab-separated line per pair and per input left out, on stdout; the counts on stderr."""
    counts: Counter[str] = Counter()
    for pair in plan.pairs:
        status = "exists" if pair.output.exists() and not overwrite else "to style"
        counts[status] += 1
        click.echo(f"{status}\t{pair.content}\t{pair.style}\t{pair.output}")
    for item in plan.unplanned:
        counts["left out"] += 1
        click.echo(f"left out\t{item.content}\t{item.style or ''}\t{item.error}")
    say(
        f"dry run: {counts['to style']} pair(s) to style, {counts['exists']} output(s) exist "
        f"(skipped; --overwrite redoes them), {counts['left out']} input(s) left out; nothing written"
    )


class _Progress:
    """One bar over the pairs to do, filled by each pair's expected cost, and one compact line per finished pair."""

    def __init__(
        self,
        quiet: bool,
        jobs: int | None,
        image: ImageConfig,
        audio_net: str | None = None,
    ):
        self.quiet, self.jobs, self.image = quiet, jobs, image
        self.audio_net = audio_net
        self.bar: tqdm | None = None
        self.todo = 0
        self.finished_count = 0
        self.costs: dict[tuple[str, str], float] = {}

    def started(self, todo: Sequence[Task], skipped: int, failed: int) -> None:
        self.todo = len(todo)
        workers = f"{self.jobs} worker{'s' * (self.jobs != 1)}" if self.jobs else "Ray"
        already = (
            f", {skipped} skipped (done before or not stylable)" if skipped else ""
        )
        unplannable = f", {failed} cannot run" if failed else ""
        say(
            f"batch: {self.todo} pair{'s' * (self.todo != 1)} to style on {workers}{already}{unplannable}"
        )
        audio = sum(task.kind == "audio" for task in todo)
        if self.audio_net and audio:
            # A VGG is a picture network; given for a batch's pictures, it
            # also makes each clip far slower (a 5 s clip, balanced, on 2
            # cores: 325 s against 8 s), which nothing else would say.
            say(
                f"batch: --net {self.audio_net} styles the {audio} audio pair{'s' * (audio != 1)} too, "
                "with a VGG on the spectrogram, far slower than spectral-conv (40 times on a CPU); "
                "to give pictures alone a net, set it in a recipe's [image] table (docs/batch.md)"
            )
        if not self.quiet and todo:
            # Filled by cost, not by pairs: a folder's clips differ in length
            # (audiost.batch.costs), so the count goes beside the bar.
            costs = expected_costs(todo, self.image)
            self.costs = {
                (task.content, task.style): cost
                for task, cost in zip(todo, costs, strict=True)
            }
            self.bar = tqdm(
                total=sum(costs),
                desc="batch",
                file=sys.stderr,
                bar_format=BAR_FORMAT,
                dynamic_ncols=True,
            )

    def finished(self, line: dict[str, Any]) -> None:
        self.finished_count += 1
        width = len(str(self.todo))
        head = f"[{self.finished_count:>{width}}/{self.todo}] {line['status']:<6} {_short(line['content'])} x {_short(line['style'])}"
        if line["status"] == "done":
            text = f"{head} -> {_short(line['output'])} ({line['seconds']:.1f} s)"
        else:
            text = f"{head}: {_readable(line['error'])}"
        if line.get("note"):
            text += f"; {line['note']}"
        if self.bar is not None:
            self.bar.set_postfix_str(
                f"{self.finished_count}/{self.todo} pairs, last {line['seconds'] or 0:.1f} s",
                refresh=False,
            )
            cost = self.costs.pop((line["content"], line["style"]), 0.0)
            # The last pair fills the bar to its total: the costs added up
            # in the order pairs finish can overshoot their sum by a
            # rounding error, which tqdm warns of and shows as "-00:00" left.
            self.bar.update(cost if self.costs else self.bar.total - self.bar.n)
            self.bar.write(printable(text), file=sys.stderr)
        else:
            say(text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _print_summary(summary: BatchSummary, *, interrupted: bool) -> None:
    minutes, seconds = divmod(summary.seconds, 60)
    counts = f"{summary.done} done, {summary.skipped} skipped, {summary.failed} failed in {int(minutes)}m{seconds:04.1f}s"
    if summary.removed_partials:
        say(
            f"batch: removed {summary.removed_partials} partial file(s) left by an interrupted run"
        )
    for reason, count in summary.not_styled.items():
        say(
            f"batch: {count} input{'s' * (count != 1)} not styled: {reason.removesuffix('; not styled')}"
        )
    # One error that several pairs share (a style's, named in it) is said
    # once with its count, not once per content.
    by_error: dict[str, list[str]] = {}
    for content, error in summary.failures:
        by_error.setdefault(error, []).append(content)
    shown = list(by_error.items())[:_SHOWN_FAILURES]
    for error, contents in shown:
        if len(contents) > 1:
            message = f"{len(contents)} pairs: {_readable(error)}"
        elif contents[0] in error or _short(contents[0]) in error:
            message = _readable(error)
        else:
            message = f"{_short(contents[0])}: {error}"
        say(f"audiost: failed: {message}")
    unshown = len(summary.failures) - sum(len(contents) for _, contents in shown)
    if unshown:
        say(f"audiost: ... and {unshown} more failures; see the manifest")
    if summary.overview is not None:
        say(f"batch: every pair's measures and pictures: {_short(summary.overview)}")
    if summary.overview_problem is not None:
        say(f"audiost: warning: {_readable(summary.overview_problem)}")
    if interrupted:
        say(
            f"audiost: interrupted: {counts}; finished outputs are kept, run the same command again to do the rest"
        )
    else:
        say(f"batch: {counts}; manifest: {_short(summary.manifest)}")


def _readable(error: str) -> str:
    """An error with the absolute path it starts with shortened."""
    path, sep, rest = error.partition(": ")
    return f"{_short(path)}{sep}{rest}" if sep and os.path.isabs(path) else error


def _short(path: str | os.PathLike | None) -> str:
    """A path as the user would type it: relative to the current folder when that is shorter."""
    if path is None:
        return "-"
    text = os.fspath(path)
    try:
        relative = os.path.relpath(text)
    except ValueError:
        return text
    return relative if len(relative) < len(text) else text
