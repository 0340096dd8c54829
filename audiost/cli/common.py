"""What every command shares: failure reporting, exit codes, messages and the settings a run is configured with (its options are in :mod:`.options`)."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import time
import unicodedata
import warnings
from collections.abc import Callable, Iterator
from functools import wraps
from pathlib import Path
from typing import Any

import click

from ..config import (
    TEXTURE_SETTINGS,
    TRANSFER_SETTINGS,
    AudioConfig,
    ImageConfig,
    setting_names,
)
from ..errors import AudiostError
from ..limits import OOM_ADVICE

#: A batch, or an evaluate of several outputs, where some failed and the rest were done.
EXIT_SOME_FAILED = 1
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def report_failures(command: Callable[..., Any]) -> Callable[..., Any]:
    """Map user-facing failures to one stderr line and an exit code, never a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # A polite kill (SIGTERM) stops the same clean way as Ctrl-C.
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            with warnings.catch_warnings(), _plans_shown(not kwargs.get("quiet")):
                warnings.showwarning = _show_warning
                return command(*args, **kwargs)
        except AudiostError as exc:
            fail(str(exc), EXIT_USER_ERROR)
        except (MemoryError, _out_of_memory_errors()) as exc:
            fail(f"out of memory ({type(exc).__name__}); {OOM_ADVICE}", EXIT_USER_ERROR)
        except KeyboardInterrupt:
            fail("interrupted; no output was written", EXIT_INTERRUPTED)

    return wrapper


@contextlib.contextmanager
def _plans_shown(shown: bool) -> Iterator[None]:
    """Print the library's ``audiost`` log lines (a run's size and memory plan, said before it starts) unless quiet."""
    logger = logging.getLogger("audiost")
    handler, level = _SayHandler(), logger.level
    if shown:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


class _SayHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        say(f"audiost: {record.getMessage()}")


def fail(message: str, code: int) -> None:
    say(f"audiost: error: {message}")
    sys.exit(code)


def say(text: str) -> None:
    """Print one line to stderr, whatever the file names in it contain.

    Stand-in files (what came from stdin, what goes to stdout) are called
    by the names the user knows them by (:data:`ALIASES`).
    """
    for path, name in ALIASES.items():
        text = text.replace(path, name)
    click.echo(printable(text), err=True)


def say_done(result: Any, summary: str, started: float, quiet: bool) -> None:
    """A finished run's warnings, and unless ``quiet`` what was written, how big, how long, where."""
    for note in result.warnings:
        say(f"audiost: warning: {note}")
    if not quiet:
        say(
            f"wrote {result.output} ({summary}) in {time.perf_counter() - started:.1f} s on {result.device}"
        )


#: Temporary paths that stand for a stream, and what messages call them.
ALIASES: dict[str, str] = {}


def printable(text: str) -> str:
    """``text`` with control characters and line separators escaped (``\\r``, ``\\x1b``).

    A file may be called ``"a\\rb.wav"``; echoed raw, its name would split a
    message in two or move the cursor, and a log would lose the one-line rule.
    """
    return "".join(
        repr(char)[1:-1] if unicodedata.category(char) in _UNPRINTABLE else char
        for char in text
    )


# Controls (Cc: C0, DEL, C1 such as NEL) and the two Unicode line breaks.
_UNPRINTABLE = {"Cc", "Zl", "Zp"}


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _out_of_memory_errors() -> type[BaseException]:
    import torch

    return torch.OutOfMemoryError


def _show_warning(
    message: Warning | str, category: type[Warning], *_: Any, **__: Any
) -> None:
    say(f"audiost: warning: {message}")


def make_config(make: Callable[..., Any], preset: str, settings: dict[str, Any]) -> Any:
    """``make(preset, **settings)``, its refusals worded for the command line.

    A setting's checks name the field (``tile_size must be ...``); the user
    typed the option, so the message names ``--tile-size``.
    """
    try:
        return make(preset, **settings)
    except (TypeError, ValueError) as exc:
        field, space, rest = str(exc).partition(" ")
        if space and field in setting_names(AudioConfig) | setting_names(ImageConfig):
            raise AudiostError(f"--{field.replace('_', '-')} {rest}") from exc
        raise AudiostError(str(exc)) from exc


