"""The memory check before work starts, and out-of-memory errors reported as one line.

Before the optimisation starts, its peak memory is estimated from the
input's size and the settings and compared with what the device has free,
so a run that cannot fit stops at once with the settings that would fit,
instead of crashing (or swapping) later.

The estimates are models of the tensors a run holds at its peak, with
constants measured on CPU by ``scripts/bench_memory.py``, which also prints
estimate against measurement.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import torch

from .config import AudioConfig, ImageConfig
from .errors import AudiostError, OutOfMemory
from .limits import OOM_ADVICE, format_bytes, parse_bytes


def available_memory(device: torch.device) -> int | None:
    """Bytes this process could still allocate on ``device``, or None if unknown.

    CPU on Linux: the kernel's ``MemAvailable`` (free plus reclaimable page
    cache), capped by a container's cgroup limit, which a plain free-memory
    figure ignores; elsewhere (macOS, Windows) psutil's available memory.
    CUDA: the device's free memory. Apple MPS: the system's, capped by what
    Metal recommends for one process less what it has allocated (the GPU
    shares the system's memory).
    """
    kind = getattr(device, "type", str(device))
    if kind.startswith("cuda"):
        return int(torch.cuda.mem_get_info(device)[0])
    figures = [_meminfo_available(), _cgroup_room()]
    if figures[0] is None:
        figures.append(_psutil_available())
    if kind == "mps":
        figures.append(_mps_room())
    known = [f for f in figures if f is not None]
    return min(known) if known else None


def memory_limit(setting: str | None, device: torch.device) -> tuple[int | None, str]:
    """The bytes a run may use, and how to say where that figure comes from.

    The ``max_memory`` setting if given, else what ``device`` has free
    (None when unknown: no check).
    """
    if setting:
        limit = parse_bytes(setting)
        return limit, f"--max-memory is {format_bytes(limit)}"
    free = available_memory(device)
    return free, f"only {format_bytes(free or 0)} is free"


def check_fits(
    needed: int,
    limit: tuple[int | None, str],
    device: torch.device,
    alternatives: Sequence[tuple[str, Callable[[], int]]],
    what: str | os.PathLike,
) -> None:
    """Refuse a run estimated to need more than ``limit`` bytes, naming settings that would fit.

    Parameters
    ----------
    needed : int
        Estimated peak bytes of the run as configured.
    limit : (int or None, str)
        Bytes available (None, unknown, accepts every run) and where that
        figure comes from, from :func:`memory_limit`.
    alternatives : sequence of (option text, estimate)
        Changes to suggest, the least intrusive first; the first two whose
        estimates fit are named in the message.
    what : path
        The input the message is about.

    Raises
    ------
    OutOfMemory
        If ``needed > limit`` and the limit is what is free now.
    AudiostError
        If ``needed > limit`` and the limit is ``--max-memory``.
    """
    room, source = limit
    if room is None or needed <= room:
        return
    fitting = []
    for option, estimate in alternatives:
        cost = estimate()
        if cost <= room:
            fitting.append(f"{option} ({format_bytes(cost)})")
        if len(fitting) == 2:
            break
    advice = f"{' or '.join(fitting)} would fit" if fitting else "use a smaller input"
    message = f"needs about {format_bytes(needed)} of memory on {device} but {source}; {advice}"
    if source.startswith("--"):  # the user's own limit: no retry moves it
        raise AudiostError(message, what)
    raise OutOfMemory(
        f"{message} (--max-memory sets the limit if you know better)", what
    )


def _meminfo_available() -> int | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    match = re.search(r"^MemAvailable:\s+(\d+) kB", text, re.MULTILINE)
    return int(match[1]) * 1024 if match else None


def _psutil_available() -> int | None:
    """Available memory where there is no /proc/meminfo; psutil is a dependency there (None if missing)."""
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.virtual_memory().available)


def _mps_room() -> int | None:
    """What Metal still recommends this process allocate on the Apple GPU, if torch can tell."""
    mps = getattr(torch, "mps", None)
    try:
        return max(
            int(mps.recommended_max_memory()) - int(mps.driver_allocated_memory()), 0
        )
    except (AttributeError, RuntimeError):
        return None


def _cgroup_room() -> int | None:
    """Room left under a cgroup v2 memory limit (containers, CI runners), if any."""
    root = Path("/sys/fs/cgroup")
    try:
        limit = (root / "memory.max").read_text().strip()
        used = int((root / "memory.current").read_text())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else max(int(limit) - used, 0)


# --- Estimates -----------------------------------------------------------------
# Models of a run's peak, beyond the loaded inputs; the constants come from
# peak-RSS measurements on CPU (scripts/bench_memory.py prints estimate
# against measurement; they agree within about 20 %).

_FLOAT = 4
# Allocations of a run that do not grow with the input (thread pools, the
# style's statistics, allocator slack).
_RUN_OVERHEAD = 150e6
# Canvas-sized float tensors alive at a step. L-BFGS: its 20 (step, gradient
# change) history pairs, plus the gradient, search direction and line-search
# copies. Adam: the gradient and two moments.
_CANVAS_COPIES = {"lbfgs": 62, "adam": 4}
# The spectral network's memory per frame, fitted to measured peaks
# (scripts/bench_memory.py: fast, balanced, best; mono and stereo; within
# 2 to 14 % above): feature maps kept for the backward pass, per filter and
# branch, and canvas-sized tensors of the objective (the log-frequency and
# band views, the content's variation, the clamp, the level distribution's
# sorted copy and its int64 order: 5 more, refitted on 20 s of stereo).
_FEATURE_COPIES = 6
_OBJECTIVE_CANVASES = 30
# The modulation term's autocorrelations keep about this many more copies of
# the style layers' feature maps (centred series, spectra) for the backward
# pass (30 s of stereo, balanced, 25 iterations: peak 3028 -> 3410 MB).
_MODULATION_COPIES = 3.2


def estimate_audio_memory(
    cfg: AudioConfig,
    channels: int,
    samples: int,
    sr: int,
    styles: Sequence[tuple[float, int, int]] = (),
) -> int:
    """Peak bytes of an audio transfer or texture of ``channels x samples`` at ``sr``.

    ``cfg`` is an :class:`~audiost.config.AudioConfig`. A content longer
    than ``section_seconds`` is styled a section at a time: the peak is one
    section's, plus the assembled spectrogram and output waveform.
    ``styles``, ``(seconds, channels, rate)`` each, are read and analysed
    before the run (:func:`_style_estimate`); a long style can need more
    than the run.
    """
    from .media.stft import n_fft_for_rate

    hop = n_fft_for_rate(sr) // 4
    section = round(cfg.section_seconds * sr)
    if samples <= section:
        run = _section_estimate(cfg, channels, samples, sr)
    else:
        assembled = channels * (hop * 2 + 1) * (samples // hop + 1) + channels * samples
        run = _section_estimate(cfg, channels, section, sr) + _FLOAT * assembled
    if not styles:
        return run
    return max(run, int(_RUN_OVERHEAD + _style_estimate(cfg, channels, sr, styles)))


def _style_estimate(
    cfg: AudioConfig, channels: int, sr: int, styles: Sequence[tuple[float, int, int]]
) -> int:
    """Peak bytes of reading and analysing ``styles`` for a result of ``channels`` at ``sr``.

    Follows :meth:`~audiost.audio.transfer.AudioStylist` step by step:
    every style is decoded (into one array) and resampled, all are
    laid out (mid/side or a mono mix: a new copy), then encoded one at a
    time, each canvas (twice its samples) replacing its wave; the network
    reads the canvases in blocks of frames (a VGG, whole).
    """
    from .engine.blocks import BLOCK_FRAMES
    from .media.stft import n_fft_for_rate

    hop = n_fft_for_rate(sr) // 4
    read = 0.0  # samples held once read, at the canvas's rate
    peak = 0.0
    laid = []  # (channels, samples) of each style as styled
    for seconds, style_channels, rate in styles:
        own, at_sr = seconds * rate, seconds * sr
        resampled = at_sr if rate != sr else 0
        peak = max(peak, read + style_channels * (own + resampled))
        read += style_channels * at_sr
        laid.append((channels if style_channels == channels else 1, at_sr))
    waiting = sum(c * n for c, n in laid)
    peak = max(peak, read + waiting)
    sizes = [c * (2 * hop + 1) * (n / hop + 1) for c, n in laid]
    canvases = 0.0
    for (c, n), canvas in zip(laid, sizes, strict=True):
        peak = max(peak, canvases + waiting + canvas)
        canvases += canvas
        waiting -= c * n
    widest = max(c for c, _ in laid)
    if cfg.net == "spectral-conv":
        from .features.spectral_conv import BAND_BINS, LOG_BINS, band_starts

        bands = len(band_starts(LOG_BINS, BAND_BINS))
        frames = BLOCK_FRAMES + max(cfg.kernel_widths)
        features = len(cfg.kernel_widths) * cfg.n_filters * bands * frames * widest
    else:  # a VGG reads each style's canvas whole, as a picture
        features = _vgg_floats_per_pixel(cfg.net, 5) * max(sizes)
    return int(_FLOAT * max(peak, canvases + features))


def _section_estimate(cfg: AudioConfig, channels: int, samples: int, sr: int) -> int:
    """Peak bytes of optimising one canvas of ``channels x samples``."""
    from .media.stft import n_fft_for_rate

    n_fft = n_fft_for_rate(sr)
    canvas = channels * (n_fft // 2 + 1) * (samples // (n_fft // 4) + 1)
    if cfg.net == "spectral-conv":
        from .features.spectral_conv import BAND_BINS, LOG_BINS, band_starts

        frames = channels * (samples // (n_fft // 4) + 1)
        bands = len(band_starts(LOG_BINS, BAND_BINS))
        # Every style branch plus the content's second pass of the narrowest one.
        maps = _FEATURE_COPIES * (len(cfg.kernel_widths) + 1) * cfg.n_filters * bands
        if cfg.modulation_weight:
            maps += _MODULATION_COPIES * len(cfg.kernel_widths) * cfg.n_filters * bands
        weights = bands * BAND_BINS * cfg.n_filters * sum(cfg.kernel_widths)
        copies = _CANVAS_COPIES[cfg.optimizer] + _OBJECTIVE_CANVASES
        return int(_RUN_OVERHEAD + _FLOAT * (copies * canvas + maps * frames + weights))
    # A VGG sees the canvas as a one-channel picture of bins x frames pixels.
    return _vgg_estimate(cfg.net, cfg.optimizer, 5, canvas, 0, channels_in=1)


# VGG blocks as (channels, conv layers); block k works at 1/4**k of the pixels.
_VGG_BLOCKS = {
    "vgg19": ((64, 2), (128, 2), (256, 4), (512, 4), (512, 4)),
    "vgg16": ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)),
}
_VGG_PARAMETERS = {"vgg19": 20.0e6, "vgg16": 14.7e6}
# Feature maps kept per conv layer for the backward pass (its input, the
# ReLU's output) and the gradient being formed.
_ACTIVATION_COPIES = 2.5


def estimate_image_memory(
    cfg: ImageConfig, width: int, height: int, style_pixels: Sequence[int] = ()
) -> int:
    """Peak bytes of an image transfer or texture with a ``width x height`` output.

    ``cfg`` is an :class:`~audiost.config.ImageConfig`; ``style_pixels`` are
    the styles' pixel counts as resized (their features pass once, without
    gradients, and only their statistics are kept).
    """
    deepest = max(int(name[4]) for name in (*cfg.style_layers, *cfg.content_layers))
    return _vgg_estimate(
        cfg.net,
        cfg.optimizer,
        deepest,
        width * height,
        max(style_pixels, default=0),
        channels_in=3,
    )


def _vgg_estimate(
    net: str,
    optimizer: str,
    deepest: int,
    pixels: int,
    style_pixels: int,
    *,
    channels_in: int,
) -> int:
    per_pixel = _vgg_floats_per_pixel(net, deepest)
    step = _ACTIVATION_COPIES * per_pixel * pixels
    canvas = channels_in * pixels * _CANVAS_COPIES[optimizer]
    # A style larger than the output passes through once, without gradients.
    style = max(per_pixel * style_pixels - step, 0)
    return int(_RUN_OVERHEAD + _FLOAT * (step + canvas + style + _VGG_PARAMETERS[net]))


def _vgg_floats_per_pixel(net: str, deepest: int) -> float:
    """Floats of one pass's feature maps per input pixel, through block ``deepest``."""
    return sum(
        channels * layers / 4**block
        for block, (channels, layers) in enumerate(_VGG_BLOCKS[net][:deepest])
    )


