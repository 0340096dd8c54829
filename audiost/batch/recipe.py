"""Recipes: a batch's settings as a TOML file, read as data and saved with the results.

A recipe looks like::

    preset = "fast"                      # optional; default balanced
    template = "{content}_x_{style}.{ext}"
    style_weight = 20                    # top level: applies to audio and images
    [audio]
    gl_iters = 16                        # audio only
    [image]
    max_size = 256                       # images only

and, at the top (before any table), the part of each audio style imitated,
in seconds::

    style_start = 80                     # from 1:20 on
    style_duration = 30                  # and 30 s of it

Command-line options override the recipe, which overrides the preset. The
recipe a batch actually used (every setting spelled out) is saved as
``OUTDIR/recipe.toml``, so ``--recipe OUTDIR/recipe.toml`` re-runs it exactly.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from ..config import (
    AudioConfig,
    ImageConfig,
    audio_preset,
    image_preset,
    setting_names,
    settings_table,
)
from ..errors import AudiostError
from ..outputs import atomic_output
from .plan import DEFAULT_TEMPLATE

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

RECIPE_NAME = "recipe.toml"
_AUDIO_FIELDS = setting_names(AudioConfig)
_IMAGE_FIELDS = setting_names(ImageConfig)
_STYLE_PART = ("style_start", "style_duration")
_BATCH_KEYS = {"preset", "template", *_STYLE_PART}


@dataclass(frozen=True)
class Recipe:
    """The resolved settings of a batch."""

    audio: AudioConfig
    image: ImageConfig
    template: str = DEFAULT_TEMPLATE
    #: The part of every audio style imitated: from ``style_start`` s on,
    #: ``style_duration`` s of it (None: to the end).
    style_start: float = 0.0
    style_duration: float | None = None

    @property
    def has_style_part(self) -> bool:
        """Whether audio styles are imitated in part, not whole."""
        return bool(self.style_start) or self.style_duration is not None

    def to_toml(self) -> dict[str, Any]:
        """Every setting, as TOML data (``None`` fields are left out: TOML has no null).

        The style part is written only where one is chosen, so a recipe
        of whole styles reads as before.
        """
        part = {"style_start": self.style_start} if self.style_start else {}
        if self.style_duration is not None:
            part["style_duration"] = self.style_duration
        return {
            "template": self.template,
            **part,
            "audio": settings_table(self.audio),
            "image": settings_table(self.image),
        }


def load_recipe(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a recipe file as TOML data; it is never executed.

    Raises
    ------
    AudiostError
        If it cannot be read or is not valid TOML.
    """
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise AudiostError(
            f"cannot read the recipe: {exc.strerror or exc}", path
        ) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AudiostError(f"not a valid TOML recipe: {exc}", path) from exc


def resolve_recipe(
    recipe: Mapping[str, Any] | None = None,
    *,
    preset: str | None = None,
    template: str | None = None,
    style_start: float | None = None,
    style_duration: float | None = None,
    settings: Mapping[str, Any] | None = None,
    source: str | os.PathLike | None = None,
) -> Recipe:
    """Layer preset, recipe and command-line settings into one :class:`Recipe`.

    ``settings`` are command-line values (None = not given); each applies to
    the media whose configuration has that field. ``style_start`` and
    ``style_duration`` (seconds), where given, choose the part of each audio
    style over the recipe's. ``source`` names the recipe file in error
    messages.
    """
    recipe = dict(recipe or {})
    settings = {k: v for k, v in (settings or {}).items() if v is not None}
    audio_table, image_table = recipe.pop("audio", {}), recipe.pop("image", {})
    if not isinstance(audio_table, dict) or not isinstance(image_table, dict):
        raise AudiostError("[audio] and [image] must be tables", source)
    unknown = set(recipe) - _AUDIO_FIELDS - _IMAGE_FIELDS - _BATCH_KEYS
    unknown |= {f"audio.{k}" for k in set(audio_table) - _AUDIO_FIELDS}
    unknown |= {f"image.{k}" for k in set(image_table) - _IMAGE_FIELDS}
    if unknown:
        raise AudiostError(
            f"unknown recipe setting(s): {', '.join(sorted(unknown))}", source
        )
    preset = preset or recipe.pop("preset", None) or "balanced"
    template = template or recipe.pop("template", None) or DEFAULT_TEMPLATE
    if not isinstance(preset, str) or not isinstance(template, str):
        raise AudiostError("preset and template must be strings", source)
    start, duration = _style_part(
        recipe.pop("style_start", 0.0) if style_start is None else style_start,
        recipe.pop("style_duration", None)
        if style_duration is None
        else style_duration,
        source,
    )
    try:
        for values in (recipe, audio_table, image_table):
            _check_types(values)
        audio = (
            audio_preset(preset)
            .replace(**_for(recipe, _AUDIO_FIELDS))
            .replace(**audio_table)
            .replace(**_for(settings, _AUDIO_FIELDS))
        )
        image = (
            image_preset(preset)
            .replace(**_for(recipe, _IMAGE_FIELDS))
            .replace(**image_table)
            .replace(**_for(settings, _IMAGE_FIELDS))
        )
    except (TypeError, ValueError) as exc:
        raise AudiostError(f"invalid setting: {exc}", source) from exc
    return Recipe(
        audio=_tuples(audio),
        image=_tuples(image),
        template=template,
        style_start=start,
        style_duration=duration,
    )


