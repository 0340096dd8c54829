"""A batch report's overview: every pair on one page (``index.html``) and in one table (``measures.csv``).

A batch of a hundred clips leaves a hundred reports, and which outputs
worked is a matter of comparing them. The page shows each pair's main
measures, its spectrogram (or contact sheet) and its output, to play or
view, in a table sorted by clicking a column; the CSV holds every measure
for a spreadsheet. Both are built from the manifest and the pairs' report
records, so pairs finished by earlier runs of the batch are in them too.
The page is plain HTML with relative links: the report folder can be
moved or served as it is.
"""

from __future__ import annotations

import csv
import html
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..errors import AudiostError
from ..media.audio_io import excerpt_name
from ..media.image_io import OUTPUT_FORMATS
from ..outputs import atomic_output, write_problem
from ..report import report_files
from .plan import report_folder

INDEX_NAME = "index.html"
MEASURES_NAME = "measures.csv"
#: The measures the page shows, in order (the CSV has every one): how far
#: each output went toward its style and what it kept of its content.
SHOWN_MEASURES = (
    "style_gain",
    "content_kept",
    "pitch_kept",
    "modulation_gain",
    "noise_floor_added_db",
    "palette_gain",
    "texture_gain",
    "structure_kept",
)


def write_overview(
    report: Path, outdir: Path, lines: Iterable[dict[str, Any]]
) -> list[Path]:
    """Write ``report/index.html`` and ``report/measures.csv`` of a batch into ``outdir``: one row per manifest line.

    ``lines`` are each pair's last manifest line (``Manifest(outdir).latest.values()``).
    Returns the paths written.

    Raises
    ------
    AudiostError
        If the report folder cannot be written.
    """
    rows = [_row(line, report, outdir) for line in lines]
    measured = _measure_names(rows)
    shown = [name for name in SHOWN_MEASURES if name in measured]
    try:
        report.mkdir(parents=True, exist_ok=True)
        with (
            atomic_output(report / MEASURES_NAME) as tmp,
            open(tmp, "w", newline="", encoding="utf-8") as handle,
        ):
            _write_csv(handle, rows, measured)
        with atomic_output(report / INDEX_NAME) as tmp:
            tmp.write_text(_page(rows, shown, report, outdir), encoding="utf-8")
    except OSError as exc:
        raise AudiostError(
            f"cannot write the batch overview: {write_problem(exc)}", report
        ) from exc
    return [report / INDEX_NAME, report / MEASURES_NAME]


def _row(line: dict[str, Any], report: Path, outdir: Path) -> dict[str, Any]:
    """A manifest line with its report's measures and picture, where the pair has a report."""
    row = {**line, "measures": {}, "picture": None}
    if line["status"] == "failed" or not line.get("output"):
        return row
    found = _report_record(line, report, outdir)
    if found is None:
        return row  # styled by a run without --report, or its report failed
    path, record = found
    row["measures"] = record.get("measures") or {}
    kind = record.get("kind", "audio")
    picture = report_files(path.parent, line["output"], kind).picture
    row["picture"] = picture if picture.is_file() else None
    return row


def _report_record(
    line: dict[str, Any], report: Path, outdir: Path
) -> tuple[Path, dict[str, Any]] | None:
    """The pair's report record and its path: where the line says its run wrote it, else where ``report`` would hold it.

    The second place finds reports of lines written before lines named
    their report, and of a report folder moved since.
    """
    places = [Path(line["report"])] if line.get("report") else []
    try:
        folder = report_folder(report, outdir, line["output"])
    except ValueError:
        pass  # an output outside OUTDIR, from a hand-edited manifest
    else:
        # The record's name is the same for either kind.
        places.append(report_files(folder, line["output"], "audio").record)
    for path in places:
        try:
            return path, json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    return None


def _measure_names(rows: Iterable[dict[str, Any]]) -> list[str]:
    """Every measure any row has, in the order they first appear."""
    names: dict[str, None] = {}
    for row in rows:
        names |= dict.fromkeys(row["measures"])
    return list(names)


def _write_csv(handle: Any, rows: list[dict[str, Any]], measures: list[str]) -> None:
    writer = csv.writer(handle)
    writer.writerow(
        ["content", "style", "output", "status", "seconds", *measures, "error"]
    )
    for row in rows:
        writer.writerow(
            [
                row["content"],
                row["style"] or "",
                row["output"] or "",
                row["status"],
                "" if row["seconds"] is None else row["seconds"],
                *(_number(row["measures"].get(name)) for name in measures),
                row["error"] or "",
            ]
        )


def _number(value: Any) -> str:
    return "" if value is None else f"{value:.6g}"


def _page(
    rows: list[dict[str, Any]], shown: list[str], report: Path, outdir: Path
) -> str:
    """The overview page: a summary line and one table row per pair."""
    counts = {
        status: sum(row["status"] == status for row in rows)
        for status in ("done", "failed", "skipped")
    }
    head = "".join(
        f"<th>{html.escape(name)}</th>"
        for name in (
            "content",
            "style",
            "status",
            "picture",
            "output",
            *shown,
            "seconds",
            "notes",
        )
    )
    names = _names(rows)
    body = "\n".join(_table_row(row, shown, report, names) for row in rows)
    title = f"audiost batch: {html.escape(os.fspath(outdir))}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 1em; }}