def check_audio_memory(
    cfg: AudioConfig,
    channels: int,
    samples: int,
    sr: int,
    device: torch.device,
    what: str | os.PathLike,
    styles: Sequence[tuple[float, int, int]] = (),
) -> int:
    """Estimate an audio run's peak memory and refuse it if it will not fit; returns the estimate.

    ``styles``, ``(seconds, channels, rate)`` each, count as
    :func:`estimate_audio_memory` says. The message names the first two of
    these that fit: ``--optimizer adam``, ``--mono``, both, a shorter
    ``--section-seconds``, a lower ``--sample-rate``, the content's length
    that would fit, or (one style) the style's.
    """

    def estimate(
        changed: AudioConfig = cfg,
        chans: int = channels,
        seconds: float = samples / sr,
        rate: int = sr,
        style_seconds: float | None = None,
    ) -> int:
        laid = styles
        if style_seconds is not None:
            laid = [(style_seconds, *styles[0][1:])]
        return estimate_audio_memory(changed, chans, round(seconds * rate), rate, laid)

    needed = estimate()
    limit = memory_limit(cfg.max_memory, device)
    room = limit[0]
    if room is None or needed <= room:
        return needed
    adam = cfg.replace(optimizer="adam")
    options: list[tuple[str, Callable[[], int]]] = []
    if cfg.optimizer != "adam":
        options.append(("--optimizer adam", lambda: estimate(adam)))
    if channels > 1:
        options.append(("--mono", lambda: estimate(chans=1)))
        if cfg.optimizer != "adam":
            options.append(("--mono --optimizer adam", lambda: estimate(adam, 1)))
    duration = samples / sr
    shorter = _largest_fitting(
        lambda seconds: estimate(cfg.replace(section_seconds=seconds)),
        6,
        min(cfg.section_seconds, duration),
        room,
    )
    if shorter is not None:
        options.append(
            (
                f"--section-seconds {shorter}",
                lambda: estimate(cfg.replace(section_seconds=shorter)),
            )
        )
    if sr > 22050:
        options.append(("--sample-rate 22050", lambda: estimate(rate=22050)))
    cut = _largest_fitting(lambda seconds: estimate(seconds=seconds), 1, duration, room)
    if cut is not None:
        options.append((f"cutting it to {cut} s", lambda: estimate(seconds=cut)))
    if len(styles) == 1:
        style_cut = _largest_fitting(
            lambda seconds: estimate(style_seconds=seconds), 1, styles[0][0], room
        )
        if style_cut is not None:
            options.append(
                (
                    f"cutting the style to {style_cut} s",
                    lambda: estimate(style_seconds=style_cut),
                )
            )
    check_fits(needed, limit, device, options, what)
    return needed


