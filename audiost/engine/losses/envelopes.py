"""Terms on a log-magnitude canvas's energy: envelopes over time and frequency (Verma & Smith 2018), band envelopes that keep words, pitch classes that keep notes."""

from __future__ import annotations

import math

import torch
from torch import nn

from ._common import EPS, LOG_FLOOR, ROWS


class EnvelopeLoss(nn.Module):
    """Energy envelope of a log-magnitude canvas (Verma & Smith 2018).

    ``axis="time"`` compares log energy per frame (the temporal envelope,
    which keeps the content's rhythm and articulation); ``axis="frequency"``
    compares log energy per bin averaged over time (the spectral envelope,
    which carries the style's timbre). The canvas is ``log1p(|STFT| / floor)``.
    """

    def __init__(
        self,
        target_canvas: torch.Tensor | None,
        axis: str,
        *,
        target: torch.Tensor | None = None,
    ):
        super().__init__()
        if axis not in ("time", "frequency"):
            raise ValueError(f"axis must be 'time' or 'frequency', got {axis!r}")
        self.axis = axis
        if target is None:
            target = self._envelope_by_rows(target_canvas.detach())
        self.register_buffer("target", target.detach())

    @classmethod
    def blend(cls, losses: list[EnvelopeLoss], shares: list[float]) -> EnvelopeLoss:
        """Match the ``shares``-weighted mean of several log envelopes (a geometric mean of their powers)."""
        blended = sum(
            share * loss.target for loss, share in zip(losses, shares, strict=True)
        )
        return cls(None, losses[0].axis, target=blended)

    def envelope(self, canvas: torch.Tensor) -> torch.Tensor:
        """``log(mean(expm1(canvas)²) + 1e-8)`` over bins (time) or frames (frequency).

        Computed in the log domain: an optimiser's trial step can reach
        log-magnitudes near 50, where ``expm1(c)²`` overflows float32 and
        the loss would be infinite instead of merely large.
        """
        magnitude = canvas.clamp_min(1e-6)
        # log(expm1(c)²) = 2 (c + log(1 - e⁻ᶜ)), finite for any c > 0.
        log_power = 2 * (magnitude + torch.log(-torch.expm1(-magnitude)))
        # canvas is (N, 1, bins, frames): average over bins for the temporal
        # envelope, over frames for the spectral one.
        dim = -2 if self.axis == "time" else -1
        log_mean = torch.logsumexp(log_power, dim=dim) - math.log(log_power.shape[dim])
        return torch.logaddexp(log_mean, torch.full_like(log_mean, LOG_FLOOR))

    def _envelope_by_rows(self, canvas: torch.Tensor) -> torch.Tensor:
        """:meth:`envelope`, a block of bins at a time where bins are independent (the spectral envelope).

        A style's canvas may be minutes long; the envelope's temporaries are
        then those of a block, not four copies of the canvas.
        """
        if self.axis == "time":
            return self.envelope(canvas)
        return torch.cat([self.envelope(rows) for rows in canvas.split(ROWS, -2)], -1)

    def forward(self, canvas: torch.Tensor) -> torch.Tensor:
        return (self.envelope(canvas) - self.target).pow(2).mean() / self.target.var(
            dim=-1
        ).mean().clamp_min(EPS)


