"""Short-time Fourier transform on the compute device.

torch.stft/istft are used (not librosa) so analysis, synthesis and Griffin-Lim
run on the GPU when there is one and never copy to the host inside a loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

# Analysis window of about 46 ms (2048 samples at 44.1 kHz): the usual music
# resolution, kept constant in time across sample rates so the feature network
# sees the same time scale whatever the input's rate.
_WINDOW_SECONDS = 0.046


def n_fft_for_rate(sr: int) -> int:
    """Power-of-two FFT size closest to a 46 ms window at ``sr`` (at least 64)."""
    return max(64, 2 ** round(math.log2(sr * _WINDOW_SECONDS)))


@dataclass(frozen=True)
class Stft:
    """A Hann-windowed STFT with 75 % overlap; batched over leading dimensions.

    ``circular``: the signal is one period of a loop, its length a multiple
    of ``hop``; frames centred on samples ``0, hop, ...`` read across the
    end into the start (not a reflection), and the inverse overlap-adds
    the last frames' tails onto the start, so a signal rebuilt from its
    frames has no seam where it wraps.
    """

    n_fft: int
    hop: int
    device: torch.device = torch.device("cpu")  # noqa: RUF009 (immutable)
    circular: bool = False

    @classmethod
    def for_rate(
        cls, sr: int, device: torch.device | str = "cpu", *, circular: bool = False
    ) -> Stft:
        n_fft = n_fft_for_rate(sr)
        return cls(
            n_fft=n_fft, hop=n_fft // 4, device=torch.device(device), circular=circular
        )

    def frame_count(self, length: int) -> int:
        """Frames :meth:`forward` makes of ``length`` samples."""
        if self.circular:
            return length // self.hop
        return 1 + length // self.hop

    def loop_length(self, length: int) -> int:
        """The whole number of hops nearest ``length`` samples (at least one frame's worth): a circular signal's length."""
        return max(round(length / self.hop), self.n_fft // self.hop) * self.hop

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def window(self) -> torch.Tensor:
        return _hann(self.n_fft, self.device)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """``(..., samples)`` real -> ``(..., bins, frames)`` complex."""
        if self.circular:
            length = wave.shape[-1]
            _, _, pad = self.samples_read(0, self.frame_count(length), length)
            return self.frames_of(wave, pad)
        lead = wave.shape[:-1]
        spec = torch.stft(
            wave.reshape(-1, wave.shape[-1]),
            self.n_fft,
            self.hop,
            window=self.window,
            return_complex=True,
        )
        return spec.reshape(*lead, *spec.shape[-2:])

    def frames(self, wave: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        """Frames ``start:stop`` of ``forward(wave)``, from only the samples they cover.

        A long recording is processed a section at a time; each section's
        frames are then exactly the whole signal's, edges included (torch's
        centred STFT reflects the signal at its ends, not at a section's).
        """
        if self.circular:
            first = start * self.hop - self.n_fft // 2
            last = first + (stop - start - 1) * self.hop + self.n_fft
            read = torch.arange(first, last, device=wave.device) % wave.shape[-1]
            return self.frames_of(wave[..., read], (0, 0))
        first, last, pad = self.samples_read(start, stop, wave.shape[-1])
        return self.frames_of(wave[..., first:last], pad)

    def samples_read(
        self, start: int, stop: int, length: int
    ) -> tuple[int, int, tuple[int, int]]:
        """The samples ``first:last`` of a ``length``-sample signal that frames ``start:stop`` read, and the reflection padding they need at its ends.

        So a caller can hold (or optimise) just those samples and get the
        frames from :meth:`frames_of`. A circular signal is read whole, its
        padding the other end's samples; only all its frames can be asked for.
        """
        if self.circular:
            if (start, stop) != (0, self.frame_count(length)):
                raise ValueError("a circular signal's frames are read all at once")
            return 0, length, (self.n_fft // 2, self.n_fft // 2 - self.hop)
        first = start * self.hop - self.n_fft // 2
        last = first + (stop - start - 1) * self.hop + self.n_fft
        pad = (max(-first, 0), max(last - length, 0))
        return max(first, 0), min(last, length), pad

    def frames_of(self, samples: torch.Tensor, pad: tuple[int, int]) -> torch.Tensor:
        """The frames of ``samples`` ``(..., n)`` as :meth:`samples_read` delimited them: ``(..., bins, frames)`` complex."""
        lead = samples.shape[:-1]
        section = samples.reshape(-1, 1, samples.shape[-1])
        if any(pad):
            mode = "circular" if self.circular else "reflect"
            section = torch.nn.functional.pad(section, pad, mode=mode)
        spec = torch.stft(
            section[:, 0],
            self.n_fft,
            self.hop,
            window=self.window,
            center=False,
            return_complex=True,
        )
        return spec.reshape(*lead, *spec.shape[-2:])

    def samples_of(self, spec: torch.Tensor, pad: tuple[int, int]) -> torch.Tensor:
        """Frames laid out as :meth:`frames_of` reads them -> the samples they rebuild ``(..., n)``, ``pad`` dropped.

        Divided by what the squared windows sum to inside a signal, so the
        first and last samples, which fewer of these frames cover, come back
        weaker: a correction made from a section's frames fades out at its
        edges, where frames outside it also read.
        """
        added = self._overlap_add(spec)
        added = added[..., pad[0] : added.shape[-1] - pad[1]]
        return added / self._window_sum()

    def _overlap_add(self, spec: torch.Tensor) -> torch.Tensor:
        """``(..., bins, frames)`` -> the windowed frames overlap-added, ``(..., (frames - 1) * hop + n_fft)``, not normalised."""
        # By hand: torch.istft cannot wrap the overlap-add around, and without
        # centring it refuses a Hann window (zero at its ends).
        lead = spec.shape[:-2]
        frames = spec.shape[-1]
        grains = (
            torch.fft.irfft(spec.reshape(-1, *spec.shape[-2:]), n=self.n_fft, dim=-2)
            * self.window[:, None]
        )
        spread = (frames - 1) * self.hop + self.n_fft
        added = torch.nn.functional.fold(
            grains, (1, spread), (1, self.n_fft), stride=(1, self.hop)
        )
        return added.reshape(*lead, spread)

    def _window_sum(self) -> torch.Tensor:
        # Hann at 75 % overlap: the squared windows sum to the same at every sample.
        return self.window.square().sum() / self.hop

    def inverse(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """``(..., bins, frames)`` complex -> ``(..., length)`` real."""
        if self.circular:
            return self._inverse_circular(spec, length)
        lead = spec.shape[:-2]
        wave = torch.istft(
            spec.reshape(-1, *spec.shape[-2:]),
            self.n_fft,
            self.hop,
            window=self.window,
            length=length,
        )
        return wave.reshape(*lead, length)

    def _inverse_circular(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        frames = spec.shape[-1]
        if length != frames * self.hop:
            raise ValueError(
                f"{frames} circular frames make {frames * self.hop} samples, not {length}"
            )
        lead = spec.shape[:-2]
        spread = (frames - 1) * self.hop + self.n_fft
        added = self._overlap_add(spec).reshape(-1, spread)
        # Sample i of the spread is sample (i - n_fft / 2) mod length of the loop.
        wave = torch.roll(
            torch.nn.functional.pad(added, (0, -spread % length))
            .reshape(added.shape[0], -1, length)
            .sum(dim=1),
            -(self.n_fft // 2),
            dims=-1,
        )
        return (wave / self._window_sum()).reshape(*lead, length)


_WINDOWS: dict[tuple[int, torch.device], torch.Tensor] = {}


def _hann(n: int, device: torch.device) -> torch.Tensor:
    # Cached: Griffin-Lim calls the transform hundreds of times.
    key = (n, device)
    if key not in _WINDOWS:
        _WINDOWS[key] = torch.hann_window(n, device=device)
    return _WINDOWS[key]