def configure(
    kind: str,
    preset: str,
    settings: dict[str, Any],
    recipe: Path | None,
    command: str = "transfer",
) -> Any:
    """The run's configuration: the preset with the options, or a recipe's settings (a TOML recipe, or an audiost output's record) with the options over them.

    ``command`` (``transfer`` or ``texture``) is the run's: an output's
    record passes a transfer every setting but a texture's ``seamless``,
    and a texture every setting but a transfer's ``modulation_weight``.
    """
    from ..config import audio_preset, image_preset

    make = audio_preset if kind == "audio" else image_preset
    if recipe is None:
        return make_config(make, preset, settings)
    from ..batch.recipe import load_recipe, resolve_recipe
    from ..media.audio_io import check_input_file
    from ..provenance import read_record

    # The other command's own settings (the rest serve both).
    theirs = TRANSFER_SETTINGS if command == "texture" else TEXTURE_SETTINGS

    check_input_file(recipe, "a recipe or an audiost output")
    if recipe.suffix.lower() == ".toml":
        data = load_recipe(recipe)
    else:
        record = read_record(recipe)
        if record is None:
            raise AudiostError(
                "holds no audiost settings; give an output audiost wrote, or a recipe .toml",
                recipe,
            )
        if record.get("kind") != kind:
            made_by = record.get("command", "output")
            raise AudiostError(
                f"holds the settings of an {record.get('kind')} {made_by}, which do not apply to "
                f"{'images' if kind == 'image' else 'audio'}; give an output or recipe of the same kind",
                recipe,
            )
        data = {kind: record.get("settings", {})}
        for name in theirs:  # an output's record holds its command's own
            data[kind].pop(name, None)
    resolved = resolve_recipe(data, settings=settings, source=recipe)
    config = resolved.audio if kind == "audio" else resolved.image
    if recipe.suffix.lower() != ".toml":
        _say_settings_it_lacks(recipe, data[kind], config, settings)
    # Only a recipe can set another command's settings: this one has no option for them.
    named = [name for name in theirs if getattr(config, name, None)]
    if named:
        other = "transfers" if command == "texture" else "textures"
        raise AudiostError(
            f"sets {', '.join(named)}, which is for {other}; remove it from the recipe",
            recipe,
        )
    return config


def _say_settings_it_lacks(
    output: Path,
    recorded: dict[str, Any],
    config: Any,
    settings: dict[str, Any],
) -> None:
    """Warn that an output made before some of today's settings existed is not re-made as it was: those take today's defaults.

    An output's record holds every setting of the audiost that made it; one
    it lacks (a term added since, on by default) would make another result
    without a word. One that is off today (0 or false: ``--stereo``, a term
    off by default; or as :data:`~audiost.config.AS_BEFORE` says) does what
    the audiost before it did, and is not said.
    ``settings`` are the options given (:func:`~.options.given`).
    """
    from ..batch.recipe import missing_settings
    from ..config import AS_BEFORE, settings_table

    # Only this command's options: a texture has no content, so a content
    # term added since (--pitch-weight) changes nothing it makes.
    ours = {param.name for param in click.get_current_context().command.params}
    lacking = [
        name
        for name in missing_settings(recorded, settings_table(config))
        if name in ours
        and name not in settings
        and getattr(config, name) != AS_BEFORE.get(name, 0)
    ]
    if lacking:
        options = ", ".join(f"--{name.replace('_', '-')}" for name in lacking)
        defaults = "its default is" if len(lacking) == 1 else "their defaults are"
        say(
            f"audiost: warning: {output} was made by an audiost without {options}; "
            f"{defaults} used, so the result may differ from it"
        )
