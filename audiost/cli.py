"""Command-line interface: ``audiost transfer CONTENT STYLE [STYLE ...]``.

A thin layer over the Python API: it decides audio or image from the files,
parses options, shows progress and turns every user-facing failure into one
line on stderr with exit code 2.
"""

from __future__ import annotations

import signal
import sys
import time
import warnings
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from .config import PRESETS, AudioConfig, ImageConfig, audio_preset, image_preset
from .device import DEVICE_CHOICES
from .errors import AudiostError
from .media.kind import media_kind
from .outputs import default_output_path
from .progress import progress_bar

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

_AUDIO_FIELDS = set(AudioConfig.__dataclass_fields__)
_IMAGE_FIELDS = set(ImageConfig.__dataclass_fields__)


def _report_failures(command: Callable[..., Any]) -> Callable[..., Any]:
    """Map user-facing failures to one stderr line and an exit code, never a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # A polite kill (SIGTERM) stops the same clean way as Ctrl-C.
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _show_warning
                return command(*args, **kwargs)
        except AudiostError as exc:
            _fail(str(exc), EXIT_USER_ERROR)
        except (MemoryError, _out_of_memory_errors()) as exc:
            _fail(f"out of memory ({type(exc).__name__}); try --preset fast, a smaller --max-size, --mono or a shorter input", EXIT_USER_ERROR)
        except KeyboardInterrupt:
            _fail("interrupted; no output was written", EXIT_INTERRUPTED)

    return wrapper


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _out_of_memory_errors() -> type[BaseException]:
    import torch

    return torch.OutOfMemoryError


def _fail(message: str, code: int) -> None:
    click.echo(f"audiost: error: {message}", err=True)
    sys.exit(code)


def _show_warning(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
    click.echo(f"audiost: warning: {message}", err=True)


def _floats(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        return tuple(float(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter("expected comma-separated numbers, e.g. 0.7,0.3") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="audiost")
def main() -> None:
    """Neural style transfer for sound and pictures."""


@main.command()
@click.argument("content", type=click.Path(path_type=Path))
@click.argument("styles", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="STYLE [STYLE ...]")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Output file: .wav/.flac for audio, .png/.jpg for images. Default: <content>_x_<style> here.")
@click.option("--overwrite", is_flag=True, help="Replace the output file if it exists.")
@click.option("--preset", type=click.Choice(list(PRESETS)), default="balanced", show_default=True, help="Speed/quality trade-off.")
@click.option("--iters", type=click.IntRange(min=0), help="Optimiser iterations (overrides the preset).")
@click.option("--content-weight", type=click.FloatRange(min=0), help="How strongly the content is kept.  [default: 1]")
@click.option("--style-weight", type=click.FloatRange(min=0), help="How strongly the style is imposed.  [default: 10]")
@click.option("--optimizer", type=click.Choice(["lbfgs", "adam"]), help="Optimiser.  [default: lbfgs]")
@click.option("--init", type=click.Choice(["content", "noise", "style"]), help="Start from the content, noise or (images) the style.  [default: content]")
@click.option("--net", type=click.Choice(["spectral-conv", "vgg19", "vgg16"]), help="Feature network. Audio: spectral-conv (default) or a VGG on the spectrogram; images: vgg19 (default) or vgg16.")
@click.option("--weights", type=click.Path(path_type=Path), help="Local VGG state dict (also $AUDIOST_WEIGHTS); default: ImageNet weights, downloaded once.")
@click.option("--device", default="auto", show_default=True, help=f"One of {', '.join(DEVICE_CHOICES)} (or cuda:N).")
@click.option("--seed", type=int, help="Seed for random networks and noise; same seed, same device, same output.  [default: 0]")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
@click.option("--temporal-envelope-weight", type=click.FloatRange(min=0), help="Audio: keep the content's energy envelope over time.  [default: 0.1]")
@click.option("--spectral-envelope-weight", type=click.FloatRange(min=0), help="Audio: impose the style's average spectrum.  [default: 0.1]")
@click.option("--phase-init", type=click.Choice(["content", "random"]), help="Audio: Griffin-Lim start phase.  [default: content]")
@click.option("--gl-iters", type=click.IntRange(min=0), help="Audio: Griffin-Lim iterations (overrides the preset).")
@click.option("--match-loudness/--no-match-loudness", default=None, help="Audio: match the content's RMS level.  [default: match]")
@click.option("--mono", is_flag=True, default=None, help="Audio: downmix the content to mono first (otherwise each channel is styled).")
@click.option("--sample-rate", type=click.IntRange(min=1000), help="Audio: resample the content to this rate (default: keep it).")
@click.option("--max-size", type=click.IntRange(min=16), help="Images: long side of the output in pixels.  [default: 512]")
@click.option("--scales", type=click.IntRange(1, 5), help="Images: coarse-to-fine passes, each twice the size of the last.  [default: 1]")
@click.option("--style-weights", callback=_floats, help="Images: blend of several styles, e.g. 0.7,0.3.")
@click.option("--style-scale", type=click.FloatRange(0.1, 4), help="Images: style size relative to the content (bigger strokes above 1).  [default: 1]")
@click.option("--tv-weight", type=click.FloatRange(min=0), help="Images: total-variation smoothing.  [default: 0.01]")
@click.option("--pooling", type=click.Choice(["max", "avg"]), help="Images: VGG pooling.  [default: max]")
@click.option("--preserve-color", type=click.Choice(["none", "luminance", "histogram"]), help="Images: keep the content's colours.  [default: none]")
@click.option("--content-layers", help="Images: content layers, optionally weighted: conv4_2 or conv3_1:1,conv4_2:2.")
@click.option("--style-layers", help="Images: style layers, optionally weighted: conv1_1,conv2_1:0.5,...")
@_report_failures
def transfer(content: Path, styles: tuple[Path, ...], output: Path | None, overwrite: bool, preset: str, quiet: bool, **settings: Any) -> None:
    """Recompose CONTENT in the style of STYLE.

    Audio (WAV, FLAC, OGG, MP3) or images (PNG, JPEG, WebP, BMP, TIFF),
    decided from the files themselves; both must be the same kind. Several
    styles blend (images).
    """
    started = time.perf_counter()
    kind = _common_kind(content, styles)
    settings = {k: v for k, v in settings.items() if v is not None}
    if "weights" in settings:
        settings["weights"] = str(settings["weights"])
    _reject_foreign_options(kind, settings)
    if kind == "audio":
        result, summary = _transfer_audio(content, styles, output, overwrite, preset, quiet, settings)
    else:
        result, summary = _transfer_image(content, styles, output, overwrite, preset, quiet, settings)
    for note in result.warnings:
        click.echo(f"audiost: warning: {note}", err=True)
    if not quiet:
        click.echo(f"wrote {result.output} ({summary}) in {time.perf_counter() - started:.1f} s on {result.device}", err=True)


def _common_kind(content: Path, styles: tuple[Path, ...]) -> str:
    kind = media_kind(content)
    for style in styles:
        if media_kind(style) != kind:
            raise AudiostError(f"is {media_kind(style)} but the content {content} is {kind}; give both as audio or both as images", style)
    return kind


def _reject_foreign_options(kind: str, settings: dict[str, Any]) -> None:
    fields = _AUDIO_FIELDS if kind == "audio" else _IMAGE_FIELDS
    foreign = [name for name in settings if name not in fields]
    if foreign:
        names = ", ".join("--" + name.replace("_", "-") for name in foreign)
        raise AudiostError(f"{names} do(es) not apply to {kind} inputs")


def _transfer_audio(
    content: Path, styles: tuple[Path, ...], output: Path | None, overwrite: bool, preset: str, quiet: bool, settings: dict[str, Any]
) -> tuple[Any, str]:
    from .audio_transfer import (
        transfer_audio,  # deferred: torch import is slow, --help should not wait
    )

    if len(styles) != 1:
        raise AudiostError(f"audio takes one style, got {len(styles)}")
    config = _config(audio_preset, preset, settings)
    output = output or default_output_path(content, styles[0], ".wav")
    with progress_bar(config.iters, "styling", quiet=quiet) as on_step:
        result = transfer_audio(content, styles[0], output, config=config, overwrite=overwrite, on_step=on_step)
    channels, samples = result.audio.shape
    return result, f"{samples / result.sr:.1f} s, {result.sr} Hz, {channels} ch"


def _transfer_image(
    content: Path, styles: tuple[Path, ...], output: Path | None, overwrite: bool, preset: str, quiet: bool, settings: dict[str, Any]
) -> tuple[Any, str]:
    from .image_transfer import default_image_output, transfer_image

    config = _config(image_preset, preset, settings)
    output = output or default_image_output(content, styles)
    with progress_bar(config.iters * config.scales, "styling", quiet=quiet) as on_step:
        result = transfer_image(content, list(styles), output, config=config, overwrite=overwrite, on_step=on_step)
    height, width = result.image.shape[:2]
    return result, f"{width}x{height} px"


def _config(make: Callable[..., Any], preset: str, settings: dict[str, Any]) -> Any:
    try:
        return make(preset, **settings)
    except ValueError as exc:
        raise AudiostError(str(exc)) from exc
