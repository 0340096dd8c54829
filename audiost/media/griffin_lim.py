"""Phase reconstruction: fast Griffin-Lim in torch.

Written by hand rather than taken from librosa because it must run on the
compute device (librosa is NumPy-only) and torchaudio is not a dependency.
It is the accelerated variant of Perraudin, Balazs & Sondergaard (2013), the
same update librosa uses, so results are comparable iteration for iteration.
"""

from __future__ import annotations

import torch

from .stft import Stft


def griffin_lim(
    magnitude: torch.Tensor,
    stft: Stft,
    length: int,
    *,
    n_iter: int = 64,
    momentum: float = 0.99,
    start_phase: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Estimate a signal whose STFT magnitude is ``magnitude``.

    Parameters
    ----------
    magnitude : torch.Tensor, shape (..., bins, frames)
        Target STFT magnitude (non-negative).
    stft : Stft
        The transform that produced (or will analyse) the magnitude.
    length : int
        Number of output samples.
    n_iter : int
        Griffin-Lim iterations; 0 returns the initial estimate.
    momentum : float
        Fast Griffin-Lim acceleration; 0 gives the classic algorithm.
        Values above 1 can diverge.
    start_phase : torch.Tensor, optional
        Complex unit phasors to start from (e.g. the content's STFT phase,
        which avoids the smeared, hissy results of a random start). Random if
        omitted.
    generator : torch.Generator, optional
        Seeds the random initial phase.

    Returns
    -------
    torch.Tensor, shape (..., length)
    """
    if not 0 <= momentum < 2:
        raise ValueError(f"momentum must be in [0, 2), got {momentum}")
    if start_phase is None:
        angles = torch.rand(
            magnitude.shape, generator=generator, device=magnitude.device
        ) * (2 * torch.pi)
        phase = torch.polar(torch.ones_like(angles), angles)
    else:
        phase = start_phase.to(magnitude.device)
    decay = momentum / (1 + momentum)
    previous = None
    for _ in range(n_iter):
        rebuilt = stft.forward(stft.inverse(magnitude * phase, length))
        accelerated = (
            rebuilt if previous is None else torch.add(rebuilt, previous, alpha=-decay)
        )
        # sgn(z) = z / |z| (0 where z is 0), several times faster than dividing by abs().
        phase = torch.sgn(accelerated)
        previous = rebuilt
    return stft.inverse(magnitude * phase, length)


# Frames per block when measuring spectral convergence.
_BLOCK_FRAMES = 4096


def spectral_convergence(
    magnitude: torch.Tensor, wave: torch.Tensor, stft: Stft
) -> float:
    """``|| |STFT(wave)| - magnitude ||_F / ||magnitude||_F``: 0 is a perfect match.

    Measures how consistent a magnitude is with the signal actually written.
    Summed a block of frames at a time: a long recording's whole complex
    STFT would take several times the magnitude's memory.
    """
    error = energy = 0.0
    for start in range(0, magnitude.shape[-1], _BLOCK_FRAMES):
        target = magnitude[..., start : start + _BLOCK_FRAMES]
        rebuilt = stft.frames(wave, start, start + target.shape[-1]).abs()
        error += float((rebuilt - target).square().sum())
        energy += float(target.square().sum())
    return (error / max(energy, 1e-24)) ** 0.5