def estimate_tiled_image_memory(
    cfg: ImageConfig,
    width: int,
    height: int,
    side: int,
    style_pixels: Sequence[int] = (),
) -> int:
    """Peak bytes of an image run whose feature passes go tile by tile, cores at most ``side`` px.

    One tile's activations (with its halo) instead of the whole canvas's;
    the canvas-sized optimiser state and the content's target activations
    stay whole. Styles pass in tiles of the same size.
    """
    from .engine.tiles import plan_tiles

    deepest = max(int(name[4]) for name in (*cfg.style_layers, *cfg.content_layers))
    outer = max(
        (bottom - top) * (right - left)
        for top, bottom, left, right in (
            t.outer for t in plan_tiles(height, width, side)
        )
    )
    tile = _vgg_estimate(cfg.net, cfg.optimizer, deepest, outer, 0, channels_in=3)
    # The tile's canvas state is counted again below, for the whole canvas.
    tile -= _FLOAT * 3 * outer * _CANVAS_COPIES[cfg.optimizer]
    pixels = width * height
    content = sum(
        _VGG_BLOCKS[cfg.net][int(name[4]) - 1][0] * pixels / 4 ** (int(name[4]) - 1)
        for name in cfg.content_layers
    )
    # The whole canvas: optimiser state, the gradient being assembled, and the
    # clamped copy the objective sees.
    canvas = 3 * pixels * (_CANVAS_COPIES[cfg.optimizer] + 2)
    return int(tile + _FLOAT * (canvas + content))


