"""Planning a batch: which files, which pairs, and where each result goes.

Everything here happens before any styling, so a typo in a path or a
template is reported at once instead of after an hour of work. Output paths
are decided once, deterministically, from the inputs alone: a re-run plans
the same paths, which is what makes resume work.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import os
import string
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import AudiostError
from ..media.audio_io import AUDIO_OUTPUT_FORMATS
from ..media.image_io import OUTPUT_FORMATS
from ..media.kind import detect_kind, media_kind

DEFAULT_TEMPLATE = "{content}_x_{style}.{ext}"
TEMPLATE_FIELDS = ("content", "style", "ext", "kind")
#: The output format ``{ext}`` stands for.
DEFAULT_EXTENSIONS = {"audio": "wav", "image": "png"}
_OUTPUT_SUFFIXES = {"audio": set(AUDIO_OUTPUT_FORMATS), "image": set(OUTPUT_FORMATS)}


@dataclass(frozen=True)
class Source:
    """An input file and where it sits in its input's tree (mirrored under OUTDIR)."""

    path: Path
    relative: Path
    kind: str | None


@dataclass(frozen=True)
class Pair:
    """One unit of work: style ``content`` after ``style`` into ``output``."""

    content: Path
    style: Path
    kind: str
    output: Path


@dataclass(frozen=True)
class Unplanned:
    """An input that yields no work, and why; it still gets a manifest line."""

    content: Path
    style: Path | None
    status: str  # "skipped" (not for this batch) or "failed" (a problem to fix)
    error: str


@dataclass
class Plan:
    pairs: list[Pair]
    unplanned: list[Unplanned]


def find_sources(inputs: Iterable[str | os.PathLike], outdir: Path) -> list[Source]:
    """Expand files, directories (recursively) and glob patterns into input files.

    Directories are walked in sorted order without following symlinked
    folders; hidden files and anything inside ``outdir`` are left out, so
    a batch whose OUTDIR is inside its input folder never styles its own
    results. In directories, files that are neither audio nor images by
    content or name are kept with ``kind=None`` (reported, not styled).

    Raises
    ------
    AudiostError
        For a path that does not exist or a pattern that matches nothing.
    """
    out_real = Path(os.path.realpath(outdir))
    sources: list[Source] = []
    for entry in inputs:
        text = os.fspath(entry)
        path = Path(text)
        if path.is_dir():
            sources += [
                _source(file, file.relative_to(path)) for file in _walk(path, out_real)
            ]
        elif path.is_file():
            sources.append(_source(path, Path(path.name), explicit=True))
        elif glob.has_magic(text):
            root = _glob_root(text)
            matches = sorted(
                Path(m) for m in glob.glob(text, recursive=True) if Path(m).is_file()
            )
            matches = [m for m in matches if not _inside(m, out_real)]
            if not matches:
                raise AudiostError("pattern matches no files", text)
            sources += [_source(m, _relative(m, root), explicit=True) for m in matches]
        else:
            raise AudiostError("no such file or directory", text)
    return _unique(sources)


def plan_pairs(
    sources: Sequence[Source],
    styles: Sequence[str | os.PathLike],
    outdir: Path,
    template: str = DEFAULT_TEMPLATE,
) -> Plan:
    """Every source with every style of its kind."""
    style_kinds = [(Path(style), _style_kind(Path(style))) for style in styles]
    pairs: list[tuple[Source, Path]] = []
    unplanned: list[Unplanned] = []
    for source in sources:
        if source.kind is None:
            unplanned.append(
                Unplanned(
                    source.path,
                    None,
                    "skipped",
                    "neither audio nor an image; not styled",
                )
            )
            continue
        matching = [style for style, kind in style_kinds if kind == source.kind]
        if not matching:
            unplanned.append(
                Unplanned(
                    source.path,
                    None,
                    "skipped",
                    f"no {source.kind} style given; not styled",
                )
            )
        pairs += [(source, style) for style in matching]
    return _place(pairs, unplanned, outdir, template)


def plan_from_csv(
    table: str | os.PathLike, outdir: Path, template: str = DEFAULT_TEMPLATE
) -> Plan:
    """The pairs listed in a CSV file with columns ``content,style`` (a header row is optional).

    Relative paths are relative to the CSV file's folder, so a pair list
    travels with the material it names.
    """
    table = Path(table)
    try:
        with open(table, newline="", encoding="utf-8-sig") as handle:
            rows = [
                row for row in csv.reader(handle) if any(cell.strip() for cell in row)
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise AudiostError(f"cannot read the pairs file: {exc}", table) from exc
    if rows and [cell.strip().lower() for cell in rows[0][:2]] == ["content", "style"]:
        rows = rows[1:]
    base = table.parent
    pairs: list[tuple[Source, Path]] = []
    unplanned: list[Unplanned] = []
    for number, row in enumerate(rows, start=1):
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise AudiostError(
                f"row {number} needs two columns, content and style: {','.join(row)!r}",
                table,
            )
        content, style = (base / row[0].strip()), (base / row[1].strip())
        missing = [p for p in (content, style) if not p.is_file()]
        if missing:
            unplanned.append(
                Unplanned(content, style, "failed", f"{missing[0]}: no such file")
            )
            continue
        kind, style_kind = media_kind(content), _style_kind(style)
        if kind != style_kind:
            unplanned.append(
                Unplanned(
                    content,
                    style,
                    "failed",
                    f"content is {kind} but style is {style_kind}; pair like with like",
                )
            )
            continue
        relative = (
            _relative(content, base)
            if _inside(content, Path(os.path.realpath(base)))
            else Path(content.name)
        )
        pairs.append((Source(content, relative, kind), style))
    return _place(pairs, unplanned, outdir, template)


def report_folder(
    report: str | os.PathLike, outdir: str | os.PathLike, output: str | os.PathLike
) -> str:
    """The absolute folder of ``output``'s report under ``report``: its folder in ``outdir``, mirrored.

    Raises ValueError for an output outside ``outdir``.
    """
    mirrored = Path(os.path.abspath(output)).relative_to(os.path.abspath(outdir))
    return os.path.abspath(Path(report) / mirrored.parent)


def check_template(template: str) -> None:
    """Reject unknown fields and paths that could leave OUTDIR, before anything runs."""
    try:
        fields = {
            name
            for _, name, _, _ in string.Formatter().parse(template)
            if name is not None
        }
    except ValueError as exc:
        raise AudiostError(f"bad output template {template!r}: {exc}") from None
    unknown = fields - set(TEMPLATE_FIELDS)
    if unknown:
        known = ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS)
        raise AudiostError(
            f"output template {template!r} has unknown field(s) {', '.join(sorted(unknown))}; use {known}"
        )
    if "content" not in fields:
        raise AudiostError(
            f"output template {template!r} must contain {{content}}, or every content would write the same file"
        )
    relative = Path(template)
    if relative.is_absolute() or ".." in relative.parts:
        raise AudiostError(
            f"output template {template!r} must stay inside OUTDIR (no absolute path, no '..')"
        )


