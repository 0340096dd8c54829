"""``audiost evaluate CONTENT STYLE OUTPUT...``: objective measures of results, side by side."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..config import AudioConfig
from ..evaluate import COMPARE_SIZE
from .common import EXIT_SOME_FAILED, EXIT_USER_ERROR, printable, report_failures, say
from .options import (
    given,
    seconds_option,
    some_settings,
    style_excerpt_options,
    time_option,
)


@click.command()
@click.argument("content", type=click.Path(path_type=Path))
@click.argument("style", type=click.Path(path_type=Path))
@click.argument(
    "outputs",
    nargs=-1,
    required=True,
    metavar="OUTPUT...",
    type=click.Path(path_type=Path),
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the measures as one JSON object (a line each for several outputs).",
)
@click.option(
    "--net",
    type=click.Choice(["vgg19", "vgg16"]),
    help="Images: network for the measures.  [default: vgg19]",
)
@click.option(
    "--weights",
    type=click.Path(path_type=Path),
    help="Images: local VGG state dict (also $AUDIOST_WEIGHTS).",
)
@click.option(
    "--max-size",
    type=click.IntRange(min=16),
    help=f"Images: compare at most at this long side.  [default: {COMPARE_SIZE}]",
)
@click.option(
    "--device", help=f"Images: compute device.  [default: {AudioConfig.device}]"
)
@click.option(
    "--start",
    callback=time_option,
    help="Audio: OUTPUT was made from CONTENT from this time on (transfer --start); measure against that excerpt.",
)
@click.option(
    "--duration",
    callback=seconds_option,
    help="Audio: ... and this long (transfer --duration).",
)
@style_excerpt_options(
    "Audio: OUTPUT imitated STYLE from this time on (transfer --style-start); measure against that excerpt."
)
@click.option(
    "--speech",
    is_flag=True,
    default=None,
    help="Audio: CONTENT is speech; also measure how intelligible its words stay (STOI; needs pystoi: pip install 'audiost[speech]').",
)
@click.option(
    "--picture",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also draw CONTENT, STYLE and each OUTPUT side by side (spectrograms on one colour scale, or the pictures), each titled with its style gain, content kept and (audio) pitch kept and stereo width, into this PNG.",
)
@some_settings("max_duration", "max_channels", "max_megapixels")
@report_failures
def evaluate(
    content: Path,
    style: Path,
    outputs: tuple[Path, ...],
    as_json: bool,
    picture: Path | None,
    **options: Any,
) -> None:
    """Measure how far each OUTPUT moved from CONTENT toward STYLE, and what it kept.

    style_gain: 0 = the content's statistics, 1 = the style's. content_kept:
    1 = the content's structure intact. Every measure is described in
    docs/quality.md. Several OUTPUTs (one pair's runs at other settings) are
    measured side by side, the content and style analysed once; one that
    cannot be measured is said in one line and the others still are (exit
    code 1).
    """
    from ..errors import AudiostError
    from ..evaluate import Evaluator

    if picture is not None:
        from ..outputs import check_output_path
        from ..report import require_matplotlib

        require_matplotlib()  # before the measures, not after them
        check_output_path(
            picture,
            inputs=[content, style, *outputs],
            overwrite=True,
            suffixes=[".png"],
        )
    # The content's or style's problem is said once, before any output.
    pair = Evaluator(content, style, **given(options))
    results, failures = [], []
    for output in outputs:
        try:
            results.append((output, pair.measure(output)))
        except AudiostError as exc:
            failures.append(str(exc))
    for message in failures:
        say(f"audiost: error: {message}")
    if not results:
        sys.exit(EXIT_USER_ERROR)
    if as_json:
        for output, result in results:
            document = {
                "content": str(content),
                "style": str(style),
                "output": str(output),
            }
            click.echo(json.dumps({**document, **result.to_dict()}))
    else:
        _print_table(results)
    if picture is not None:
        _draw(picture, content, style, results, given(options))
    if failures:
        sys.exit(EXIT_SOME_FAILED)


def _draw(
    picture: Path,
    content: Path,
    style: Path,
    results: list[tuple[Path, Any]],
    options: dict[str, Any],
) -> None:
    """The outputs measured, side by side with their content and style, in the excerpts and limits they were measured in."""
    from ..report import write_comparison

    limits = ("max_duration", "max_channels", "max_megapixels")
    write_comparison(
        picture,
        content,
        style,
        results,
        excerpt=(options.get("start", 0.0), options.get("duration")),
        style_excerpt=(options.get("style_start", 0.0), options.get("style_duration")),
        **{name: options[name] for name in limits if name in options},
    )
    say(f"picture: {picture}")


def _print_table(results: list[tuple[Path, Any]]) -> None:
    """One output: each measure, its value and its meaning. Several: a column of values each, numbered."""
    from ..evaluate import DESCRIPTIONS

    for number, (output, result) in enumerate(results, 1):
        label = f"[{number}] " if len(results) > 1 else ""
        click.echo(printable(f"{label}{output} ({result.kind})"))
    names = list(dict.fromkeys(n for _, result in results for n in result.measures))
    width = max(map(len, names), default=0)
    if len(results) > 1:
        heads = "".join(f"{f'[{k}]':>10}" for k in range(1, len(results) + 1))
        click.echo(f"  {'':<{width}} {heads}")
    for name in names:
        values = "".join(
            f"{_shown(result.measures.get(name)):>{10 if len(results) > 1 else 9}}"
            for _, result in results
        )
        click.echo(f"  {name:<{width}} {values}  {DESCRIPTIONS[name]}".rstrip())


def _shown(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