def plan_image_memory(
    cfg: ImageConfig,
    size: tuple[int, int],
    style_pixels: Sequence[int],
    device: torch.device,
    what: str | os.PathLike,
) -> tuple[int | None, int]:
    """Choose whether an image run goes in tiles, and check that it fits.

    Returns ``(tile side or None, estimated peak bytes)``. With
    ``cfg.tile_size`` set, canvases larger than it are tiled; otherwise a run
    is tiled only when it would not fit whole, with the largest tiles (a
    multiple of 64 px) that fit, since each tile's halo costs time. A run
    that fits neither way is refused, naming ``--optimizer adam`` or the
    largest ``--max-size`` that fits.
    """
    width, height = size
    whole = estimate_image_memory(cfg, width, height, style_pixels)
    limit = memory_limit(cfg.max_memory, device)
    room = limit[0]
    side: int | None = None
    if cfg.tile_size:
        side = cfg.tile_size if max(size) > cfg.tile_size else None
    elif room is not None and whole > room:
        sides = range(max(size) - 64, 127, -64)
        side = next(
            (
                s
                for s in sides
                if estimate_tiled_image_memory(cfg, width, height, s) <= room
            ),
            None,
        )
    needed = (
        whole
        if side is None
        else estimate_tiled_image_memory(cfg, width, height, side, style_pixels)
    )
    if room is None or needed <= room:
        return side, needed

    def at(long_side: int, config: ImageConfig = cfg) -> int:
        scale = long_side / max(width, height)
        return estimate_image_memory(
            config,
            max(round(width * scale), 1),
            max(round(height * scale), 1),
            [round(p * scale**2) for p in style_pixels],
        )

    options: list[tuple[str, Callable[[], int]]] = []
    if cfg.optimizer != "adam":
        adam = cfg.replace(optimizer="adam")
        options.append(
            (
                "--optimizer adam",
                lambda: estimate_image_memory(adam, width, height, style_pixels),
            )
        )
    fitting = [s for s in range(64, max(width, height), 64) if at(s) <= room]
    if fitting:
        options.append((f"--max-size {fitting[-1]}", lambda: at(fitting[-1])))
    check_fits(needed, limit, device, options, what)
    return side, needed


