"""Command-line interface: ``audiost transfer CONTENT STYLE``.

A thin layer over the Python API: it parses options, shows progress and turns
every user-facing failure into one line on stderr with exit code 2.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from .config import PRESETS, audio_preset
from .device import DEVICE_CHOICES
from .errors import AudiostError
from .outputs import default_output_path
from .progress import progress_bar

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def _report_failures(command: Callable[..., Any]) -> Callable[..., Any]:
    """Map user-facing failures to one stderr line and an exit code, never a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _show_warning
                return command(*args, **kwargs)
        except AudiostError as exc:
            _fail(str(exc), EXIT_USER_ERROR)
        except (MemoryError, _out_of_memory_errors()) as exc:
            _fail(f"out of memory ({type(exc).__name__}); try --preset fast, --mono, --device cpu or a shorter input", EXIT_USER_ERROR)
        except KeyboardInterrupt:
            _fail("interrupted; no output was written", EXIT_INTERRUPTED)

    return wrapper


def _out_of_memory_errors() -> type[BaseException]:
    import torch

    return torch.OutOfMemoryError


def _fail(message: str, code: int) -> None:
    click.echo(f"audiost: error: {message}", err=True)
    sys.exit(code)


def _show_warning(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
    click.echo(f"audiost: warning: {message}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="audiost")
def main() -> None:
    """Neural style transfer for sound and pictures."""


@main.command()
@click.argument("content", type=click.Path(path_type=Path))
@click.argument("style", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Output file (.wav or .flac). Default: <content>_x_<style>.wav here.")
@click.option("--overwrite", is_flag=True, help="Replace the output file if it exists.")
@click.option("--preset", type=click.Choice(list(PRESETS)), default="balanced", show_default=True, help="Speed/quality trade-off.")
@click.option("--iters", type=click.IntRange(min=0), help="Optimiser iterations (overrides the preset).")
@click.option("--content-weight", type=click.FloatRange(min=0), help="How strongly the content is kept.  [default: 1]")
@click.option("--style-weight", type=click.FloatRange(min=0), help="How strongly the style is imposed.  [default: 10]")
@click.option("--temporal-envelope-weight", type=click.FloatRange(min=0), help="Keep the content's energy envelope over time.  [default: 0.1]")
@click.option("--spectral-envelope-weight", type=click.FloatRange(min=0), help="Impose the style's average spectrum.  [default: 0.1]")
@click.option("--optimizer", type=click.Choice(["lbfgs", "adam"]), help="Optimiser.  [default: lbfgs]")
@click.option("--init", type=click.Choice(["content", "noise"]), help="Start from the content or from noise.  [default: content]")
@click.option("--phase-init", type=click.Choice(["content", "random"]), help="Griffin-Lim start phase.  [default: content]")
@click.option("--gl-iters", type=click.IntRange(min=0), help="Griffin-Lim iterations (overrides the preset).")
@click.option("--mono", is_flag=True, default=None, help="Downmix the content to mono first (otherwise each channel is styled).")
@click.option("--sample-rate", type=click.IntRange(min=1000), help="Resample the content to this rate (default: keep it).")
@click.option("--device", default="auto", show_default=True, help=f"One of {', '.join(DEVICE_CHOICES)} (or cuda:N).")
@click.option("--seed", type=int, help="Seed for the random network and noise; same seed, same device, same output.  [default: 0]")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
@_report_failures
def transfer(content: Path, style: Path, output: Path | None, overwrite: bool, preset: str, quiet: bool, **settings: Any) -> None:
    """Recompose CONTENT in the style of STYLE (audio: WAV, FLAC, OGG, MP3)."""
    from .audio_transfer import transfer_audio  # deferred: torch import is slow, --help should not wait

    started = time.perf_counter()
    try:
        config = audio_preset(preset).replace(**settings)
    except ValueError as exc:
        raise AudiostError(str(exc)) from exc
    output = output or default_output_path(content, style, ".wav")
    with progress_bar(config.iters, "styling", quiet=quiet) as on_step:
        result = transfer_audio(content, style, output, config=config, overwrite=overwrite, on_step=on_step)
    for note in result.warnings:
        click.echo(f"audiost: warning: {note}", err=True)
    if not quiet:
        channels, samples = result.audio.shape
        click.echo(
            f"wrote {result.output} ({samples / result.sr:.1f} s, {result.sr} Hz, {channels} ch) "
            f"in {time.perf_counter() - started:.1f} s on {result.device}",
            err=True,
        )
