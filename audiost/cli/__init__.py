"""Command-line interface: ``audiost transfer`` for one pair, ``audiost batch`` for folders."""

from __future__ import annotations

import click

from .batch import batch
from .evaluate import evaluate
from .texture import texture
from .transfer import transfer


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="audiost")
def main() -> None:
    """Neural style transfer for sound and pictures."""


main.add_command(transfer)
main.add_command(batch)
main.add_command(evaluate)
main.add_command(texture)

__all__ = ["main"]
