"""Audio media adapter: waveform <-> log-magnitude canvas <-> waveform.

The canvas is ``log1p(|STFT| / floor)`` shaped like an image batch,
``(channels, 1, bins, frames)``, so every feature network and loss works on it
unchanged. Going back, Griffin-Lim starts from the content's own phase, which
keeps transients sharp and avoids the broadband hiss a random start leaves.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from .griffin_lim import griffin_lim, spectral_convergence
from .stft import Stft

#: Frames per block where :meth:`AudioCanvas.encode_canvas` builds a canvas.
_ENCODE_BLOCK = 2048


class AudioCanvas:
    """Encoder/decoder between waveforms and canvases for one sample rate and device.

    Magnitudes are divided by ``floor`` before ``log1p``: components well above
    it are on a log (dB-like) scale, those below it on a linear one. With the
    floor at -100 dB of a full-scale sinusoid, the quiet gaps of speech or
    between notes are visible to the network, so it does not fill them with
    the low-level broadband noise that plain ``log1p(|S|)`` lets through.
    ``circular``: for signals that loop (:class:`~audiost.media.stft.Stft`).
    """

    def __init__(
        self,
        sr: int,
        device: torch.device | str = "cpu",
        *,
        floor_db: float = -100.0,
        circular: bool = False,
    ):
        self.sr = sr
        self.device = torch.device(device)
        self.stft = Stft.for_rate(sr, self.device, circular=circular)
        # A sinusoid of amplitude A peaks at A * sum(window) / 2 = A * n_fft / 4.
        self.floor = 10 ** (floor_db / 20) * self.stft.n_fft / 4

    @property
    def frames_per_second(self) -> float:
        return self.sr / self.stft.hop

    @property
    def min_samples(self) -> int:
        """The shortest signal with one full analysis frame."""
        return self.stft.n_fft

    def min_samples_at(self, sr: int) -> int:
        """:attr:`min_samples` for a signal at ``sr`` that will be resampled to this canvas's rate."""
        return math.ceil(self.min_samples * sr / self.sr)

    def encode(self, wave: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """``(channels, samples)`` -> canvas ``(channels, 1, bins, frames)`` and unit phasors ``(channels, bins, frames)``."""
        spec = self.stft.forward(
            torch.as_tensor(wave, dtype=torch.float32, device=self.device)
        )
        return self._canvas_and_phase(spec)

    def encode_canvas(
        self, wave: np.ndarray, progress: Callable[[float], None] | None = None
    ) -> torch.Tensor:
        """:meth:`encode`'s canvas alone, made a block of frames at a time.

        For a style, whose phase is never used: a ten-minute style's whole
        complex STFT and phasors took four times its canvas's memory.
        ``progress`` hears the fraction made after each block.
        """
        samples = torch.as_tensor(wave, dtype=torch.float32, device=self.device)
        frames = self.stft.frame_count(samples.shape[-1])
        canvas = torch.empty(
            (samples.shape[0], 1, self.stft.n_bins, frames), device=self.device
        )
        for start in range(0, frames, _ENCODE_BLOCK):
            stop = min(start + _ENCODE_BLOCK, frames)
            spec = self.stft.frames(samples, start, stop)
            canvas[..., start:stop] = self._canvas(spec.abs())
            if progress is not None:
                progress(stop / frames)
        return canvas

    def encode_frames(
        self, wave: torch.Tensor, start: int, stop: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Frames ``start:stop`` of :meth:`encode`'s results, from the samples they cover only."""
        return self._canvas_and_phase(self.stft.frames(wave, start, stop))

    def canvas_of(self, spec: torch.Tensor) -> torch.Tensor:
        """Complex STFT ``(channels, bins, frames)`` -> canvas ``(channels, 1, bins, frames)``; differentiable, so samples can be optimised through it."""
        return self._canvas(spec.abs())

    def _canvas(self, magnitude: torch.Tensor) -> torch.Tensor:
        return torch.log1p(magnitude / self.floor).unsqueeze(1).contiguous()

    def _canvas_and_phase(
        self, spec: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        magnitude = spec.abs()
        phase = spec / magnitude.clamp_min(1e-12)
        # Where the magnitude is zero the phase is undefined; any unit phasor will do.
        phase = torch.where(magnitude > 0, phase, torch.ones_like(phase))
        return self._canvas(magnitude), phase

    def magnitude(self, canvas: torch.Tensor) -> torch.Tensor:
        """Canvas ``(channels, 1, bins, frames)`` -> linear magnitudes ``(channels, bins, frames)``."""
        return torch.expm1(canvas.squeeze(1).clamp_min(0)) * self.floor

    def consistency(self, canvas: torch.Tensor, wave: torch.Tensor) -> float:
        """Spectral convergence of ``wave`` against the canvas it was reconstructed from.

        0 means the audio written has exactly the optimised spectrogram; a
        magnitude no signal can have (the optimiser does not know about STFT
        consistency) leaves a gap that Griffin-Lim only narrows.
        """
        return spectral_convergence(self.magnitude(canvas), wave, self.stft)

    def decode(
        self,
        canvas: torch.Tensor,
        length: int,
        *,
        n_iter: int,
        phase: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Canvas -> ``(channels, length)`` waveform by Griffin-Lim from ``phase`` (random if None)."""
        magnitude = self.magnitude(canvas)
        return griffin_lim(
            magnitude,
            self.stft,
            length,
            n_iter=n_iter,
            start_phase=phase,
            generator=generator,
        )


def left_right(wave: torch.Tensor) -> torch.Tensor:
    """Undo :func:`~.stereo.mid_side`: ``(2, samples)`` mid and side -> left and right."""
    return torch.stack([wave[0] + wave[1], wave[0] - wave[1]])
