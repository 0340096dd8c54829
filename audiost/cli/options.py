"""The options the commands share: the settings' options with their help sections, and parsers for durations, sizes, times and lists."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..config import (
    AUDIO_PRESETS,
    BIT_DEPTHS,
    DEVICE_CHOICES,
    LOUDNESS_CHOICES,
    MAX_SEED,
    STYLE_LOSS_NAMES,
    TEXTURE_SETTINGS,
    WAVE_VARIABLES,
    AudioConfig,
    ImageConfig,
    setting_names,
)
from ..errors import AudiostError
from ..limits import (
    MAX_CHANNELS,
    MAX_DURATION_S,
    MAX_MEGAPIXELS,
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    parse_bytes,
)

_AUDIO_FIELDS = setting_names(AudioConfig)
_IMAGE_FIELDS = setting_names(ImageConfig)


def _named(
    *declarations: str, **attributes: Any
) -> tuple[str, tuple[tuple[str, ...], dict[str, Any]]]:
    """A click option's declarations and attributes under the keyword it arrives as: ``--gl-iters`` -> ``gl_iters``."""
    name = declarations[0].split("/")[0].lstrip("-").replace("-", "_")
    return name, (declarations, attributes)


def _audio_weight(
    option: str, text: str
) -> tuple[str, tuple[tuple[str, ...], dict[str, Any]]]:
    """An audio term's weight: a number from 0 up, its help ``Audio: text`` with :class:`AudioConfig`'s default."""
    name, spec = _named(option, type=click.FloatRange(min=0))
    default = getattr(AudioConfig, name)
    spec[1]["help"] = f"Audio: {text}  [default: {default:g}]"
    return name, spec


# Matched against the stripped text: leading and trailing ``\s*`` around the
# optional parts made a long run of spaces backtrack for minutes.
_DURATION = re.compile(
    r"(?:(?P<h>\d+(?:\.\d+)?)\s*h)?\s*"
    r"(?:(?P<m>\d+(?:\.\d+)?)\s*m)?\s*(?:(?P<s>\d+(?:\.\d+)?)\s*s?)?"
)


def parse_duration(text: str) -> float:
    """``"30s"``, ``"30"``, ``"1.5m"``, ``"2m30s"`` or ``"1h30m"`` -> seconds."""
    match = _DURATION.fullmatch(text.strip())
    if not match or not (match["h"] or match["m"] or match["s"]):
        raise AudiostError(
            f"cannot read duration {text!r}; write e.g. 30s, 1.5m, 2m30s or 1h"
        )
    seconds = (
        float(match["h"] or 0) * 3600
        + float(match["m"] or 0) * 60
        + float(match["s"] or 0)
    )
    if seconds <= 0:
        raise AudiostError(f"duration must be positive, got {text!r}")
    if not math.isfinite(seconds):  # hundreds of digits overflow to infinity
        raise AudiostError(f"duration {text!r} is too long")
    return seconds


