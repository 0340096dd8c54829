"""``audiost evaluate CONTENT STYLE OUTPUT``: objective measures of a result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..config import AudioConfig
from ..evaluate import COMPARE_SIZE
from .common import (
    given,
    printable,
    report_failures,
    seconds_option,
    some_settings,
    time_option,
)


@click.command()
@click.argument("content", type=click.Path(path_type=Path))
@click.argument("style", type=click.Path(path_type=Path))
@click.argument("output", type=click.Path(path_type=Path))
@click.option(
    "--json", "as_json", is_flag=True, help="Print the measures as one JSON object."
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
@click.option(
    "--speech",
    is_flag=True,
    default=None,
    help="Audio: CONTENT is speech; also measure how intelligible its words stay (STOI; needs pystoi: pip install 'audiost[speech]').",
)
@some_settings("max_duration", "max_channels", "max_megapixels")
@report_failures
def evaluate(
    content: Path, style: Path, output: Path, as_json: bool, **options: Any
) -> None:
    """Measure how far OUTPUT moved from CONTENT toward STYLE, and what it kept.

    style_gain: 0 = the content's statistics, 1 = the style's. content_kept:
    1 = the content's structure intact. Every measure is described in docs/quality.md.
    """
    from ..evaluate import DESCRIPTIONS
    from ..evaluate import evaluate as measure

    result = measure(content, style, output, **given(options))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "content": str(content),
                    "style": str(style),
                    "output": str(output),
                    **result.to_dict(),
                }
            )
        )
        return
    click.echo(printable(f"{output} ({result.kind})"))
    width = max(map(len, result.measures), default=0)
    for name, value in result.measures.items():
        shown = "n/a" if value is None else f"{value:.4g}"
        click.echo(f"  {name:<{width}} {shown:>9}  {DESCRIPTIONS[name]}")
