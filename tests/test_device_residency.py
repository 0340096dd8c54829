"""The optimisation and reconstruction loops stay on the compute device.

On a GPU every read of a tensor's value on the host (``.item()``,
``float()``, ``bool()``, ``.tolist()``, ``torch.equal``, ``.cpu()``) waits
until the device has finished its queue. These tests count such reads on
the CPU, where the same code runs, so a read added inside a loop fails here
and not only on a GPU. The tests at the end run the pipelines on CUDA
against the CPU; they are skipped where there is no GPU.
"""

from __future__ import annotations

import sys
import time
from collections import Counter

import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode

from audiost import audio_preset, transfer_audio, transfer_image
from audiost.device import stage
from audiost.engine import optimise
from audiost.media.griffin_lim import griffin_lim
from audiost.media.stft import Stft

from .conftest import CORPUS, HED, clip, needs_hed, small_objective

_HOST_READS = {
    "item",
    "tolist",
    "numpy",
    "cpu",
    "equal",
    "__bool__",
    "__float__",
    "__int__",
    "__index__",
}

needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA GPU in this torch build"
)


class HostReads(TorchFunctionMode):
    """Counts the calls, by name, that bring a tensor's value to the host.

    Reads made by ``torch.optim`` itself are left out: Adam reads its step
    count, which it keeps on the CPU even for a GPU's parameters, so that
    read costs no wait. (L-BFGS's line search does read the loss from the
    device, by design; it is not counted here either.)
    """

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if name in _HOST_READS and not caller.startswith("torch.optim"):
            self.counts[name] += 1
        return func(*args, **(kwargs or {}))


def _reads(run) -> Counter[str]:
    with HostReads() as reads:
        run()
    return reads.counts


def test_griffin_lim_reads_nothing_on_the_host() -> None:
    stft = Stft.for_rate(16000)
    magnitude = torch.rand(
        2, stft.n_bins, 40, generator=torch.Generator().manual_seed(0)
    )
    for n_iter in (2, 12):
        assert not _reads(
            lambda n=n_iter: griffin_lim(magnitude, stft, 39 * stft.hop, n_iter=n)
        )


def test_adam_reads_the_host_once_per_iteration() -> None:
    # The one read is the loss and every term together, for progress and the
    # NaN check; the rest are before and after the loop.
    def run(iters: int) -> Counter[str]:
        objective, content = small_objective()
        return _reads(
            lambda: optimise(
                objective, content, iters=iters, optimizer="adam", min_value=0.0
            )
        )

    extra = run(9) - run(3)
    assert extra == Counter({"tolist": 6}), extra


def test_stages_add_up_and_a_failed_one_counts_nothing() -> None:
    timings: dict[str, float] = {}
    for _ in range(2):
        with stage(timings, "optimise", torch.device("cpu")):
            time.sleep(0.01)
    assert 0.02 <= timings["optimise"] < 1
    with pytest.raises(ValueError), stage(timings, "write"):
        raise ValueError
    assert "write" not in timings


@needs_cuda
def test_audio_transfer_on_cuda_matches_the_cpu() -> None:
    content, sr = clip("speech_pocketsphinx_forever_16k_mono.flac", 2.0, 0.5)
    style, style_sr = clip("music_sonicpi_tabla_loop_44k_stereo.flac", 2.0)
    config = audio_preset("fast", iters=10, gl_iters=16)
    cpu, gpu = (
        transfer_audio(
            content, style, content_sr=sr, style_sr=style_sr, config=config, device=d
        )
        for d in ("cpu", "cuda")
    )
    assert gpu.device.startswith("cuda")
    assert np.isfinite(gpu.audio).all() and gpu.audio.shape == cpu.audio.shape
    # TF32 convolutions and another summation order: close, not equal.
    assert gpu.final_losses["total"] == pytest.approx(
        cpu.final_losses["total"], rel=0.05
    )
    assert gpu.spectral_convergence == pytest.approx(cpu.spectral_convergence, abs=0.05)


@needs_cuda
def test_griffin_lim_on_cuda_matches_the_cpu() -> None:
    audio, sr = clip("music_wesnoth_traveling_minstrels_folk_44k_stereo.flac", 2.0)
    wave = torch.from_numpy(audio[0])
    results = []
    for device in ("cpu", "cuda"):
        stft = Stft.for_rate(sr, device)
        magnitude = stft.forward(wave.to(device)).abs()
        phase = torch.ones_like(magnitude, dtype=torch.complex64)
        results.append(
            griffin_lim(magnitude, stft, len(wave), n_iter=16, start_phase=phase).cpu()
        )
    torch.testing.assert_close(results[1], results[0], atol=1e-3, rtol=1e-3)


@needs_cuda
@needs_hed
def test_image_transfer_on_cuda_matches_the_cpu() -> None:
    settings = {"net": "vgg16", "weights": HED, "max_size": 64, "iters": 5}
    cat = CORPUS / "photo_chelsea_cat_451x300.png"
    painting = CORPUS / "painting_hokusai_poppies_655x449.png"
    cpu = transfer_image(cat, painting, device="cpu", **settings)
    gpu = transfer_image(cat, painting, device="cuda", **settings)
    assert gpu.final_losses["total"] == pytest.approx(
        cpu.final_losses["total"], rel=0.05
    )
