"""Long audio styled in overlapping sections, and the crossfades that join them.

A ten-minute recording is styled a section at a time so that memory stays
that of one section. Sections overlap; inside each overlap the two results
are crossfaded linearly, away from the sections' edges (``margin``), where
convolutions and the STFT see a cut-off signal. Units are whatever the
caller counts in: STFT frames for spectrograms, samples for waveforms.
Every section is optimised against the whole style's targets, and decoded
with Griffin-Lim starting, in its overlap, from the previous section's phase.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from ..config import AudioConfig
from ..device import stage
from ..engine import Objective, optimise_with
from ..engine.optimise import CanvasCallback, OptimisationResult, StepCallback
from ..media.audio import AudioCanvas
from ..media.griffin_lim import griffin_lim
from ..media.pghi import pghi_phase
from .objective import StyleTargets, build_objective, build_problem

#: Neighbouring sections of a long content share this much audio (s).
SECTION_OVERLAP_S = 2.0

# Section edges where convolutions see a cut-off canvas are left out of the
# crossfade (frames; the widest preset kernel reaches 15).
EDGE_FRAMES = 16


def plan_sections(total: int, length: int, overlap: int) -> list[tuple[int, int]]:
    """``(start, stop)`` spans of at most about ``length`` covering ``0:total``, neighbours sharing ``overlap``.

    All spans get (nearly) the same length, so no short last section has
    too little context for its statistics.
    """
    if length < 3 * overlap:
        # Sections may come out a third shorter than ``length``; below this
        # three of them could share a position, which the pairwise
        # crossfades do not handle.
        raise ValueError(
            f"section length {length} must be at least three times the overlap {overlap}"
        )
    if total <= length:
        return [(0, total)]
    count = math.ceil((total - overlap) / (length - overlap))
    step = (total - overlap) / count
    return [(round(i * step), round((i + 1) * step) + overlap) for i in range(count)]


def crossfade_weights(spans: list[tuple[int, int]], margin: int) -> list[np.ndarray]:
    """One weight per position of each span; at every position the weights of all spans sum to 1.

    In the overlap of two neighbours the weight ramps linearly from one to
    the other between ``margin`` positions inside either edge.
    """
    weights = [np.ones(stop - start, np.float32) for start, stop in spans]
    for i in range(len(spans) - 1):
        (start, stop), (next_start, _) = spans[i], spans[i + 1]
        fade_from, fade_to = next_start + margin, stop - margin
        if fade_to <= fade_from:
            raise ValueError(
                f"sections {spans[i]} and {spans[i + 1]} overlap by {stop - next_start}, "
                f"not more than twice the margin {margin}"
            )
        positions = np.arange(next_start, stop)
        rising = np.clip(
            (positions - fade_from + 0.5) / (fade_to - fade_from), 0, 1
        ).astype(np.float32)
        weights[i][next_start - start :] *= 1 - rising
        weights[i + 1][: stop - next_start] *= rising
    return weights


def section_spans(
    cfg: AudioConfig, audio_canvas: AudioCanvas, samples: int
) -> list[tuple[int, int]]:
    """The STFT frame spans a content of ``samples`` is styled in: one span unless it is longer than ``section_seconds``."""
    frames_per_second = audio_canvas.frames_per_second
    return plan_sections(
        samples // audio_canvas.stft.hop + 1,
        max(round(cfg.section_seconds * frames_per_second), 4 * EDGE_FRAMES),
        round(SECTION_OVERLAP_S * frames_per_second),
    )


def optimise_sections(
    cfg: AudioConfig,
    audio_canvas: AudioCanvas,
    content_wave: np.ndarray,
    style: StyleTargets,
    spans: list[tuple[int, int]],
    generator: torch.Generator,
    timings: dict[str, float],
    on_step: StepCallback | None,
    snapshots: tuple[int, CanvasCallback] | None = None,
) -> OptimisationResult:
    """Optimise the canvas section by section, each against the whole style's targets, and crossfade the sections.

    Memory is that of one section; the style statistics are the whole
    style file's for every section, so the sections share one style. A
    content that fits one section is optimised whole, exactly as before.
    ``snapshots``, ``(every, callback)``: every ``every`` iterations
    (counted over all sections) the callback gets the whole canvas so far:
    the finished sections, the current one as it is, the rest still the
    content's.
    """
    device = audio_canvas.device
    wave = torch.as_tensor(content_wave, dtype=torch.float32, device=device)
    total = spans[-1][1]
    merged = OptimisationResult(canvas=torch.empty(0))
    fades = crossfade_weights(spans, EDGE_FRAMES)
    for index, ((start, stop), weight) in enumerate(zip(spans, fades, strict=True)):
        with stage(timings, "encode", device):
            content_canvas, _ = audio_canvas.encode_frames(wave, start, stop)
            objective, init = build_problem(
                cfg,
                style.during(start, stop, total, audio_canvas.frames_per_second),
                content_canvas,
                generator,
            )
        on_canvas = None
        if snapshots is not None:
            on_canvas = _snapshot_canvas(
                snapshots,
                merged.canvas,
                wave,
                audio_canvas,
                spans,
                fades,
                index,
                cfg.iters,
            )
        with stage(timings, "optimise", device):
            section = optimise_with(
                cfg,
                objective,
                init,
                # No upper bound: the level distribution already holds each
                # bin's loudest moments to the style's. A per-bin ceiling did
                # worse than nothing: cells the optimiser pushed past it got no
                # gradient and stayed there (81 % of the 65 Hz frames on
                # folk x game theme at strength 0.75, sub-bass 8.6 dB too loud).
                min_value=0.0,
                on_step=overall_progress(on_step, index, len(spans), cfg.iters),
                on_canvas=on_canvas,
            )
        if index == 0:
            merged.canvas = torch.zeros(
                (*section.canvas.shape[:-1], total), device=device
            )
        merged.canvas[..., start:stop] += section.canvas * torch.as_tensor(
            weight, device=device
        )
        add_section(merged, section, index, spans)
    return merged


def add_section(
    merged: OptimisationResult,
    section: OptimisationResult,
    index: int,
    spans: list[tuple[int, int]],
    stage_name: str = "",
) -> None:
    """Add section ``index``'s losses and history to ``merged``, its final losses weighted by its share of the frames, and why it stopped early, if it did."""
    start, stop = spans[index]
    merged.losses += section.losses
    merged.history += section.history
    for name, value in section.parts.items():
        share = value * (stop - start) / spans[-1][1]
        merged.parts[name] = merged.parts.get(name, 0.0) + share
    if section.stopped_early:
        where = f"section {index + 1}: " if len(spans) > 1 else ""
        note = f"{stage_name}{where}{section.stopped_early}"
        merged.stopped_early = "; ".join(filter(None, (merged.stopped_early, note)))


