"""``audiost transfer CONTENT STYLE [STYLE ...]``: one pair, with a progress bar.

A thin layer over the Python API: it decides audio or image from the files,
parses options, shows progress and reports failures as one line (see
:mod:`audiost.cli.common`).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import click

from ..errors import AudiostError
from ..media.kind import media_kind
from ..outputs import default_output_path, in_folder_if_one
from ..progress import analysis_progress, audio_progress, image_progress
from .common import configure, report_failures, say, say_done
from .options import (
    SectionedCommand,
    audio_excerpt,
    given,
    overwrite_option,
    preset_option,
    quiet_option,
    recipe_option,
    reject_foreign_options,
    report_option,
    seconds_option,
    setting_options,
    style_excerpt_options,
    style_part,
    time_option,
)
from .streams import STREAM, one_writer_of_stdout, stdin_inputs, stdout_output


@click.command(cls=SectionedCommand)
@click.argument("content", type=click.Path(path_type=Path, allow_dash=True))
@click.argument(
    "styles",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path, allow_dash=True),
    metavar="STYLE [STYLE ...]",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, allow_dash=True),
    help="Output file: .wav, .flac, .aiff, .ogg or .mp3 for audio, .png or .jpg for images; a folder for the default name there; - writes WAV or PNG to stdout. Default: <content>_x_<style> here.",
)
@overwrite_option
@preset_option
@quiet_option
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="When done, print one JSON object on stdout: output, inputs, settings, timings and the evaluate measures (against the first style). Messages stay on stderr.",
)
@report_option("spectrograms or a contact sheet of content, style and output")
@click.option(
    "--start",
    callback=time_option,
    help="Audio: style the content from this time on, e.g. 1:30, 90 or 1m30s (the file is read from there, not decoded whole).  [default: 0]",
)
@click.option(
    "--duration",
    callback=seconds_option,
    help="Audio: style only this much of the content, e.g. 10s, to audition a long take.  [default: to the end]",
)
@style_excerpt_options()
@click.option(
    "--save-every",
    type=click.IntRange(min=1),
    metavar="N",
    help="Audio: also write the result every N iterations beside the output (out.iter0050.wav), to judge a long run early.",
)
@recipe_option
@setting_options
@report_failures
def transfer(
    content: Path,
    styles: tuple[Path, ...],
    output: Path | None,
    overwrite: bool,
    preset: str,
    quiet: bool,
    as_json: bool,
    report: Path | None,
    start: float | None,
    duration: float | None,
    style_start: float | None,
    style_duration: float | None,
    save_every: int | None,
    recipe: Path | None,
    **settings: Any,
) -> None:
    """Recompose CONTENT in the style of STYLE.

    Audio (WAV, FLAC, OGG, MP3) or images (PNG, JPEG, WebP, BMP, TIFF),
    decided from the files themselves; both must be the same kind. Several
    styles blend (--style-weights), or, for audio, follow one another over
    the content's duration (--morph). - reads CONTENT or one STYLE from
    stdin.
    """
    started = time.perf_counter()
    one_writer_of_stdout(as_json, output)
    with contextlib.ExitStack() as streams:
        # From here on, "-" is a temporary file holding what stdin gave.
        content_file, *style_files = streams.enter_context(
            stdin_inputs([content, *styles])
        )
        kind = _common_kind(content_file, style_files)
        settings = given(settings)
        reject_foreign_options(kind, settings)
        excerpt = audio_excerpt(start, duration, kind, "--start and --duration")
        styled_part = style_part(style_start, style_duration, kind, recipe)
        if kind == "image" and save_every:
            raise AudiostError(
                "--save-every writes intermediate audio; for a picture, try fewer --iters first"
            )
        if save_every and output == STREAM:
            raise AudiostError(
                "--save-every writes beside the output file; give -o FILE, not -o -"
            )
        if report is not None:
            from ..report import require_matplotlib

            require_matplotlib()  # before the work, not after it
        from ..device import prepare_process  # imports torch: not for --help

        # One thread per core this process may use (a container's quota included).
        prepare_process()
        config = configure(kind, preset, settings, recipe)
        destination = streams.enter_context(
            stdout_output(output, ".wav" if kind == "audio" else ".png")
        )
        if kind == "audio":
            result, summary = _transfer_audio(
                content_file, style_files, destination, overwrite, config, quiet,
                excerpt=excerpt, style_excerpt=styled_part, save_every=save_every or 0,
            )  # fmt: skip
        else:
            result, summary = _transfer_image(
                content_file, style_files, destination, overwrite, config, quiet
            )
        say_done(result, summary, started, quiet)
        # With several styles, the measures are against the first.
        evaluation = None
        if report is not None or as_json:
            from ..evaluate import evaluate_result

            evaluation = evaluate_result(
                content_file,
                style_files[0],
                result,
                start=excerpt[0],
                duration=excerpt[1],
                style_start=styled_part[0],
                style_duration=styled_part[1],
            )
        if report is not None:
            from ..report import write_report

            written = write_report(
                report,
                content_file,
                style_files[0],
                result,
                excerpt=excerpt,
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
                    "content": content_file,
                    "styles": style_files,
                    **(
                        {
                            "excerpt": excerpt_record(*excerpt),
                            "style_excerpt": excerpt_record(*styled_part),
                        }
                        if kind == "audio"
                        else {}
                    ),
                },
                measures=evaluation.measures,
                seconds=time.perf_counter() - started,
            )


def _common_kind(content: Path, styles: list[Path]) -> str:
    kind = media_kind(content)
    for style in styles:
        if media_kind(style) != kind:
            raise AudiostError(
                f"is {media_kind(style)} but the content {content} is {kind}; give both as audio or both as images",
                style,
            )
    return kind


def _transfer_audio(
    content: Path,
    styles: list[Path],
    output: Path | None,
    overwrite: bool,
    config: Any,
    quiet: bool,
    *,
    excerpt: tuple[float, float | None],
    style_excerpt: tuple[float, float | None],
    save_every: int,
) -> tuple[Any, str]:
    from ..audio import transfer_audio  # deferred: --help should not wait for torch

    output = in_folder_if_one(output, default_output_path(content, styles, ".wav"))
    with (
        analysis_progress(quiet) as on_style,
        audio_progress(config, "styling", quiet) as on_step,
    ):
        result = transfer_audio(
            content,
            styles,
            output,
            config=config,
            start=excerpt[0],
            duration=excerpt[1],
            style_start=style_excerpt[0],
            style_duration=style_excerpt[1],
            overwrite=overwrite,
            save_every=save_every,
            on_step=on_step,
            on_style=on_style,
        )
    channels, samples = result.audio.shape
    return result, f"{samples / result.sr:.1f} s, {result.sr} Hz, {channels} ch"


def _transfer_image(
    content: Path,
    styles: list[Path],
    output: Path | None,
    overwrite: bool,
    config: Any,
    quiet: bool,
) -> tuple[Any, str]:
    from ..image import transfer_image
    from ..image.inputs import default_image_output
    from ..media.image import fit_size
    from ..media.image_io import image_size

    output = in_folder_if_one(output, default_image_output(content, styles))
    size = image_size(content) or (config.max_size, config.max_size)
    with image_progress(
        config, fit_size(size, config.max_size), "styling", quiet
    ) as on_step:
        result = transfer_image(
            content,
            list(styles),
            output,
            config=config,
            overwrite=overwrite,
            on_step=on_step,
        )
    height, width = result.image.shape[:2]
    return result, f"{width}x{height} px"
