"""Griffin-Lim against librosa on the magnitude of real corpus clips: time and spectral convergence.

Both run the same fast Griffin-Lim update with the same STFT (``Stft.for_rate``:
n_fft, hop, periodic Hann, centred frames with reflect padding), the same
iteration count and momentum, from the same random phase. librosa is warmed
up first because numba compiles on first call. The last columns time audiost
on one torch thread, since librosa's FFT uses one core. Run through
``scripts/bench.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchlib import markdown_table, seconds, shared_corpus, timed

if TYPE_CHECKING:
    import numpy as np
    import torch

    from audiost.media.stft import Stft

GL_CLIPS = (
    "music_wesnoth_traveling_minstrels_folk_44k_stereo.flac",
    "speech_librivox_austen_sense_and_sensibility_part2_16k_mono_s16.wav",
)
GL_ITERS = (32, 64)
GL_MOMENTUM = 0.99
CLIP_SECONDS = 10.0
SEED = 0


@dataclass
class Clip:
    """A corpus clip's first channel as a target magnitude."""

    name: str
    sr: int
    length: int
    stft: Stft
    magnitude: torch.Tensor


def load_clip(path: Path, device: torch.device) -> Clip:
    import torch

    from audiost.media.audio_io import load_audio
    from audiost.media.stft import Stft

    audio, sr = load_audio(path)
    wave = torch.from_numpy(audio[0, : int(CLIP_SECONDS * sr)].copy()).to(device)
    stft = Stft.for_rate(sr, device)
    return Clip(path.name, sr, wave.shape[-1], stft, stft.forward(wave).abs())


def gl_row(clip: Clip, n_iter: int, repeats: int) -> list[str]:
    import librosa
    import numpy as np
    import torch

    from audiost.media.griffin_lim import griffin_lim, spectral_convergence

    device = clip.stft.device
    # The same random start for both, so the spectral convergence compares
    # the algorithms and not two draws of the initial phase: these are the
    # phasors librosa draws from ``random_state=SEED``.
    target = clip.magnitude.cpu().numpy()
    angles = 2 * np.pi * np.random.RandomState(SEED).random_sample(size=target.shape)
    start_phase = torch.from_numpy(np.exp(1j * angles).astype(np.complex64)).to(device)

    def ours() -> torch.Tensor:
        return griffin_lim(
            clip.magnitude,
            clip.stft,
            clip.length,
            n_iter=n_iter,
            momentum=GL_MOMENTUM,
            start_phase=start_phase,
        )

    def theirs() -> np.ndarray:
        return librosa.griffinlim(
            target,
            n_iter=n_iter,
            hop_length=clip.stft.hop,
            win_length=clip.stft.n_fft,
            n_fft=clip.stft.n_fft,
            window="hann",
            center=True,
            pad_mode="reflect",
            length=clip.length,
            momentum=GL_MOMENTUM,
            init="random",
            random_state=SEED,
        )

    t_ours, w_ours = timed(ours, repeats, device)
    t_theirs, w_theirs = timed(theirs, repeats, device)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        t_single, _ = timed(ours, repeats, device)
    finally:
        torch.set_num_threads(threads)
    sc_ours, sc_theirs = (
        spectral_convergence(clip.magnitude, wave, clip.stft)
        for wave in (w_ours, torch.from_numpy(w_theirs).to(device))
    )
    return [
        f"`{clip.name}` ({clip.length / clip.sr:.1f} s)",
        f"{clip.sr} / {clip.stft.n_fft} / {clip.stft.hop}",
        str(n_iter),
        seconds(t_ours),
        seconds(t_theirs),
        f"{t_theirs / t_ours:.2f}x",
        f"{sc_ours:.4f}",
        f"{sc_theirs:.4f}",
        seconds(t_single),
        f"{t_theirs / t_single:.2f}x",
    ]


def warm_up(clip: Clip) -> None:
    """First calls pay numba compilation (librosa) and FFT plan set-up (torch); keep them out of the timings."""
    import librosa

    from audiost.media.griffin_lim import griffin_lim

    librosa.griffinlim(
        clip.magnitude.cpu().numpy(),
        n_iter=2,
        hop_length=clip.stft.hop,
        n_fft=clip.stft.n_fft,
        length=clip.length,
        pad_mode="reflect",
    )
    griffin_lim(clip.magnitude, clip.stft, clip.length, n_iter=2)


def bench_griffin_lim(device_name: str, repeats: int) -> None:
    import librosa
    import torch

    from audiost.device import resolve_device

    print("### Griffin-Lim: audiost vs librosa\n")
    corpus = shared_corpus()
    missing = [
        name for name in GL_CLIPS if corpus is None or not (corpus / name).is_file()
    ]
    if missing:
        print(
            f"Skipped: the shared corpus clips are missing ({', '.join(missing)}); set AUDIOST_SHARED.\n"
        )
        return
    device = resolve_device(device_name)
    header = [
        "clip (first channel)",
        "sr / n_fft / hop",
        "iters",
        "audiost (s)",
        "librosa (s)",
        "librosa / audiost",
        "SC audiost",
        "SC librosa",
        "audiost, 1 thread (s)",
        "librosa / audiost, 1 thread",
    ]
    rows: list[list[str]] = []
    for name in GL_CLIPS:
        clip = load_clip(corpus / name, device)
        warm_up(clip)
        rows += [gl_row(clip, n_iter, repeats) for n_iter in GL_ITERS]
    print(markdown_table(header, rows))
    print(
        f"\nFast Griffin-Lim, momentum {GL_MOMENTUM}, both from the same random phase (seed {SEED}); audiost on `{device}`, "
        f"librosa {librosa.__version__} on the CPU. torch threads: {torch.get_num_threads()}; librosa's NumPy FFT runs on one. librosa / audiost above 1 means audiost is faster. "
        "SC is spectral convergence ‖|STFT(y)| − S‖ / ‖S‖ (lower is better).\n"
    )
