"""The waveform stage: after Griffin-Lim, optimise the samples written, through the STFT.

The canvas stage optimises a spectrogram, and no signal need have it:
Griffin-Lim finds a signal whose spectrogram is close to it, not the signal
the objective likes best. On the quality table the audio written scored
two to four times its canvas's loss (speech x mariachi: 0.56 optimised,
2.21 written), and its quiet moments were where it lost most (hiss).
This stage minimises the same objective over the samples themselves (as
Antognini et al. 2019 optimise whole syntheses), starting from Griffin-Lim's
result, so what is written is what was optimised.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..config import AudioConfig
from ..device import stage
from ..engine.optimise import Loss, OptimisationResult, StepCallback, optimise
from ..media.audio import AudioCanvas
from .sections import add_section, overall_progress

#: The objective for STFT frames ``start:stop``.
SectionObjective = Callable[[int, int], Loss]


def optimise_waveform(
    cfg: AudioConfig,
    audio_canvas: AudioCanvas,
    wave: torch.Tensor,
    spans: list[tuple[int, int]],
    objective_for: SectionObjective,
    timings: dict[str, float],
    on_step: StepCallback | None = None,
) -> OptimisationResult | None:
    """``cfg.wave_iters`` L-BFGS iterations on the audio ``wave`` ``(channels, samples)``, in place, a section at a time; timed as the ``waveform`` stage.

    Each span of STFT frames is judged by ``objective_for(start, stop)``
    through the same STFT and log-magnitude the canvas stage saw; only the
    samples its frames read move. What L-BFGS moves is ``cfg.wave_variable``:

    - ``"samples"`` (the default): the samples themselves;
    - ``"magnitudes"``: the log-magnitudes of the section's frames at their
      phase; the samples are what those frames overlap-add to, so the audio
      is still judged by its own STFT. It is the canvas stage's variable, on
      which a quiet component moves as readily as a loud one. On a car
      engine styled by a folk song the written loss fell to 1.9, where the
      samples reached 4.6, and the style gain rose from 0.71 to 0.79. But
      it also lifts quiet bins toward a noise-like style (folk x frogs'
      floor rose 5 dB, its style gain fell), so it is not the default
      (docs/quality.md, "The waveform stage's variable").

    Sections are optimised in turn on one signal, so a section starts from
    its predecessor's result where they overlap and there is nothing to
    crossfade. Always L-BFGS, whatever ``cfg.optimizer``: its line search
    finds the step, and a step size chosen for a canvas means nothing here.
    Progress continues after the canvas stage's ``cfg.iters``.

    Returns
    -------
    OptimisationResult or None
        ``canvas`` is ``wave``, now holding the optimised samples; ``parts``
        the loss of the audio written, weighted by section length.
        None when ``cfg.wave_iters`` is 0: Griffin-Lim's result is written.
    """
    if not cfg.wave_iters:
        return None
    with stage(timings, "waveform", audio_canvas.device):
        return _optimise_sections(
            cfg, audio_canvas, wave, spans, objective_for, on_step
        )


def _optimise_sections(
    cfg: AudioConfig,
    audio_canvas: AudioCanvas,
    wave: torch.Tensor,
    spans: list[tuple[int, int]],
    objective_for: SectionObjective,
    on_step: StepCallback | None,
) -> OptimisationResult:
    stft = audio_canvas.stft
    merged = OptimisationResult(canvas=wave)
    for index, (start, stop) in enumerate(spans):
        first, last, pad = stft.samples_read(start, stop, wave.shape[-1])
        objective = objective_for(start, stop)
        if cfg.wave_variable == "samples":
            point, audio_of = wave[..., first:last], _identity
        else:
            point, audio_of = _magnitude_variable(audio_canvas, wave, start, stop)

        def through_stft(
            point: torch.Tensor,
            objective: Loss = objective,
            pad: tuple[int, int] = pad,
            audio_of: Callable[[torch.Tensor], torch.Tensor] = audio_of,
        ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            return objective(
                audio_canvas.canvas_of(stft.frames_of(audio_of(point), pad))
            )

        section = optimise(
            through_stft,
            point,
            iters=cfg.wave_iters,
            on_step=overall_progress(
                on_step, index, len(spans), cfg.wave_iters, offset=cfg.iters
            ),
        )
        wave[..., first:last] = audio_of(section.canvas)
        add_section(merged, section, index, spans, "waveform stage: ")
    return merged


def _identity(samples: torch.Tensor) -> torch.Tensor:
    return samples


def _magnitude_variable(
    audio_canvas: AudioCanvas, wave: torch.Tensor, start: int, stop: int
) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
    """The canvas of frames ``start:stop`` of ``wave``, and the samples those frames read for a changed canvas.

    The frames' phase is held; the change in their complex values is
    overlap-added onto the samples (:meth:`~audiost.media.stft.Stft.samples_of`),
    so the starting canvas gives the samples back exactly.
    """
    stft = audio_canvas.stft
    first, last, pad = stft.samples_read(start, stop, wave.shape[-1])
    samples = wave[..., first:last]
    canvas, phase = audio_canvas.encode_frames(wave, start, stop)
    magnitude = audio_canvas.magnitude(canvas)

    def audio_of(point: torch.Tensor) -> torch.Tensor:
        change = (audio_canvas.magnitude(point) - magnitude) * phase
        return samples + stft.samples_of(change, pad)

    return canvas, audio_of
