"""Reports of one transfer or texture: pictures to look at and a JSON record to compare runs.

``write_report`` makes, in a report folder, for an output ``X.wav`` or ``X.png``
(a transfer's, or a texture's, which has no content):

- ``X.spectrograms.png`` (audio): content, style and output log-mel
  spectrograms side by side on one colour scale, so levels compare at a glance;
  ``X.contact.png`` (images): content, style and output side by side;
- ``X.losses.png``: the total loss and every term per iteration (log scale);
- ``X.json``: configuration, timings, losses and the :mod:`audiost.evaluate`
  measures.

``write_comparison`` draws several outputs of one pair side by side with
their content and style (``audiost evaluate ... --picture``).

matplotlib draws the pictures; it is the optional extra ``audiost[report]``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .caching import BoundedCache, file_key
from .errors import AudiostError
from .evaluate import (
    DESCRIPTIONS,
    Evaluation,
    Source,
    evaluate_result,
    evaluate_texture_result,
)
from .limits import MAX_CHANNELS, MAX_DURATION_S, MAX_MEGAPIXELS, reading_limits
from .outputs import atomic_output

_DPI = 110


class ReportFiles(NamedTuple):
    """The files of one output's report: its picture, its loss curves and its JSON record."""

    picture: Path
    losses: Path
    record: Path


def report_files(
    folder: str | os.PathLike, output: str | os.PathLike, kind: str
) -> ReportFiles:
    """Where :func:`write_report` puts the report of ``output`` (``kind`` ``"audio"`` or ``"image"``) in ``folder``.

    The one place the names are made, so a batch's overview finds what its
    workers wrote.
    """
    stem = Path(folder) / Path(output).stem
    picture = "spectrograms" if kind == "audio" else "contact"
    return ReportFiles(
        Path(f"{stem}.{picture}.png"), Path(f"{stem}.losses.png"), Path(f"{stem}.json")
    )


