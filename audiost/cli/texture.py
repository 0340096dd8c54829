"""``audiost texture STYLE``: new audio of any length, or a picture of any size, in the style's texture."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import click

from ..config import AudioConfig, ImageConfig
from ..errors import AudiostError
from ..media.kind import media_kind
from ..outputs import in_folder_if_one
from ..progress import analysis_progress, audio_progress, image_progress
from .common import configure, report_failures, say, say_done
from .options import (
    SectionedCommand,
    given,
    overwrite_option,
    parse_duration,
    parse_size,
    preset_option,
    quiet_option,
    recipe_option,
    reject_foreign_options,
    report_option,
    some_settings,
    style_excerpt_options,
    style_part,
)
from .streams import one_writer_of_stdout, stdin_inputs, stdout_output

#: An audio texture's length when none is asked for: the style's, up to
#: this (s). The style's own length made an hour-long field recording's
#: texture an hour long, which takes hours to make.
DEFAULT_TEXTURE_S = 30.0


@click.command(cls=SectionedCommand)
@click.argument("style", type=click.Path(path_type=Path, allow_dash=True))
@click.option(
    "--duration",
    help=f"Audio: length of the result, e.g. 30s, 1.5m, 2m30s.  [default: the style's length, at most {DEFAULT_TEXTURE_S:g} s]",
)
@style_excerpt_options()
@click.option(
    "--size",
    help="Images: WIDTHxHEIGHT of the result, e.g. 1024x512.  [default: the style's size]",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, allow_dash=True),
    help="Output file; a folder for the default name there; - writes WAV or PNG to stdout. Default: <style>_texture.wav (or .png) here.",
)
@overwrite_option
@preset_option
@quiet_option
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="When done, print one JSON object on stdout: output, style, settings, timings, distances to the style and (audio) the longest stretch of it replayed. Messages stay on stderr.",
)
@report_option("spectrograms or a contact sheet of style and texture")
@recipe_option
@some_settings(
    "iters",
    "style_weight",
    "style_loss",
    "net",
    "weights",
    "device",
    "seed",
    helps={
        "style_weight": "How hard the style's statistics pull against the rhythm term (audio) or the smoothing (images)."
        f"  [default: audio {AudioConfig.style_weight:g}, images {ImageConfig.style_weight:g}]",
    },
)
@some_settings(
    "spectral_envelope_weight",
    "level_distribution_weight",
    "phase_init",
    "gl_iters",
    "wave_iters",
    "wave_variable",
    "sample_rate",
    "mono",
    "seamless",
    "loudness",
    "bit_depth",
    helps={
        "sample_rate": "Audio: resample the style to this rate (default: keep it).",
        "mono": "Audio: downmix the style to mono first (otherwise the result has its channels).",
        "loudness": "Audio: match the style's loudness as BS.1770 LUFS (with a -1 dBTP true-peak ceiling) or RMS, or leave the level as reconstructed."
        f"  [default: {AudioConfig.loudness}]",
        "phase_init": "Audio: Griffin-Lim start phase: PGHI's estimate, or random (a texture has no content phase; 'content' means PGHI here)."
        f"  [default: {AudioConfig.phase_init}]",
        "wave_variable": "Audio: what those iterations move: the samples, or the log-magnitudes of the output's STFT at its phase (the corpus's textures came nearer their styles, 0.45 dB of statistics distance against 0.78, but the game theme's went further and got a gap)."
        f"  [default: {AudioConfig.wave_variable}]",
    },
)
@some_settings(
    "tv_weight",
    "start_size",
    "style_scale",
    "pooling",
    "style_layers",
    helps={
        "style_scale": "Images: motif size relative to the result (bigger above 1)."
        f"  [default: {ImageConfig.style_scale:g}]",
    },
)
@some_settings("max_duration", "max_channels", "max_megapixels", "max_memory")
@report_failures
def texture(
    style: Path,
    duration: str | None,
    style_start: float | None,
    style_duration: float | None,
    size: str | None,
    output: Path | None,
    overwrite: bool,
    preset: str,
    quiet: bool,
    as_json: bool,
    report: Path | None,
    recipe: Path | None,
    **settings: Any,
) -> None:
    """Synthesise new material with the texture of STYLE and no content.

    The result has the style's statistics everywhere but does not replay its
    timeline (Ulyanov & Lebedev 2016; Antognini et al. 2019). - reads STYLE
    from stdin.
    """
    started = time.perf_counter()
    one_writer_of_stdout(as_json, output)
    settings = given(settings)
    with contextlib.ExitStack() as streams:
        # From here on, "-" is a temporary file holding what stdin gave.
        (style_file,) = streams.enter_context(stdin_inputs([style]))
        kind = media_kind(style_file)
        reject_foreign_options(kind, settings)
        if kind == "audio" and size is not None:
            raise AudiostError("--size is for image textures; use --duration for audio")
        if kind == "image" and duration is not None:
            raise AudiostError(
                "--duration is for audio textures; use --size for images"
            )
        styled_part = style_part(style_start, style_duration, kind, recipe)
        if report is not None:
            from ..report import require_matplotlib

            require_matplotlib()  # before the work, not after it
        from ..device import prepare_process  # imports torch: not for --help

        # One thread per core this process may use (a container's quota included).
        prepare_process()
        config = configure(kind, preset, settings, recipe, "texture")
        destination = streams.enter_context(
            stdout_output(output, ".wav" if kind == "audio" else ".png")
        )
        if kind == "audio":
            result, summary = _audio(
                style_file, styled_part, duration, destination, overwrite, config, quiet
            )
        else:
            result, summary = _image(
                style_file, size, destination, overwrite, config, quiet
            )
        say_done(result, summary, started, quiet)
        evaluation = None
        if report is not None or as_json:
            from ..evaluate import evaluate_texture_result

            evaluation = evaluate_texture_result(
                style_file,
                result,
                style_start=styled_part[0],
                style_duration=styled_part[1],
            )
        if report is not None:
            from ..report import write_report

            written = write_report(
                report,
                None,
                style_file,
                result,
                style_excerpt=styled_part,
                evaluation=evaluation,
            )
            if not quiet:
                say(f"report: {', '.join(str(path) for path in written)}")
        if as_json:
            from ..media.audio_io import excerpt_record
            from .summary import print_json

            print_json(
                result,
                inputs={
                    "style": style_file,
                    **(
                        {"style_excerpt": excerpt_record(*styled_part)}
                        if kind == "audio"
                        else {}
                    ),
                },
                measures=evaluation.measures,
                seconds=time.perf_counter() - started,
            )


def _audio(
    style: Path,
    excerpt: tuple[float, float | None],
    duration: str | None,
    output: Path | None,
    overwrite: bool,
    config: Any,
    quiet: bool,
) -> tuple[Any, str]:

    from ..audio import synthesize_audio
    from ..audio.inputs import StyleSource
    from ..media.audio_io import check_input_file

    if duration is not None:
        seconds = parse_duration(duration)
    else:
        check_input_file(style, "an audio file")
        header = StyleSource(style, None, *excerpt).extent()
        # Without a length in the header, the loader reports the real problem
        # next (an excerpt past the end: the reader says so).
        seconds = (
            10.0 if not header or not header[0] else min(header[0], DEFAULT_TEXTURE_S)
        )
        if header is not None and header[0] > DEFAULT_TEXTURE_S and not quiet:
            say(
                f"audiost: {style}: a texture of {DEFAULT_TEXTURE_S:g} s from {header[0]:.0f} s of style; --duration for another length"
            )
    output = in_folder_if_one(output, Path(f"{style.stem}_texture.wav"))
    with (
        analysis_progress(quiet) as on_style,
        audio_progress(config, "synthesising", quiet) as on_step,
    ):
        result = synthesize_audio(
            style,
            seconds,
            output,
            style_start=excerpt[0],
            style_duration=excerpt[1],
            config=config,
            overwrite=overwrite,
            on_step=on_step,
            on_style=on_style,
        )
    channels, samples = result.audio.shape
    return result, f"{samples / result.sr:.1f} s, {result.sr} Hz, {channels} ch"


def _image(
    style: Path,
    size: str | None,
    output: Path | None,
    overwrite: bool,
    config: Any,
    quiet: bool,
) -> tuple[Any, str]:
    from ..image import synthesize_image
    from ..media.image_io import load_image

    dimensions = parse_size(size) if size is not None else load_image(style).size
    output = in_folder_if_one(output, Path(f"{style.stem}_texture.png"))
    with image_progress(config, dimensions, "synthesising", quiet) as on_step:
        result = synthesize_image(
            style,
            dimensions,
            output,
            config=config,
            overwrite=overwrite,
            on_step=on_step,
        )
    height, width = result.image.shape[:2]
    return result, f"{width}x{height} px"