table {{ border-collapse: collapse; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: middle; }}
th {{ cursor: pointer; background: #f4f4f4; position: sticky; top: 0; }}
td.number {{ text-align: right; font-variant-numeric: tabular-nums; }}
td.notes {{ min-width: 30em; font-size: smaller; }}
tr.failed td {{ background: #fdecea; }}
img {{ max-width: 320px; max-height: 110px; }}
audio {{ width: 220px; }}
</style></head><body>
<h1>{title}</h1>
<p>{len(rows)} pair{"s" * (len(rows) != 1)}: {counts["done"]} done, {counts["failed"]} failed, {counts["skipped"]} skipped.
Click a column to sort by it. Each measure is explained in the pair's report record (<code>measures_meaning</code>);
every measure is in <a href="{MEASURES_NAME}">{MEASURES_NAME}</a>.</p>
<table><thead><tr>{head}</tr></thead>
<tbody>
{body}
</tbody></table>
<script>
// Click a column's head to sort by it (numbers largest first, names A to Z); again to reverse.
document.querySelectorAll("th").forEach((th, column) => th.addEventListener("click", () => {{
  const body = th.closest("table").tBodies[0];
  const numeric = body.rows.length > 0 && body.rows[0].cells[column].dataset.value !== undefined;
  const down = th.dataset.order ? th.dataset.order !== "down" : numeric;
  th.dataset.order = down ? "down" : "up";
  const key = row => {{
    const cell = row.cells[column];
    const value = cell.dataset.value ?? cell.textContent;
    return cell.dataset.value === undefined ? value : (value === "" ? -Infinity : Number(value));
  }};
  [...body.rows]
    .sort((a, b) => (key(a) < key(b) ? 1 : key(a) > key(b) ? -1 : 0) * (down ? 1 : -1))
    .forEach(row => body.append(row));
}}));
</script>
</body></html>
"""


def _names(rows: list[dict[str, Any]]) -> dict[str, str]:
    """What the page calls each input: its file name, or where two contents (or styles) share one, its path from the folder they all share (``sub/take1.wav``)."""
    names: dict[str, str] = {}
    for role in ("content", "style"):
        paths = {row[role] for row in rows if row[role]}
        if len({os.path.basename(path) for path in paths}) == len(paths):
            names |= {path: os.path.basename(path) for path in paths}
        elif paths:
            root = os.path.commonpath([os.path.dirname(path) for path in paths])
            names |= {path: os.path.relpath(path, root) for path in paths}
    return names


def _table_row(
    row: dict[str, Any], shown: list[str], report: Path, names: dict[str, str]
) -> str:
    cells = [
        _text(names[row["content"]], row["content"]),
        _text(_style_name(row, names), row["style"] or ""),
        _text(row["status"]),
        # A failed pair has no picture: its reason takes the picture's place.
        _text(row["error"])
        if row["status"] == "failed"
        else _picture(row["picture"], report),
        _output(row, report),
        *(_numeric(row["measures"].get(name)) for name in shown),
        _numeric(row["seconds"], "{:.1f}"),
        _text("; ".join(row.get("warnings") or []), css="notes"),
    ]
    return f'<tr class="{html.escape(row["status"])}">{"".join(cells)}</tr>'


def _style_name(row: dict[str, Any], names: dict[str, str]) -> str:
    """The style's name, with the part imitated where a part was (``song.wav from 80 s``)."""
    name = names.get(row["style"] or "", "")
    part = row.get("style_excerpt")
    return excerpt_name(name, part["start"], part["duration"]) if part else name


def _text(text: str, title: str | None = None, css: str | None = None) -> str:
    hover = f' title="{html.escape(title)}"' if title else ""
    kind = f' class="{css}"' if css else ""
    return f"<td{kind}{hover}>{html.escape(text)}</td>"


def _numeric(value: float | None, form: str = "{:.2f}") -> str:
    if value is None:
        return '<td class="number" data-value=""></td>'
    return f'<td class="number" data-value="{value!r}">{form.format(value)}</td>'


def _link(path: str | os.PathLike, report: Path) -> str:
    """``path`` as a link from the report folder (relative, so the folder can move)."""
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(report))
    return html.escape(quote(Path(relative).as_posix()))


def _output(row: dict[str, Any], report: Path) -> str:
    output = row.get("output")
    if row["status"] == "failed" or not output or not os.path.isfile(output):
        return "<td></td>"
    link = _link(output, report)
    if Path(output).suffix.lower() in OUTPUT_FORMATS:
        return f'<td><a href="{link}"><img src="{link}" loading="lazy" alt="output"></a></td>'
    return f'<td><audio controls preload="none" src="{link}"></audio></td>'


def _picture(picture: Path | None, report: Path) -> str:
    if picture is None:
        return "<td></td>"
    link = _link(picture, report)
    return f'<td><a href="{link}"><img src="{link}" loading="lazy" alt="report picture"></a></td>'
