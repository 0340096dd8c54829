"""How long each pair of a batch should take relative to the others of its kind: what the progress bar fills by.

A folder's clips differ in length. Counted in pairs, the remaining time of
a batch that began with its longest clips was three times the truth (24
corpus clips of 3 to 16 s, `fast`, one worker, music first: 247 s shown
with 83 s left). The costs come from file headers alone, read by the
process that shows the bar, and are relative within each kind: a pair
whose header cannot be read counts as its kind's average, and audio and
images, whose costs are in different units, count as many pairs as they
have.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..config import ImageConfig
from ..limits import MAX_CHANNELS, MAX_DURATION_S, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from ..media.audio_io import audio_header
from ..media.image_io import image_size
from .worker import Task

#: Share of an audio transfer's time per second of audio that grows with the
#: rate it runs at (the two inputs' higher one): the STFT, Griffin-Lim and
#: the per-bin terms do; the network, on 256 log-frequency bins, does not.
#: On the quality table's 4 s excerpts, `balanced`: 2.6 s at 8 kHz
#: against 5.5 to 6.0 s at 44.1 kHz, so 1/3 + 2/3 x 8/44.1 = 0.45.
_RATE_SHARE = 2 / 3
_REFERENCE_RATE = 44100


def expected_costs(tasks: Sequence[Task], image: ImageConfig) -> list[float]:
    """One cost per task, averaging 1 over the tasks of each kind.

    Audio: seconds x channels (a stereo clip took 1.85 times a mono one
    per second on the corpus), scaled by the rate it runs at. Images: the
    pixels times iterations over the coarse-to-fine passes
    (:func:`~audiost.image.scales.planned_work`).
    """
    headers: dict[str, tuple[float, int, int] | None] = {}

    def header(path: str) -> tuple[float, int, int] | None:
        if path not in headers:  # a style is read once, not once per pair
            headers[path] = _audio_header(path)
        return headers[path]

    raw = [
        _audio_cost(header(task.content), header(task.style))
        if task.kind == "audio"
        else _image_cost(task.content, image)
        for task in tasks
    ]
    means = {}
    for kind in {task.kind for task in tasks}:
        known = [c for t, c in zip(tasks, raw, strict=True) if t.kind == kind and c]
        means[kind] = sum(known) / len(known) if known else 1.0
    return [
        cost / means[task.kind] if cost else 1.0
        for task, cost in zip(tasks, raw, strict=True)
    ]


def _audio_cost(
    content: tuple[float, int, int] | None, style: tuple[float, int, int] | None
) -> float | None:
    if content is None or style is None:
        return None
    seconds, channels, content_rate = content
    rate = max(content_rate, style[2])
    return seconds * channels * (1 - _RATE_SHARE + _RATE_SHARE * rate / _REFERENCE_RATE)


def _audio_header(path: str) -> tuple[float, int, int] | None:
    """``(seconds, channels, rate)`` from a file's header, or None where the pair will fail or the header says nothing.

    A header that claims the impossible (a rate of 1 Hz, an hour over the
    limit) belongs to a file that fails at once; counted at its claim, it
    would hold the bar back until then.
    """
    header = audio_header(path)
    if header is None:
        return None
    seconds, channels, rate = header
    usable = (
        MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE
        and 1 <= channels <= MAX_CHANNELS
        and seconds <= MAX_DURATION_S
    )
    return header if usable else None


def _image_cost(path: str, image: ImageConfig) -> float | None:
    size = image_size(path)
    if size is None:
        return None
    # Here, not at the top: they import torch, which a batch of clips
    # never needs in the process that shows the bar.
    from ..image.scales import planned_work
    from ..media.image import fit_size

    work = planned_work(image, fit_size(size, image.max_size))
    return float(sum(iterations * pixels for iterations, pixels in work))