def section_objectives(
    cfg: AudioConfig,
    audio_canvas: AudioCanvas,
    content_wave: np.ndarray,
    style: StyleTargets,
    spans: list[tuple[int, int]],
) -> Callable[[int, int], Objective]:
    """Each section's objective again, for the waveform stage: built when asked, from that section's samples, so only one section's content is on the device at a time."""
    stft, total = audio_canvas.stft, spans[-1][1]

    def objective_for(start: int, stop: int) -> Objective:
        first, last, pad = stft.samples_read(start, stop, content_wave.shape[-1])
        samples = torch.as_tensor(
            content_wave[..., first:last],
            dtype=torch.float32,
            device=audio_canvas.device,
        )
        content_canvas = audio_canvas.canvas_of(stft.frames_of(samples, pad))
        return build_objective(
            cfg,
            style.during(start, stop, total, audio_canvas.frames_per_second),
            content_canvas,
        )

    return objective_for


def _snapshot_canvas(
    snapshots: tuple[int, CanvasCallback],
    finished: torch.Tensor,
    wave: torch.Tensor,
    audio_canvas: AudioCanvas,
    spans: list[tuple[int, int]],
    fades: list[np.ndarray],
    index: int,
    iters: int,
) -> CanvasCallback:
    """The callback that, during section ``index``, hands every ``every``-th iteration's whole canvas (sections crossfaded by ``fades``) to ``snapshots``' callback."""
    every, callback = snapshots
    start, stop = spans[index]

    def on_canvas(iteration: int, canvas: torch.Tensor) -> None:
        step = index * iters + iteration
        if step % every:
            return
        device = canvas.device
        whole = (
            finished.clone()
            if finished.numel()
            else torch.zeros((*canvas.shape[:-1], spans[-1][1]), device=device)
        )
        whole[..., start:stop] += canvas * torch.as_tensor(fades[index], device=device)
        for (later_start, later_stop), fade in zip(
            spans[index + 1 :], fades[index + 1 :], strict=True
        ):
            content, _ = audio_canvas.encode_frames(wave, later_start, later_stop)
            whole[..., later_start:later_stop] += content * torch.as_tensor(
                fade, device=device
            )
        callback(step, whole)

    return on_canvas


