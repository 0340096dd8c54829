"""Phase from magnitude alone: phase-gradient heap integration (PGHI).

Průša, Balazs & Søndergaard (2017), "A noniterative method for reconstruction
of phase from STFT magnitude". For a Gaussian window the STFT phase is fixed by
the log-magnitude: its gradient along time is the gradient of log|S| along
frequency (plus the bin's own frequency) and vice versa. A Hann window is close
enough to a Gaussian of the same width for the estimate to be a good start for
Griffin-Lim. The gradients are integrated outward from the loudest
coefficient, always continuing from the loudest coefficient already reached,
so errors made in quiet regions never propagate into loud ones.

The walk is inherently sequential (each step depends on which coefficient is
loudest among those reached so far), so it is written for the host, with
NumPy for the vectorisable gradient estimate and ``heapq`` for the walk,
rather than for torch or a GPU. It visits only coefficients within
``tol_db`` of the peak, at about a microsecond each.
"""

from __future__ import annotations

import heapq
import math

import numpy as np
import torch

from .stft import Stft

#: Squared time spread, in units of the window length squared, of the Gaussian
#: that best matches a Hann window (Průša et al. 2017, table 1).
HANN_LAMBDA = 0.25645


def pghi_phase(
    magnitude: torch.Tensor,
    stft: Stft,
    *,
    tol_db: float = -50.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Estimate the phase of an STFT magnitude, without iterating.

    Parameters
    ----------
    magnitude : torch.Tensor, shape (..., bins, frames)
        Non-negative magnitude in the convention of ``stft`` (periodic Hann
        window, centred frames, phase relative to each frame's start, as
        ``torch.stft``).
    stft : Stft
        The transform the magnitude belongs to; gives ``n_fft`` and ``hop``.
    tol_db : float
        Coefficients more than this far below each channel's loudest get a
        random phase: their log-magnitude gradients are mostly noise, and
        integrating through them would only spread that noise.
    generator : torch.Generator, optional
        Seeds the random phase of the quiet coefficients.

    Returns
    -------
    torch.Tensor, complex, shape of ``magnitude``
        Unit phasors on ``magnitude``'s device, ready for
        ``griffin_lim(start_phase=...)``.
    """
    if magnitude.shape[-2] != stft.n_bins:
        raise ValueError(
            f"magnitude has {magnitude.shape[-2]} bins, the STFT {stft.n_bins}"
        )
    # Drawn where griffin_lim draws its random start, so the same generator fits both.
    start = torch.rand(magnitude.shape, generator=generator, device=magnitude.device)
    angles = (2 * math.pi) * start.cpu().numpy().astype(np.float64)
    # Sequential heap walk: on the host, whatever the device (module docstring).
    mags = magnitude.detach().to("cpu", torch.float64).numpy()
    flat_mags = mags.reshape(-1, *mags.shape[-2:])
    flat_angles = angles.reshape(flat_mags.shape)
    for mag, phase in zip(flat_mags, flat_angles, strict=True):
        _integrate(mag, phase, stft.n_fft, stft.hop, tol_db)
    return torch.from_numpy(np.exp(1j * angles).astype(np.complex64)).to(
        magnitude.device
    )


def phase_gradients(
    magnitude: np.ndarray, n_fft: int, hop: int
) -> tuple[np.ndarray, np.ndarray]:
    """Phase increments per frame and per bin estimated from one ``(bins, frames)`` magnitude.

    With a Gaussian window ``exp(-pi t^2 / lam)`` and the phase taken
    relative to the window's centre, d(phase)/dt = 2 pi f + (1/lam) d(log|S|)/df
    and d(phase)/df = -lam d(log|S|)/dt (t in samples, f in cycles per
    sample). ``torch.stft`` measures phase from the frame's start, half a
    window before its centre, which turns bin k by -pi k: another pi (modulo
    2 pi) per bin.
    """
    n_bins = magnitude.shape[0]
    peak = magnitude.max()
    # A floor far below any tolerance keeps log() finite where the magnitude is 0.
    log_mag = np.log(np.maximum(magnitude, max(peak, 1e-30) * 1e-10))
    lam = HANN_LAMBDA * n_fft**2
    d_bin = _gradient(log_mag, axis=0)
    d_frame = _gradient(log_mag, axis=1)
    bins = np.arange(n_bins, dtype=np.float64)[:, None]
    per_frame = 2 * np.pi * hop * bins / n_fft + (hop * n_fft / lam) * d_bin
    per_bin = -(lam / (hop * n_fft)) * d_frame + np.pi
    return per_frame, per_bin


def _gradient(values: np.ndarray, axis: int) -> np.ndarray:
    # Centred differences, one-sided at the edges; a single sample has no slope.
    if values.shape[axis] < 2:
        return np.zeros_like(values)
    return np.gradient(values, axis=axis)


def _integrate(
    magnitude: np.ndarray, phase: np.ndarray, n_fft: int, hop: int, tol_db: float
) -> None:
    """Heap integration of the phase gradients into ``phase`` (bins, frames), in place.

    Coefficients below the tolerance keep the phase they came in with.
    """
    n_bins, n_frames = magnitude.shape
    peak = float(magnitude.max())
    if not peak > 0:
        return
    per_frame, per_bin = phase_gradients(magnitude, n_fft, hop)
    significant = magnitude > peak * 10 ** (tol_db / 20)
    # Seeds for each new island of significant coefficients: loudest first.
    order = np.flatnonzero(significant)
    order = order[np.argsort(-magnitude.ravel()[order], kind="stable")].tolist()
    # Plain lists: indexing them from Python is far faster than NumPy scalars.
    mags = magnitude.ravel().tolist()
    d_frame = per_frame.ravel().tolist()
    d_bin = per_bin.ravel().tolist()
    out = phase.ravel().tolist()
    todo = bytearray(significant.ravel().tobytes())
    last = n_frames - 1
    size = n_bins * n_frames
    heap: list[tuple[float, int]] = []
    push, pop = heapq.heappush, heapq.heappop
    for seed in order:
        if not todo[seed]:
            continue
        todo[seed] = 0
        heap.append((-mags[seed], seed))
        while heap:
            _, i = pop(heap)
            here = out[i]
            frame = i % n_frames
            if frame < last and todo[i + 1]:
                j = i + 1
                todo[j] = 0
                out[j] = here + 0.5 * (d_frame[i] + d_frame[j])
                push(heap, (-mags[j], j))
            if frame > 0 and todo[i - 1]:
                j = i - 1
                todo[j] = 0
                out[j] = here - 0.5 * (d_frame[i] + d_frame[j])
                push(heap, (-mags[j], j))
            j = i + n_frames
            if j < size and todo[j]:
                todo[j] = 0
                out[j] = here + 0.5 * (d_bin[i] + d_bin[j])
                push(heap, (-mags[j], j))
            j = i - n_frames
            if j >= 0 and todo[j]:
                todo[j] = 0
                out[j] = here - 0.5 * (d_bin[i] + d_bin[j])
                push(heap, (-mags[j], j))
    phase[...] = np.asarray(out).reshape(phase.shape)