def parse_size(text: str) -> tuple[int, int]:
    """``"640x480"`` -> ``(640, 480)``."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
    if not match:
        raise AudiostError(
            f"cannot read size {text!r}; write WIDTHxHEIGHT, e.g. 640x480"
        )
    return int(match[1]), int(match[2])


_CLOCK = re.compile(r"(?:(?P<h>\d+):)?(?P<m>\d+):(?P<s>\d+(?:\.\d*)?)")


def parse_time(text: str) -> float:
    """A position in a recording: ``"0"``, ``"90"``, ``"1:30"``, ``"1:02:03.5"`` (as a DAW shows it) or ``"1m30s"`` -> seconds."""
    clock = _CLOCK.fullmatch(text.strip())
    if clock:
        return (
            float(clock["h"] or 0) * 3600 + float(clock["m"]) * 60 + float(clock["s"])
        )
    try:
        seconds = float(text)
    except ValueError:
        return parse_duration(text)
    if not (math.isfinite(seconds) and seconds >= 0):
        raise AudiostError(f"time must be 0 or later, got {text!r}")
    return seconds


def _parsed_by(parse: Callable[[str], float]) -> Callable[..., float | None]:
    """A click callback that reads an option with ``parse``; its error becomes a usage error."""

    def callback(
        ctx: click.Context, param: click.Parameter, value: str | None
    ) -> float | None:
        try:
            return None if value is None else parse(value)
        except AudiostError as exc:
            raise click.BadParameter(str(exc)) from None

    return callback


#: Click callbacks for a duration (``30s``, ``1.5m``) and a position (``1:30``, ``90``).
seconds_option = _parsed_by(parse_duration)
time_option = _parsed_by(parse_time)

#: Options that ``transfer`` and ``texture``, the one-output commands, share.
overwrite_option = click.option(
    "--overwrite", is_flag=True, help="Replace the output file if it exists."
)
preset_option = click.option(
    "--preset",
    type=click.Choice(list(AUDIO_PRESETS)),
    default="balanced",
    show_default=True,
    help="Speed/quality trade-off.",
)
quiet_option = click.option(
    "-q", "--quiet", is_flag=True, help="No progress bar or summary."
)
recipe_option = click.option(
    "--recipe",
    type=click.Path(path_type=Path),
    help="Settings to start from instead of the preset: an output audiost wrote (its record, see `audiost info`) or a recipe .toml; options given here override them.",
)


def style_excerpt_options(
    start_help: str = "Audio: imitate the style (every style, with several) from this time on: a song's chorus, a minute of a long field recording; e.g. 1:20 (the file is read from there, not decoded whole).  [default: 0]",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--style-start`` and ``--style-duration``: the part of an audio style imitated (or measured against)."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        duration = click.option(
            "--style-duration",
            callback=seconds_option,
            help="Audio: ... and only this much of it, e.g. 30s.  [default: to the end]",
        )
        start = click.option("--style-start", callback=time_option, help=start_help)
        return start(duration(command))

    return decorate


def audio_excerpt(
    start: float | None, duration: float | None, kind: str, options: str
) -> tuple[float, float | None]:
    """The ``(start, duration)`` that excerpt ``options`` gave (the content's or a style's); refused for pictures."""
    if kind == "image" and (start is not None or duration is not None):
        raise AudiostError(
            f"{options} select an excerpt of audio; crop a picture first"
        )
    return start or 0.0, duration


def style_part(
    start: float | None, duration: float | None, kind: str, recipe: Path | None
) -> tuple[float, float | None]:
    """The part of an audio style imitated: ``--style-start`` and ``--style-duration``, else a batch recipe's; refused for pictures.

    A batch's ``recipe.toml`` keeps the part its audio pairs imitated, so
    ``--recipe`` re-runs one of its pairs as the batch did.
    """
    chosen = audio_excerpt(start, duration, kind, "--style-start and --style-duration")
    if kind != "audio" or recipe is None or recipe.suffix.lower() != ".toml":
        return chosen
    from ..batch.recipe import load_recipe, resolve_recipe
    from ..media.audio_io import check_input_file

    check_input_file(recipe, "a recipe or an audiost output")
    saved = resolve_recipe(load_recipe(recipe), source=recipe)
    return (
        saved.style_start if start is None else chosen[0],
        saved.style_duration if duration is None else chosen[1],
    )


def report_option(pictures: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--report DIR``: ``pictures`` (what they show), loss curves and a JSON record with the measures."""
    return click.option(
        "--report",
        type=click.Path(path_type=Path, file_okay=False),
        help=f"Also write pictures ({pictures}, loss curves) and a JSON record with the evaluate measures here.",
    )