@contextlib.contextmanager
def out_of_memory_reported(
    device: torch.device, what: str | os.PathLike
) -> Iterator[None]:
    """Turn an out-of-memory failure during a run into one user-facing error about ``what``.

    The estimate before a run cannot see other processes' use of the device;
    when an allocation still fails, the run stops with the same advice, and
    a CUDA device's cached blocks are released so a batch's next pair starts
    with the memory free.
    """
    import torch

    failed = None
    try:
        yield
    except (MemoryError, torch.OutOfMemoryError) as exc:
        failed = type(exc).__name__
    # Outside the except block: the failed run's tensors, held by the
    # exception's traceback, are released before the cache is emptied.
    if failed is not None:
        if torch.device(device).type == "cuda":
            torch.cuda.empty_cache()
        raise OutOfMemory(
            f"ran out of memory on {device} ({failed}); {OOM_ADVICE}", what
        )


def _largest_fitting(
    estimate: Callable[[int], int], low: int, high: float, room: int
) -> int | None:
    """The largest whole number in ``[low, high)`` whose ``estimate`` fits in ``room``, or None."""
    if high <= low or estimate(low) > room:
        return None
    fits, too_big = low, math.ceil(high)
    while too_big - fits > 1:  # estimates grow with the number: bisect
        middle = (fits + too_big) // 2
        fits, too_big = (
            (middle, too_big) if estimate(middle) <= room else (fits, middle)
        )
    return fits