def _style_part(
    start: Any, duration: Any, source: str | os.PathLike | None
) -> tuple[float, float | None]:
    """A recipe's style part, checked: seconds from 0 on, and a duration above 0 (or none)."""

    def seconds(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    if not (seconds(start) and math.isfinite(start) and start >= 0):
        raise AudiostError(
            f"style_start must be a number of seconds, 0 or more; got {start!r}", source
        )
    if duration is not None and not (
        seconds(duration) and math.isfinite(duration) and duration > 0
    ):
        raise AudiostError(
            f"style_duration must be a number of seconds above 0; got {duration!r}",
            source,
        )
    return float(start), None if duration is None else float(duration)


def save_recipe(recipe: Recipe, outdir: Path, *, overwrite: bool) -> Path:
    """Write ``OUTDIR/recipe.toml``, refusing to mix results of different settings in one folder.

    Raises
    ------
    AudiostError
        If OUTDIR already holds a recipe with other settings and ``overwrite``
        is false: resuming would then skip outputs made differently.
    """
    path = outdir / RECIPE_NAME
    wanted = recipe.to_toml()
    if path.exists() and not overwrite:
        saved = load_recipe(path)
        added = missing_settings(saved, wanted)
        if added:
            # Its recipe cannot say how those outputs were made in a setting it
            # lacks, so --recipe would not reproduce them either.
            names = ", ".join(added[:4])
            raise AudiostError(
                f"holds results made by an earlier audiost, before the setting(s) {names}; "
                "--overwrite to redo them with this one, or choose another -o",
                path,
            )
        changes = _differences(saved, wanted)
        if changes:
            raise AudiostError(
                f"holds results made with other settings ({'; '.join(changes[:4])}); "
                f"re-run with --recipe {path} to finish that batch, --overwrite to redo it, or choose another -o",
                path,
            )
        return path
    with atomic_output(path) as tmp:
        tmp.write_text(
            "# Settings this batch used; re-run it with: audiost batch ... --recipe recipe.toml\n"
            + tomli_w.dumps(wanted)
        )
    return path


def _tuples(config: Any) -> Any:
    """Lists from TOML become tuples, as the dataclasses expect (and hashing needs)."""
    lists = {
        f.name: tuple(getattr(config, f.name))
        for f in dataclasses.fields(config)
        if isinstance(getattr(config, f.name), list)
    }
    return config.replace(**lists) if lists else config


def _check_types(values: Mapping[str, Any]) -> None:
    """TOML is typed; catch ``iters = "ten"`` or ``iters = 1.5`` here rather than deep in a worker."""
    for key, value in values.items():
        expected = _FIELD_TYPES.get(key)
        if expected is None:
            continue
        ok = isinstance(value, expected) and not (
            isinstance(value, bool) and bool not in expected
        )
        if not ok:
            names = " or ".join("array" if t is list else t.__name__ for t in expected)
            raise ValueError(f"{key} must be {names}, got {value!r}")


def _field_types() -> dict[str, tuple[type, ...]]:
    """What TOML type each setting takes, from the configurations' defaults."""
    types: dict[str, tuple[type, ...]] = {
        "lr": (int, float),
        "weights": (str,),
        "max_memory": (str, int),
        "sample_rate": (int,),
    }
    for config in (AudioConfig(), ImageConfig()):
        for field in dataclasses.fields(config):
            default = getattr(config, field.name)
            if default is None or field.name in types:
                continue
            if isinstance(default, bool):
                types[field.name] = (bool,)
            elif isinstance(default, float):
                types[field.name] = (int, float)
            elif isinstance(default, int):
                types[field.name] = (int,)
            elif isinstance(default, tuple):
                # Layer lists may also be written "conv1_1:1,conv2_1:0.5".
                types[field.name] = (
                    (list, str) if field.name.endswith("_layers") else (list,)
                )
            else:
                types[field.name] = (str,)
    return types


_FIELD_TYPES = _field_types()


def _for(values: Mapping[str, Any], fields: set[str]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k in fields}


def _flat(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A recipe's nested tables as one mapping of dotted names (``audio.iters``) to values."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat |= _flat(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def missing_settings(saved: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    """The settings in ``wanted`` that ``saved`` (a recipe or an output's record from an earlier audiost) does not have, in ``wanted``'s order."""
    old = _flat(saved)
    # A style part is written only where one is chosen: its absence is the
    # whole style, a difference _differences names, not an older audiost.
    return [
        name for name in _flat(wanted) if name not in old and name not in _STYLE_PART
    ]


def _differences(saved: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    # A recipe without a style part imitated whole styles: from 0 s on.
    old = {"style_start": 0.0} | _flat(saved)
    new = {"style_start": 0.0} | _flat(wanted)
    return [
        f"{name}: {old.get(name)!r} -> {new.get(name)!r}"
        for name in sorted(old.keys() | new.keys())
        if old.get(name) != new.get(name)
    ]
