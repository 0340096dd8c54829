"""The end every audio pipeline shares: loudness, consistency, the result record and its atomic write."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..config import AudioConfig
from ..device import stage
from ..engine.optimise import OptimisationResult
from ..media.audio import AudioCanvas, left_right
from ..media.audio_io import write_audio
from ..media.loudness import loudness_gain, match_loudness
from ..provenance import make_record


@dataclass
class AudioResult:
    """What a transfer produced: the audio ``(channels, samples)`` and how it got there."""

    audio: np.ndarray
    sr: int
    config: AudioConfig
    device: str
    losses: list[float] = field(default_factory=list)
    final_losses: dict[str, float] = field(default_factory=dict)
    #: Each iteration's loss terms, for loss curves.
    history: list[dict[str, float]] = field(default_factory=list)
    #: How many of ``losses`` the canvas stage made; the waveform stage's follow.
    canvas_iterations: int = 0
    #: Of the audio written against the canvas stage's spectrogram (0 = identical).
    spectral_convergence: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    output: Path | None = None
    warnings: list[str] = field(default_factory=list)


def finish_audio(
    cfg: AudioConfig,
    device: torch.device,
    audio_canvas: AudioCanvas,
    result: OptimisationResult,
    wave: torch.Tensor,
    reference: np.ndarray,
    timings: dict[str, float],
    output: Path | None,
    *,
    mid_side: bool = False,
    dry: np.ndarray | None = None,
    waveform: OptimisationResult | None = None,
    channels: int | None = None,
    command: str = "transfer",
) -> AudioResult:
    """The end every audio pipeline shares: loudness, the dry/wet mix, consistency, the result and its atomic write.

    ``reference`` is the audio whose loudness is matched (the content, or the
    style for a texture); its loudness pass counts to the ``reconstruct``
    stage the decode began; ``wave`` is the audio to write, in the
    canvas's layout (``mid_side``: mid and side channels). ``waveform``,
    the waveform stage's result when it ran: its losses follow the canvas
    stage's, and its final loss is the result's (the loss of the audio
    written). ``channels``: a mono result is written to this many channels
    (a near-mono stereo style's texture). ``dry``, the content at
    the output's rate, is blended back at ``1 - cfg.mix``, and the blend is
    matched like the result: every mix is at the content's loudness.
    ``command`` (``transfer`` or ``texture``) goes into the file's record.
    """
    stages = [result] if waveform is None else [result, waveform]
    with stage(timings, "reconstruct", device):
        consistency = audio_canvas.consistency(result.canvas, wave)
        audio = (left_right(wave) if mid_side else wave).cpu().numpy()
        if channels is not None and audio.shape[0] == 1:
            audio = np.repeat(audio, channels, axis=0)
        if dry is not None and cfg.mix < 1:
            # Both sides at the content's loudness before they are blended;
            # the blend is then matched as a whole (two partly unrelated
            # signals at equal loudness sum quieter: -1.5 dB at 0.5 on
            # speech x mariachi), so the mix keeps the level chosen.
            gain = loudness_gain(audio, reference, audio_canvas.sr, cfg.loudness)
            audio = cfg.mix * gain * audio + (1 - cfg.mix) * dry
        audio = match_loudness(audio, reference, audio_canvas.sr, cfg.loudness)
    out = AudioResult(
        audio=audio,
        sr=audio_canvas.sr,
        config=cfg,
        device=str(device),
        losses=[loss for done in stages for loss in done.losses],
        final_losses=stages[-1].parts,
        history=[parts for done in stages for parts in done.history],
        canvas_iterations=len(result.losses),
        spectral_convergence=consistency,
        timings=timings,
        warnings=[done.stopped_early for done in stages if done.stopped_early],
    )
    if output is not None:
        with stage(timings, "write"):
            out.output = write_audio(
                output,
                audio,
                audio_canvas.sr,
                bit_depth=cfg.bit_depth,
                record=make_record(
                    cfg, command, spectral_convergence=round(consistency, 6)
                ),
            )
    return out