def _place(
    pairs: list[tuple[Source, Path]],
    unplanned: list[Unplanned],
    outdir: Path,
    template: str,
) -> Plan:
    """Give each pair its output path: template, mirrored folder, and a stable suffix where two would collide."""
    check_template(template)
    outdir_real = Path(os.path.realpath(outdir))
    named: list[tuple[Source, Path, Path]] = []
    for source, style in pairs:
        kind = source.kind or "audio"
        name = template.format(
            content=source.path.stem,
            style=style.stem,
            ext=DEFAULT_EXTENSIONS[kind],
            kind=kind,
        )
        suffix = Path(name).suffix.lower()
        if suffix not in _OUTPUT_SUFFIXES[kind]:
            allowed = ", ".join(sorted(_OUTPUT_SUFFIXES[kind]))
            raise AudiostError(
                f"output template {template!r} gives {name!r} for {kind}; its extension must be one of {allowed}"
            )
        named.append((source, style, outdir / source.relative.parent / name))
    groups: dict[str, list[int]] = defaultdict(list)
    for index, (_, _, output) in enumerate(named):
        # Case-folded: on macOS and Windows "A.wav" and "a.wav" are one file.
        groups[os.path.normpath(output).casefold()].append(index)
    planned: list[Pair] = []
    for source, style, output in named:
        if len(groups[os.path.normpath(output).casefold()]) > 1:
            output = output.with_name(
                f"{output.stem}-{_digest(source.path, style)}{output.suffix}"
            )
        problem = _output_problem(output, outdir_real, (source.path, style))
        if problem:
            unplanned.append(Unplanned(source.path, style, "failed", problem))
        else:
            planned.append(Pair(source.path, style, source.kind or "audio", output))
    return Plan(planned, unplanned)


def _output_problem(
    output: Path, outdir_real: Path, inputs: tuple[Path, Path]
) -> str | None:
    """Why ``output`` must not be written, or None: it would leave OUTDIR (through a symlink) or replace an input."""
    if not _inside(output, outdir_real):
        return f"{output}: output would be outside OUTDIR (a symlinked folder?); not written"
    for source in inputs:
        same = output.exists() and source.exists() and os.path.samefile(output, source)
        if same or os.path.realpath(output) == os.path.realpath(source):
            return f"{output}: output would replace an input; choose another OUTDIR or --template"
    return None


def _digest(content: Path, style: Path) -> str:
    """Eight hex digits from the pair's real paths: stable across runs, whatever else is in the batch."""
    key = f"{os.path.realpath(content)}\0{os.path.realpath(style)}"
    return hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest()[:8]


def _style_kind(style: Path) -> str:
    if not style.is_file():
        raise AudiostError("style: no such file", style)
    return media_kind(style)


def _source(path: Path, relative: Path, *, explicit: bool = False) -> Source:
    # A file named on the command line is an input whatever its name; the
    # extension fallback then decides which decoder reports it if broken.
    return Source(path, relative, media_kind(path) if explicit else detect_kind(path))


def _walk(root: Path, out_real: Path) -> list[Path]:
    files: list[Path] = []
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and not _inside(here / d, out_real)
        )
        files += [
            here / name
            for name in sorted(names)
            if not name.startswith(".") and (here / name).is_file()
        ]
    return files


def _glob_root(pattern: str) -> Path:
    """The folder a pattern's matches are mirrored from: its part before the first wildcard."""
    parts = Path(pattern).parts
    fixed = parts[: next(i for i, part in enumerate(parts) if glob.has_magic(part))]
    return Path(*fixed) if fixed else Path(".")


def _relative(path: Path, root: Path) -> Path:
    try:
        return Path(os.path.relpath(path, root))
    except ValueError:  # another drive (Windows)
        return Path(path.name)


def _inside(path: Path, folder_real: Path) -> bool:
    real = Path(os.path.realpath(path))
    return real == folder_real or folder_real in real.parents


def _unique(sources: list[Source]) -> list[Source]:
    """Drop repeats (a file named twice, or by two overlapping patterns), keeping the first."""
    seen: set[str] = set()
    unique = []
    for source in sources:
        key = os.path.realpath(source.path)
        if key not in seen:
            seen.add(key)
            unique.append(source)
    return unique