def _memory(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> str | None:
    try:
        return None if value is None else str(parse_bytes(value))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def parse_floats(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[float, ...] | None:
    """Click callback for ``0.7,0.3``: a tuple of finite numbers, or a usage error."""
    if value is None:
        return None
    try:
        numbers = tuple(float(v) for v in value.split(","))
    except ValueError:
        numbers = ()
    if not all(math.isfinite(n) for n in numbers) or not numbers:
        raise click.BadParameter(
            "expected comma-separated finite numbers, e.g. 0.7,0.3"
        )
    return numbers


_SETTINGS = dict(
    [
        _named(
            "--iters",
            type=click.IntRange(min=0),
            help="Optimiser iterations; images: of the first, coarsest pass (overrides the preset).",
        ),
        _named(
            "--content-weight",
            type=click.FloatRange(min=0),
            help=f"How strongly the content is kept.  [default: {AudioConfig.content_weight:g}]",
        ),
        _named(
            "--style-weight",
            type=click.FloatRange(min=0),
            help="How strongly the style is imposed: 0 gives the content back, higher values move it steadily toward the style's texture."
            f"  [default: audio {AudioConfig.style_weight:g}, images {ImageConfig.style_weight:g}]",
        ),
        _named(
            "--strength",
            type=click.FloatRange(0, 1),
            help="Both weights at once: 0 = the content, 0.25 keeps a voice's words clear, 0.5 = the defaults, 1 = the style's texture only (instead of --content-weight and --style-weight).",
        ),
        _named(
            "--style-loss",
            type=click.Choice(STYLE_LOSS_NAMES),
            help="Style statistic to match: gram (channel correlations) or meanstd (each channel's mean and spread)."
            f"  [default: {AudioConfig.style_loss}]",
        ),
        _named(
            "--optimizer",
            type=click.Choice(["lbfgs", "adam"]),
            help=f"Optimiser.  [default: {AudioConfig.optimizer}]",
        ),
        _named(
            "--init",
            type=click.Choice(["content", "palette", "noise", "style"]),
            help="Start from the content, noise or (images) the photo in the painting's colours ('palette') or the painting itself ('style')."
            f"  [default: audio {AudioConfig.init}, images {ImageConfig.init}]",
        ),
        _named(
            "--net",
            type=click.Choice(["spectral-conv", "vgg19", "vgg16"]),
            help="Feature network. Audio: spectral-conv (default) or a VGG on the spectrogram; images: vgg19 (default) or vgg16.",
        ),
        _named(
            "--weights",
            type=click.Path(path_type=Path),
            help="Local VGG state dict (also $AUDIOST_WEIGHTS); default: ImageNet weights, downloaded once.",
        ),
        _named(
            "--device",
            help=f"One of {', '.join(DEVICE_CHOICES)} (or cuda:N).  [default: {AudioConfig.device}]",
        ),
        _named(
            "--seed",
            type=click.IntRange(0, MAX_SEED),
            help="Seed for everything random (networks, noise, the palette start's axes); same seed, same device, same output."
            f"  [default: {AudioConfig.seed}]",
        ),
        _audio_weight(
            "--content-level-weight",
            "also hold the output to the content's level in every frequency and moment, relative to --content-weight; it keeps a low --strength near the content.",
        ),
        _audio_weight(
            "--band-envelope-weight",
            "also make each third octave's level rise and fall with the content's (it keeps words intelligible), relative to --content-weight; 0 leaves it out.",
        ),
        _audio_weight(
            "--pitch-weight",
            "also keep the content's notes: each moment's pitch classes (C, C#, ... B) follow the content's, in whatever octave and voice the style gives them; relative to --content-weight; 0 leaves it out.",
        ),
        _audio_weight(
            "--temporal-envelope-weight",
            "also hold the output to the content's loudness over time, relative to --content-weight.",
        ),
        _audio_weight(
            "--spectral-envelope-weight",
            "impose the style's average spectrum, relative to --style-weight.",
        ),
        _audio_weight(
            "--level-distribution-weight",
            "impose how the style's level is spread over time in each band (its dynamics, how dark its quiet moments are), relative to --style-weight.",
        ),
        _audio_weight(
            "--modulation-weight",
            "also impose how the style pulses and trembles within a quarter second (frogs' croaks, a tremolo, a drum roll), relative to --style-weight; 0.3 to 1 brings them, at some cost to the content's onsets and words.",
        ),
        _named(
            "--phase-init",
            type=click.Choice(["content", "random", "pghi"]),
            help=f"Audio: Griffin-Lim start phase.  [default: {AudioConfig.phase_init}]",
        ),
        _named(
            "--gl-iters",
            type=click.IntRange(min=0),
            help="Audio: Griffin-Lim iterations (overrides the preset).",
        ),
        _named(
            "--wave-iters",
            type=click.IntRange(min=0),
            help="Audio: iterations on the output's samples after Griffin-Lim, against the same objective, so the audio written is what was optimised; 0 writes Griffin-Lim's result (overrides the preset).",
        ),
        _named(
            "--wave-variable",
            type=click.Choice(WAVE_VARIABLES),
            help="Audio: what those iterations move: the samples, or the log-magnitudes of the output's STFT at its phase, which brings more of a tonal style where a noisy content's spectrogram cannot be made whole, and lifts quiet bins toward a noise-like style."
            f"  [default: {AudioConfig.wave_variable}]",
        ),
        _named(
            "--loudness",
            type=click.Choice(LOUDNESS_CHOICES),
            help="Audio: match the content's loudness as BS.1770 LUFS (with a -1 dBTP true-peak ceiling) or RMS, or leave the level as reconstructed."
            f"  [default: {AudioConfig.loudness}]",
        ),
        _named(
            "--mix",
            type=click.FloatRange(0, 1),
            help="Audio: dry/wet, 0 = the content, 1 = the styled result; in between, a blend at the content's loudness."
            f"  [default: {AudioConfig.mix:g}]",
        ),
        _named(
            "--bit-depth",
            type=click.Choice(BIT_DEPTHS),
            help="Audio: output samples, 16- or 24-bit integers or 32-bit float (WAV, AIFF; FLAC 16 or 24). The format follows the output's extension: .wav, .flac, .aiff, .ogg, .mp3."
            f"  [default: {AudioConfig.bit_depth}]",
        ),
        _named(
            "--mono",
            is_flag=True,
            default=None,
            help="Audio: downmix the content to mono first (otherwise each channel is styled).",
        ),
        _named(
            "--stereo",
            is_flag=True,
            default=None,
            help="Audio: a mono content's result (or a stereo one whose channels are the same) in stereo, as wide as a stereo style in each band, the width following the content (otherwise: the content's channels).",
        ),
        _named(
            "--sample-rate",
            type=click.IntRange(MIN_SAMPLE_RATE, MAX_SAMPLE_RATE),
            help="Audio: resample the content to this rate (default: keep it).",
        ),
        _named(
            "--section-seconds",
            type=click.FloatRange(min=6),
            help="Audio: style longer contents in overlapping sections of this length (memory stays that of one section)."
            f"  [default: {AudioConfig.section_seconds:g}]",
        ),
        _named(
            "--max-duration",
            callback=seconds_option,
            help=f"Audio: refuse inputs longer than this, e.g. 90m or 2h.  [default: {MAX_DURATION_S / 3600:g}h]",
        ),
        _named(
            "--max-channels",
            type=click.IntRange(min=1),
            help=f"Audio: refuse inputs with more channels.  [default: {MAX_CHANNELS}]",
        ),
        _named(
            "--max-megapixels",
            type=click.FloatRange(min=0, min_open=True),
            help=f"Images: refuse larger inputs (decoding them takes memory).  [default: {MAX_MEGAPIXELS:g}]",
        ),
        _named(
            "--max-memory",
            callback=_memory,
            help="Refuse to start a run estimated to need more memory than this, e.g. 4G.  [default: what the device has free]",
        ),
        _named(
            "--max-size",
            type=click.IntRange(min=16),
            help=f"Images: long side of the output in pixels.  [default: {ImageConfig.max_size}]",
        ),
        _named(
            "--tile-size",
            type=click.IntRange(min=0),
            help="Images: run the network over larger pictures in tiles of at most this many pixels (same result in the memory of one tile, about 1.6 times the time); 0 tiles only what would not fit."
            f"  [default: {ImageConfig.tile_size}]",
        ),
        _named(
            "--refine-iters",
            type=click.IntRange(min=0),
            help="Images: iterations of each coarse-to-fine refinement after the first pass (--iters)."
            f"  [default: {ImageConfig.refine_iters}]",
        ),
        _named(
            "--start-size",
            type=click.IntRange(min=0),
            help=f"Images: paint a larger picture coarse to fine, from this long side up in steps of x{ImageConfig.scale_step:g} (strokes then scale with the picture); 0 = one pass at full size."
            f"  [default: {ImageConfig.start_size}]",
        ),
        _named(
            "--style-weights",
            callback=parse_floats,
            help="With several styles: their shares of the blend, e.g. 0.7,0.3.  [default: equal]",
        ),
        _named(
            "--morph",
            is_flag=True,
            default=None,
            help="Audio, several styles: move from the first style to the last over the content's duration, instead of blending them.",
        ),
        _named(
            "--seamless",
            is_flag=True,
            default=None,
            help="Without a seam: an audio texture's end runs into its start, so it loops; a picture's right edge into its left and bottom into its top, so it tiles.",
        ),
        _named(
            "--style-scale",
            type=click.FloatRange(0.1, 4),
            help="Images: style size relative to the content (bigger strokes above 1)."
            f"  [default: {ImageConfig.style_scale:g}]",
        ),
        _named(
            "--tv-weight",
            type=click.FloatRange(min=0),
            help=f"Images: total-variation smoothing.  [default: {ImageConfig.tv_weight:g}]",
        ),
        _named(
            "--edge-weight",
            type=click.FloatRange(min=0),
            help="Images: keep the photo's outlines (its blurred luminance edges): 1 keeps a subject that a flat style would wash out, for some of the style's texture."
            "  [default: auto, 1 for a style with almost no outlines of its own, else 0]",
        ),
        _named(
            "--pooling",
            type=click.Choice(["max", "avg"]),
            help=f"Images: VGG pooling.  [default: {ImageConfig.pooling}]",
        ),
        _named(
            "--preserve-color",
            type=click.Choice(["none", "luminance", "histogram"]),
            is_flag=False,
            flag_value="luminance",
            help="Images: keep the photo's colours: alone or 'luminance', style the brightness only; 'histogram', recolour the painting to the photo's palette first.  [default: none, the painting's palette]",
        ),
        _named(
            "--content-layers",
            help="Images: content layers, optionally weighted: conv4_2 or conv3_1:1,conv4_2:2.",
        ),
        _named(
            "--style-layers",
            help="Images: style layers, optionally weighted: conv1_1,conv2_1:0.5,...",
        ),
    ]
)


#: Sections of a command's --help, in order, and the options in each (by
#: parameter name); anything unlisted goes under "Options".
HELP_SECTIONS: dict[str, tuple[str, ...]] = {
    "Output": ("output", "outdir", "overwrite", "template", "quiet", "as_json", "report", "save_every", "dry_run", "seamless", "loudness", "mix", "bit_depth"),
    "Inputs": ("styles", "pairs", "start", "duration", "style_start", "style_duration", "size", "style_weights", "morph"),
    "Quality": ("preset", "recipe", "iters", "content_weight", "style_weight", "strength", "style_loss", "optimizer", "init", "net", "weights"),
    "Audio": ("content_level_weight", "band_envelope_weight", "pitch_weight", "temporal_envelope_weight", "spectral_envelope_weight", "level_distribution_weight", "modulation_weight", "phase_init", "gl_iters", "wave_iters", "wave_variable", "mono", "stereo", "sample_rate", "section_seconds"),
    "Images": ("max_size", "tile_size", "refine_iters", "start_size", "style_scale", "tv_weight", "edge_weight", "pooling", "preserve_color", "content_layers", "style_layers"),
    "Limits": ("max_duration", "max_channels", "max_megapixels", "max_memory"),
    "Device": ("device", "seed", "jobs", "executor", "ray_address"),
}  # fmt: skip
_SECTION_OF = {name: title for title, names in HELP_SECTIONS.items() for name in names}


class SectionedCommand(click.Command):
    """A command whose --help lists its options in sections (Output, Inputs, Quality, Audio, Images, Limits, Device)."""

    def format_options(
        self, ctx: click.Context, formatter: click.HelpFormatter
    ) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                title = _SECTION_OF.get(param.name or "", "Options")
                sections.setdefault(title, []).append(record)
        for title in (*HELP_SECTIONS, "Options"):
            if title in sections:
                with formatter.section(title):
                    formatter.write_dl(sections[title])


def setting_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add every transfer setting as an option; each arrives as a keyword, None when not given."""
    return some_settings(*(name for name in _SETTINGS if name not in TEXTURE_SETTINGS))(
        command
    )


#: Settings that combine several styles in one output: not for a batch,
#: which styles each input with one style at a time.
MULTI_STYLE_SETTINGS = ("style_weights", "morph")


def pair_setting_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """:func:`setting_options` without :data:`MULTI_STYLE_SETTINGS`."""
    return some_settings(
        *(
            name
            for name in _SETTINGS
            if name not in (*MULTI_STYLE_SETTINGS, *TEXTURE_SETTINGS)
        )
    )(command)


def some_settings(
    *names: str, helps: dict[str, str] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add the named transfer settings (``"iters"``, ``"gl_iters"``, ...) as options, in the usual order.

    ``helps`` rewords an option's help for a command (a texture has no content).
    """

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for name in reversed([n for n in _SETTINGS if n in names]):
            declarations, attributes = _SETTINGS[name]
            if helps and name in helps:
                attributes = {**attributes, "help": helps[name]}
            command = click.option(*declarations, **attributes)(command)
        return command

    return decorate


def given(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings the user actually gave, as configuration values."""
    chosen = {k: v for k, v in settings.items() if v is not None}
    if "weights" in chosen:
        chosen["weights"] = str(chosen["weights"])
    if "strength" in chosen:  # kept: each kind sets its weights from it (config.py)
        both = {"content_weight", "style_weight"} & chosen.keys()
        if both:
            names = " and ".join("--" + n.replace("_", "-") for n in sorted(both))
            raise AudiostError(f"give --strength or {names}, not both")
    return chosen


def reject_foreign_options(kind: str, settings: dict[str, Any]) -> None:
    """Refuse options of the other medium (``--max-size`` on audio, ``--gl-iters`` on images)."""
    fields = _AUDIO_FIELDS if kind == "audio" else _IMAGE_FIELDS
    foreign = [name for name in settings if name not in fields]
    if foreign:
        names = ", ".join("--" + name.replace("_", "-") for name in foreign)
        verb, them = ("does", "it") if len(foreign) == 1 else ("do", "them")
        raise AudiostError(
            f"{names} {verb} not apply to {kind} inputs; leave {them} out"
        )
