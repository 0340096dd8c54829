"""``audiost info FILE``: what a file is, and, for an audiost output, the version and settings that made it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .common import printable, report_failures


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--json", "as_json", is_flag=True, help="Print everything as one JSON object."
)
@report_failures
def info(file: Path, as_json: bool) -> None:
    """Describe FILE; for an audiost output, the version and settings that made it.

    Re-run those settings with `audiost transfer CONTENT STYLE --recipe FILE`
    (a texture: `audiost texture STYLE --recipe FILE`).
    """
    from ..media.kind import media_kind
    from ..provenance import read_record

    kind = media_kind(file)
    facts = _audio_facts(file) if kind == "audio" else _image_facts(file)
    record = read_record(file)
    if as_json:
        click.echo(
            json.dumps({"file": str(file), "kind": kind, **facts, "record": record})
        )
        return
    click.echo(printable(f"{file} ({kind})"))
    for name, value in facts.items():
        click.echo(f"  {name:<20} {value}")
    if record is None:
        click.echo(
            "  no audiost record: not written by audiost, or written before it kept one"
        )
        return
    # Outputs from before the command was recorded (0.1.0) do not say it.
    command = f" {record['command']}" if "command" in record else ""
    click.echo(f"  {'made by':<20} audiost {record.get('audiost')}{command}")
    for name, value in record.items():
        if name not in ("audiost", "kind", "command", "settings"):
            click.echo(f"  {name:<20} {value}")
    click.echo("  settings:")
    for name, value in sorted(record.get("settings", {}).items()):
        click.echo(printable(f"    {name} = {json.dumps(value)}"))


def _audio_facts(file: Path) -> dict[str, Any]:
    import soundfile as sf

    from ..media.audio_io import check_input_file, load_audio, native_stderr_silenced

    check_input_file(file, "an audio file")
    try:
        with native_stderr_silenced():
            facts = sf.info(file)
    except (sf.LibsndfileError, RuntimeError):
        # A header libsndfile cannot read is decoded as styling it would be:
        # what the fallback decoder reads is described, anything else refused
        # with the same reason (libsndfile's own said a web page named .mp3
        # did not exist).
        audio, sr = load_audio(file)
        return {
            "format": "decoded (no header libsndfile reads)",
            "duration (s)": round(audio.shape[1] / sr, 3),
            "sample rate (Hz)": sr,
            "channels": audio.shape[0],
        }
    return {
        "format": f"{facts.format} {facts.subtype}",
        "duration (s)": round(facts.frames / facts.samplerate, 3),
        "sample rate (Hz)": facts.samplerate,
        "channels": facts.channels,
    }


def _image_facts(file: Path) -> dict[str, Any]:
    from ..media.image_io import image_size, load_image

    size = image_size(file)
    if size is None:  # refused for the reason styling it would give
        size = load_image(file).size
    return {"size (px)": f"{size[0]}x{size[1]}"}