def write_report(
    report_dir: str | os.PathLike,
    content: Source | None,
    style: Source,
    result: Any,
    *,
    excerpt: tuple[float, float | None] = (0.0, None),
    style_excerpt: tuple[float, float | None] = (0.0, None),
    evaluation: Evaluation | None = None,
) -> ReportFiles:
    """Evaluate ``result`` (an AudioResult or ImageResult with ``output`` set) and write its report files.

    ``content`` is None for a texture: the pictures then show the style
    and the texture, and the measures are :func:`evaluate_texture`'s.
    ``excerpt`` (audio): the ``(start, duration)`` of the content the
    output was made from; measures and pictures use that part only.
    ``style_excerpt``: the same for the style, the part it imitated.
    ``evaluation``: the result's measures, when the caller has them already.
    Returns the files written (:func:`report_files`). Raises AudiostError
    if matplotlib is missing or the folder cannot be written.
    """
    pyplot = _pyplot()
    if result.output is None:
        raise AudiostError("a report needs the transfer's output file")
    folder = Path(report_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AudiostError(
            f"cannot create the report folder: {exc.strerror or exc}", folder
        ) from None
    audio = hasattr(result, "sr")
    files = report_files(folder, result.output, "audio" if audio else "image")
    if evaluation is None:
        of_style = {"style_start": style_excerpt[0], "style_duration": style_excerpt[1]}
        evaluation = (
            evaluate_texture_result(style, result, **of_style)
            if content is None
            else evaluate_result(
                content,
                style,
                result,
                start=excerpt[0],
                duration=excerpt[1],
                **of_style,
            )
        )
    panels = [
        ("style", style),
        ("texture" if content is None else "output", result.output),
    ]
    if content is not None:
        panels.insert(0, ("content", content))
    if audio:
        limits = reading_limits(result.config.max_duration, result.config.max_channels)
        picture = _spectrograms(
            pyplot, panels, {"content": excerpt, "style": style_excerpt}, limits
        )
    else:
        max_pixels = int(result.config.max_megapixels * 1e6)
        picture = _contact_sheet(pyplot, panels, max_pixels)
    _save(pyplot, picture, files.picture)
    _save(pyplot, _loss_curves(pyplot, result), files.losses)
    _write_json(
        files.record, content, style, result, evaluation, excerpt, style_excerpt
    )
    return files


def write_comparison(
    path: str | os.PathLike,
    content: Source,
    style: Source,
    outputs: Sequence[tuple[Source, Evaluation]],
    *,
    excerpt: tuple[float, float | None] = (0.0, None),
    style_excerpt: tuple[float, float | None] = (0.0, None),
    max_duration: float = MAX_DURATION_S,
    max_channels: int = MAX_CHANNELS,
    max_megapixels: float = MAX_MEGAPIXELS,
) -> Path:
    """Draw ``content``, ``style`` and each of one pair's ``outputs`` side by side into the PNG ``path``.

    Runs of one pair at other settings (strengths, presets) are told apart
    by ear and by eye more than by numbers: audio outputs are log-mel
    spectrograms on one colour scale (``excerpt`` and ``style_excerpt``
    as in :func:`write_report`), pictures are shown as they are. Each
    output's title is its number, its style gain, content kept and (audio)
    pitch kept and a stereo output's width (from its
    :class:`~audiost.evaluate.Evaluation`) and its name.
    """
    if not outputs:
        raise ValueError("write_comparison needs at least one output")
    pyplot = _pyplot()
    titled = [
        (f"[{number}] {_measures_title(evaluation)}", output)
        for number, (output, evaluation) in enumerate(outputs, 1)
    ]
    panels = [("content", content), ("style", style), *titled]
    if outputs[0][1].kind == "audio":
        limits = reading_limits(max_duration, max_channels)
        excerpts = {"content": excerpt, "style": style_excerpt}
        picture = _spectrograms(pyplot, panels, excerpts, limits)
    else:
        picture = _contact_sheet(pyplot, panels, int(max_megapixels * 1e6))
    return _save(pyplot, picture, Path(path))


def _measures_title(evaluation: Evaluation) -> str:
    measures = evaluation.measures
    title = f"style gain {measures['style_gain']:.2f}, content kept {measures['content_kept']:.2f}"
    if measures.get("pitch_kept") is not None:  # audio
        title += f", pitch kept {measures['pitch_kept']:.2f}"
    # The spectrogram is the mono mix: a stereo output's width only here.
    if measures.get("stereo_width_db_output") is not None:
        title += f", width {measures['stereo_width_db_output']:.0f} dB"
    return title


def require_matplotlib() -> None:
    """Fail now, before a long run, if the report could not be drawn."""
    _pyplot()


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed, none touched
        from matplotlib import pyplot
    except ImportError:
        raise AudiostError(
            "--report needs matplotlib: pip install 'audiost[report]'"
        ) from None
    return pyplot


def _spectrograms(
    pyplot: Any,
    inputs: list[tuple[str, Source]],
    excerpts: dict[str, tuple[float, float | None]],
    limits: dict[str, Any],
) -> Any:
    """Log-mel spectrograms of ``(title, file)`` pairs (``content``, ``style``, then outputs), at the last output's rate; ``excerpts`` by title: ``(start, duration)`` of what was used.

    The files are read within the run's ``limits`` (``load_audio``'s).
    """
    from .media.audio_io import excerpt_name, load_audio
    from .media.mel import mel_frequencies

    output = inputs[-1][1]
    out, sr = load_audio(output, **limits)
    panels = []
    for title, path in inputs:
        start, duration = excerpts.get(title, (0.0, None))
        if path is output:
            db, seconds = _mel_panel(out, sr, sr)
        elif title == "content":
            db, seconds = _mel_panel(
                *load_audio(path, start=start, duration=duration, **limits), sr
            )
        elif title == "style":  # the same for every output of a batch
            db, seconds = _STYLE_PANELS.get(
                file_key(path, sr, start, duration, *sorted(limits.items())),
                lambda path=path, start=start, duration=duration: _mel_panel(
                    *load_audio(path, start=start, duration=duration, **limits), sr
                ),
            )
        else:  # another output of the pair, compared (write_comparison)
            db, seconds = _mel_panel(*load_audio(path, **limits), sr)
        panels.append(
            (excerpt_name(_panel_title(title, path), start, duration), db, seconds)
        )
    # One colour scale for all: the loudest bin of any, 80 dB of range.
    top = max(float(db.max()) for _, db, _ in panels)
    figure, axes = pyplot.subplots(
        1,
        len(panels),
        figsize=(5 * len(panels), 4),
        sharey=True,
        constrained_layout=True,
    )
    for axis, (title, db, seconds) in zip(axes, panels, strict=True):
        image = axis.imshow(
            db,
            origin="lower",
            aspect="auto",
            cmap="magma",
            vmin=top - 80,
            vmax=top,
            extent=(0, seconds, 0, db.shape[0]),
        )
        axis.set_title(title, fontsize=9)
        axis.set_xlabel("time (s)")
    ticks = np.linspace(0, 127, 6)
    hertz = mel_frequencies(128, sr / 2)
    axes[0].set_yticks(ticks, [f"{hertz[int(t)]:.0f}" for t in ticks])
    axes[0].set_ylabel("frequency (Hz, mel scale)")
    figure.colorbar(image, ax=axes, label="dB", shrink=0.9)
    return figure


#: A spectrogram panel's most columns: a figure shows about 500, and an
#: hour of style has 310,000 frames (160 MB of them) at 44.1 kHz.
_PANEL_COLUMNS = 2048
#: Style panels, per file version and rate: a batch's reports draw the same
#: style beside every output (half an hour of it: 4 s to decode, 3 s to draw).
_STYLE_PANELS: BoundedCache[tuple[np.ndarray, float]] = BoundedCache(4)


def _mel_panel(wave: np.ndarray, rate: int, sr: int) -> tuple[np.ndarray, float]:
    """``wave``'s log-mel spectrogram (dB) at ``sr`` and its seconds; a long signal's frames are averaged in groups to at most :data:`_PANEL_COLUMNS`."""
    from .media.audio_io import resample
    from .media.mel import mel_power, power_to_db

    mono = resample(wave, rate, sr).mean(axis=0)
    mel = mel_power(mono, sr, n_mels=128, hop=512)
    group = -(-mel.shape[1] // _PANEL_COLUMNS)
    if group > 1:
        ragged = -mel.shape[1] % group
        mel = np.pad(mel, ((0, 0), (0, ragged)), mode="edge")
        mel = mel.reshape(mel.shape[0], -1, group).mean(axis=2)
    return power_to_db(mel), mono.size / sr


def _contact_sheet(
    pyplot: Any, inputs: list[tuple[str, Source]], max_pixels: int
) -> Any:
    """The ``(title, file)`` pictures side by side, read within the run's ``max_pixels``."""
    from .media.image_io import load_image

    pictures = [load_image(path, max_pixels=max_pixels).rgb for _, path in inputs]
    # As tall as the tallest picture at 5 in wide, plus its title: a fixed
    # square frame left wide pictures in a band of white.
    tallest = max(rgb.shape[0] / rgb.shape[1] for rgb in pictures)
    height = min(5 * tallest, 10) + 0.8
    figure, axes = pyplot.subplots(
        1, len(inputs), figsize=(5 * len(inputs), height), constrained_layout=True
    )
    for axis, (title, path), rgb in zip(axes, inputs, pictures, strict=True):
        axis.imshow(rgb)
        axis.set_title(_panel_title(title, path), fontsize=9)
        axis.axis("off")
    return figure


def _panel_title(title: str, path: Source, width: int = 52) -> str:
    """``title`` over the file's name in lines of at most ``width`` characters.

    Corpus-style names run to 90 characters; on one line they ran into the
    next panel's title. Lines break after ``_``, ``-``, ``.`` or a space
    where they can, mid-word only in a longer run.
    """
    lines = [""]
    for part in re.split(r"(?<=[_\-. ])", Path(path).name):
        if lines[-1] and len(lines[-1]) + len(part) > width:
            lines.append("")
        lines[-1] += part
        while len(lines[-1]) > width:
            lines[-1:] = [lines[-1][:width], lines[-1][width:]]
    return "\n".join([title, *lines])


def _loss_curves(pyplot: Any, result: Any) -> Any:
    figure, axis = pyplot.subplots(figsize=(8, 4.5), constrained_layout=True)
    steps = np.arange(1, len(result.losses) + 1)
    axis.plot(
        steps, result.losses, color="black", linewidth=2, label="total (weighted)"
    )
    names = sorted({name for parts in result.history for name in parts})
    for name in names:
        axis.plot(
            steps,
            [parts.get(name, np.nan) for parts in result.history],
            linewidth=1,
            label=name,
        )
    if len(steps):
        axis.set_yscale("log")
    # Audio: after the canvas stage, the loss of the audio Griffin-Lim
    # wrote (higher: the canvas was no signal's), then the waveform stage.
    canvas_iterations = getattr(result, "canvas_iterations", 0)
    if 0 < canvas_iterations < len(steps):
        axis.axvline(
            canvas_iterations + 0.5,
            color="grey",
            linestyle="--",
            linewidth=1,
            label="Griffin-Lim, then the waveform",
        )
    axis.set_xlabel("iteration")
    axis.set_ylabel("loss (each term relative to its target)")
    axis.legend(fontsize=7, ncol=2)
    axis.grid(alpha=0.3)
    return figure


def _save(pyplot: Any, figure: Any, path: Path) -> Path:
    try:
        with atomic_output(path) as tmp:
            figure.savefig(tmp, dpi=_DPI, format="png")
    finally:
        pyplot.close(figure)
    return path


def _write_json(
    path: Path,
    content: Source | None,
    style: Source,
    result: Any,
    evaluation: Evaluation,
    excerpt: tuple[float, float | None],
    style_excerpt: tuple[float, float | None],
) -> None:
    import torch

    from . import __version__
    from .media.audio_io import excerpt_record

    data = {
        # A texture has no content.
        "content": None if content is None else os.fspath(content),
        "content_excerpt": None if content is None else excerpt_record(*excerpt),
        "style": os.fspath(style),
        "style_excerpt": excerpt_record(*style_excerpt),
        "output": os.fspath(result.output),
        "kind": evaluation.kind,
        "config": dataclasses.asdict(result.config),
        "device": result.device,
        "timings": result.timings,
        "final_losses": result.final_losses,
        "losses": result.losses,
        # Audio: the first this many losses are the spectrogram's, the rest
        # the waveform stage's (of the audio written).
        **(
            {"canvas_iterations": result.canvas_iterations}
            if hasattr(result, "canvas_iterations")
            else {}
        ),
        "measures": evaluation.measures,
        "measures_meaning": {name: DESCRIPTIONS[name] for name in evaluation.measures},
        "warnings": result.warnings,
        "versions": {
            "audiost": __version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
    }
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