class EnvelopeCorrelationLoss(nn.Module):
    """How little each band's envelope rises and falls with a target's: ``1 - correlation``, in short windows.

    What keeps words intelligible is when each band's level rises and
    falls over a few hundred milliseconds (the envelopes STOI correlates,
    Taal et al. 2011). A correlation is blind to a band's level and depth
    of modulation, which stay the style's to set: the style is the
    carrier, the content the modulator, as in a channel vocoder.

    Envelopes are linear magnitudes averaged over each band: they are heard
    by their loud moments. On log magnitudes the style's quiet
    fluctuations between syllables counted as much as the syllables, and
    the term barely helped (speech x mariachi, STOI 0.63 -> 0.69 at ten
    times the weight that takes it to 0.85 on linear magnitudes).

    Parameters
    ----------
    target_canvas : torch.Tensor
        ``(N, 1, bins, frames)`` log-magnitude canvas, ``log1p(|S| / floor)``.
    bands : torch.Tensor
        ``(B, bins)``: each row averages the bins of one band.
    window : int
        Frames per window; windows overlap by half.
    band_mask : torch.Tensor, optional
        ``(N or 1, B, 1)``: 1 for the bands that count.
    """

    #: A window counts where the target's envelope is within this of its loudest:
    #: silence has no envelope to follow (STOI drops such frames too).
    SILENCE_DB = 40.0

    def __init__(
        self,
        target_canvas: torch.Tensor,
        bands: torch.Tensor,
        window: int,
        band_mask: torch.Tensor | None = None,
    ):
        super().__init__()
        self.window = min(window, target_canvas.shape[-1])
        self.register_buffer("bands", bands)
        with torch.no_grad():
            envelopes = self.windows(target_canvas)
            level = envelopes.mean(dim=-1)
            loud = level >= level.amax(dim=(1, 2), keepdim=True) * 10 ** (
                -self.SILENCE_DB / 20
            )
            if band_mask is not None:
                loud = loud & band_mask.bool()
            # Scale-free from here: the envelopes' size only sets the epsilon's.
            self.register_buffer("scale", level.amax().clamp_min(EPS))
            self.register_buffer("target", self.standardised(envelopes))
        self.register_buffer("counted", loud.float())

    def windows(self, canvas: torch.Tensor) -> torch.Tensor:
        """``(N, B, windows, window)``: each band's magnitude envelope, cut into half-overlapping windows, the last one ending at the last frame."""
        # 30 is 160 dB over full scale: no canvas a result is made of comes
        # near it, and expm1 stays finite in float32 for an optimiser's trial steps.
        magnitude = torch.expm1(canvas[:, 0].clamp(0, 30))
        envelopes = torch.matmul(self.bands, magnitude)
        hop = self.window // 2
        windows = envelopes.unfold(-1, self.window, hop)
        if (envelopes.shape[-1] - self.window) % hop:
            windows = torch.cat([windows, envelopes[..., None, -self.window :]], dim=-2)
        return windows

    def standardised(self, windows: torch.Tensor) -> torch.Tensor:
        return _standardised(windows, -1, self.scale)

    def forward(self, canvas: torch.Tensor) -> torch.Tensor:
        correlation = (self.standardised(self.windows(canvas)) * self.target).sum(-1)
        return ((1 - correlation) * self.counted).sum() / self.counted.sum().clamp_min(
            1
        )


class PitchClassLoss(nn.Module):
    """Each frame's pitch classes correlated with the target's: the notes of a tune, kept.

    A frame's linear magnitudes are folded into the twelve pitch classes
    (``folding``, :func:`~audiost.media.mel.pitch_class_matrix`) and
    compared with the target's by correlation, so only which notes sound
    counts, not how loud or in which octave, and the style is free to
    voice them. Its onsets and band envelopes keep a tune's rhythm; the
    notes went with the style's statistics (a folk tune styled by frogs
    kept 0.29 of its pitch-class correlation, docs/quality.md). A frame
    counts by the spread of the target's pitch classes there, so a tune's
    notes weigh and its pauses, noise and unpitched hits do not.

    Parameters
    ----------
    target_canvas : torch.Tensor
        ``(N, 1, bins, frames)`` log-magnitude canvas, ``log1p(|S| / floor)``.
    folding : torch.Tensor
        ``(12, bins)``: each row sums the bins of one pitch class.
    """

    def __init__(self, target_canvas: torch.Tensor, folding: torch.Tensor):
        super().__init__()
        self.register_buffer("folding", folding)
        with torch.no_grad():
            classes = self.classes(target_canvas)
            spread = (classes - classes.mean(dim=1, keepdim=True)).norm(dim=1)
            # Scale-free from here: the classes' size only sets the epsilon's.
            self.register_buffer("scale", spread.amax().clamp_min(EPS))
            self.register_buffer("target", _standardised(classes, 1, self.scale))
        self.register_buffer("counted", spread / spread.sum().clamp_min(EPS))

    def classes(self, canvas: torch.Tensor) -> torch.Tensor:
        """``(N, 12, frames)``: each frame's magnitude in each pitch class."""
        # As in EnvelopeCorrelationLoss.windows: finite for trial steps.
        return torch.matmul(self.folding, torch.expm1(canvas[:, 0].clamp(0, 30)))

    def forward(self, canvas: torch.Tensor) -> torch.Tensor:
        standardised = _standardised(self.classes(canvas), 1, self.scale)
        correlation = (standardised * self.target).sum(1)
        return ((1 - correlation) * self.counted).sum()


def _standardised(values: torch.Tensor, dim: int, scale: torch.Tensor) -> torch.Tensor:
    """``values`` centred and scaled to unit length along ``dim``, so a product summed there is a correlation.

    ``scale`` is the target's size: the epsilon is a millionth of it, so a
    silent stretch divides by no zero and a loud one is not biased.
    """
    centred = values - values.mean(dim=dim, keepdim=True)
    norm = centred.pow(2).sum(dim=dim, keepdim=True)
    return centred / (norm + (1e-6 * scale) ** 2).sqrt()