def overall_progress(
    on_step: StepCallback | None, index: int, count: int, iters: int, offset: int = 0
) -> StepCallback | None:
    """Report a section's iterations as progress through the whole run, in iterations of one section, after ``offset`` (an earlier stage's)."""
    if on_step is None or (count == 1 and not offset):
        return on_step

    def report(iteration: int, loss: float) -> None:
        on_step(offset + math.ceil((index * iters + iteration) / count), loss)

    return report


def decode_sections(
    cfg: AudioConfig,
    audio_canvas: AudioCanvas,
    canvas: torch.Tensor,
    content_wave: np.ndarray,
    spans: list[tuple[int, int]],
    generator: torch.Generator,
) -> torch.Tensor:
    """Griffin-Lim section by section, crossfaded; memory stays that of one section.

    Each section starts, inside its overlap with the previous one, from the
    phase of the previous section's result: the two then agree there, so
    the crossfade neither cancels nor doubles anything.
    """
    stft, device = audio_canvas.stft, audio_canvas.device
    length = content_wave.shape[1]
    wave = torch.as_tensor(content_wave, dtype=torch.float32, device=device)
    samples = [
        (start * stft.hop, length if stop == spans[-1][1] else (stop - 1) * stft.hop)
        for start, stop in spans
    ]
    out = torch.zeros((content_wave.shape[0], length), device=device)
    previous: tuple[torch.Tensor, int] | None = None
    for (start, stop), (first, last), weight in zip(
        spans, samples, crossfade_weights(samples, stft.n_fft), strict=True
    ):
        magnitude = audio_canvas.magnitude(canvas[..., start:stop])
        phase = _start_phase(cfg, audio_canvas, magnitude, wave, start, stop, generator)
        if previous is not None:
            earlier, earlier_start = previous
            shared = stft.forward(earlier)[..., start - earlier_start :]
            shared = shared[..., : stop - start]
            phase[..., : shared.shape[-1]] = shared / shared.abs().clamp_min(1e-12)
        section = griffin_lim(
            magnitude, stft, last - first, n_iter=cfg.gl_iters, start_phase=phase
        )
        out[:, first:last] += section * torch.as_tensor(weight, device=device)
        previous = (section, start)
    return out


def _start_phase(
    cfg: AudioConfig,
    audio_canvas: AudioCanvas,
    magnitude: torch.Tensor,
    wave: torch.Tensor,
    start: int,
    stop: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """Griffin-Lim's start for frames ``start:stop``: the content's phase, PGHI's, or random."""
    if cfg.phase_init == "content":
        return audio_canvas.encode_frames(wave, start, stop)[1]
    if cfg.phase_init == "pghi":
        return pghi_phase(magnitude, audio_canvas.stft, generator=generator)
    angles = torch.rand(
        magnitude.shape, generator=generator, device=magnitude.device
    ) * (2 * torch.pi)
    return torch.polar(torch.ones_like(angles), angles)
