"""Benchmark audiost and print the results as Markdown tables for the README.

Three things are measured:

1. **The full pipeline** (``audiost.transfer_audio``) on the bundled examples,
   ``examples/speech.wav`` styled by ``examples/music.wav``, for each preset
   asked for. Stage times come from ``AudioResult.timings`` (the pipeline
   times itself); wall time is taken around the whole ``transfer_audio`` call.
   Every run happens in a freshly spawned Python process, so its peak resident
   memory (``getrusage(RUSAGE_SELF).ru_maxrss``) belongs to that one transfer
   and nothing else: not to an earlier preset, not to librosa, not to this
   script. A fresh process also means each run is cold, as a CLI call is. The
   time to ``import audiost`` (mostly torch) is excluded from the wall time
   and reported once as a note.

2. **Griffin-Lim against librosa** on the magnitude of real clips from the shared
   corpus (first channel, at most 10 s). Both run the same fast Griffin-Lim
   update with the same STFT (``Stft.for_rate``: n_fft, hop, periodic Hann,
   centred frames with reflect padding, which is torch.stft's default and so
   what audiost's Stft uses), the same iteration count and momentum, both from
   the same random phase. librosa is warmed up first because numba compiles on
   first call. Quality is the spectral convergence of each output against the
   target magnitude (0 is perfect). The last columns time audiost on one
   torch thread, since librosa's FFT uses one core.

3. **Image style transfer** (``audiost.transfer_image``): a corpus photo styled
   by a corpus painting at each ``--image-sizes`` long side, for
   ``--image-iters`` L-BFGS iterations, each run in a fresh process as for
   audio. By default the network is VGG16 with the real pretrained weights in
   ``<shared>/models/vgg16-hed`` (the ImageNet VGG19 download is not always
   possible); ``--image-net vgg19 --image-weights random`` times VGG19, whose
   cost does not depend on its weights' values. Then the engine's overhead:
   ``optimise``'s time per objective evaluation against one bare forward and
   backward pass of the same network on the same canvas.

4. **Batch throughput** (``audiost.run_batch``): see ``scripts/bench_batch.py``;
   pairs per minute with 1 and 2 local workers and on Ray, and what reusing
   each style's targets saves.

Every time quoted is the median over ``--repeats`` runs: medians shrug off the
odd run slowed by another process. They cannot rescue a machine that stays
busy, so the load average is printed for the reader to judge. On such a
machine torch's default of one thread per core oversubscribes the cores and
can run many times slower than one thread: use ``--threads 1`` there. The
thread count used is printed with the results.

Usage::

    PYTHONPATH=. python3 scripts/bench.py [--presets fast,balanced] [--repeats 3]
                                          [--device cpu] [--threads N]
                                          [--skip-gl] [--skip-pipeline] [--skip-image]
                                          [--image-sizes 256,512] [--image-iters 10]
                                          [--image-net vgg16|vgg19] [--image-weights PATH|random]
                                          [--skip-batch] [--batch-clips 20] [--batch-preset fast]
    PYTHONPATH=. python3 scripts/bench.py --scaling [--device cpu]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

REPO = Path(__file__).resolve().parents[1]
# Benchmark this checkout, not whatever audiost happens to be installed. Only
# the standard library is imported at module level: spawned pipeline workers
# re-import this module, and anything imported here would count in their RSS.
sys.path.insert(0, str(REPO))

if TYPE_CHECKING:
    import numpy as np
    import torch

    from audiost.config import ImageConfig
    from audiost.engine import Objective
    from audiost.features.vgg import VGG
    from audiost.image_transfer import ImageStylist
    from audiost.media.stft import Stft

CONTENT = REPO / "examples" / "speech.wav"
STYLE = REPO / "examples" / "music.wav"
STAGES = ("load", "style", "encode", "optimise", "reconstruct", "write")

GL_CLIPS = (
    "music_wesnoth_traveling_minstrels_folk_44k_stereo.flac",
    "speech_librivox_austen_sense_and_sensibility_part2_16k_mono_s16.wav",
)
GL_ITERS = (32, 64)
GL_MOMENTUM = 0.99
CLIP_SECONDS = 10.0
SEED = 0

IMAGE_CONTENT = "photo_chelsea_cat_451x300.png"
IMAGE_STYLE = "painting_hokusai_poppies_655x449.png"
#: Relative to the shared folder (the corpus's parent).
VGG16_WEIGHTS = Path("models") / "vgg16-hed" / "vgg16_hed_features_fp16.pth"
IMAGE_STAGES = ("load", "prepare", "style", "optimise", "decode", "write")
BARE_PASSES = 5
OVERHEAD_TARGET = 1.15

T = TypeVar("T")


# --------------------------------------------------------------------------- machine


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_lines(device: str, repeats: int) -> list[str]:
    import librosa
    import numpy
    import torch

    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"- Machine: {cpu_model()}, {cores} cores ({usable} usable by this process), {platform.system()} {platform.machine()}",
        (
            f"- Software: Python {platform.python_version()}, torch {torch.__version__} (intra-op threads: {torch.get_num_threads()}), "
            f"numpy {numpy.__version__}, librosa {librosa.__version__}"
        ),
        f"- Device: {device}",
        f"- Load average at start (1, 5, 15 min): {load}",
        f"- Times are **medians over {repeats} repeat{'s' if repeats > 1 else ''}**, in seconds.",
    ]


# --------------------------------------------------------------------------- helpers


def median_of(runs: Sequence[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def seconds(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def set_threads(threads: int | None) -> None:
    """Pin torch's intra-op thread count (None keeps torch's default, one per core)."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def peak_rss_mb() -> float:
    """This process's peak resident set size; ru_maxrss is KiB on Linux, bytes on macOS."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


# --------------------------------------------------------------------------- pipeline


def pipeline_run(
    preset: str, device: str, output: str, threads: int | None
) -> dict[str, Any]:
    """One cold transfer in a fresh process: stage timings, wall and import time, peak RSS.

    Runs in the spawned worker; returns plain types so it pickles back.
    """
    start = time.perf_counter()
    import audiost

    imported = time.perf_counter()
    set_threads(threads)
    config = audiost.audio_preset(preset, device=device)
    result = audiost.transfer_audio(
        CONTENT, STYLE, output=output, config=config, overwrite=True
    )
    wall = time.perf_counter() - imported
    return {
        **result.timings,
        "wall": wall,
        "import": imported - start,
        "iters": config.iters,
        "peak_rss_mb": peak_rss_mb(),
        "warnings": result.warnings,
    }


def in_fresh_process(fn: Callable[..., T], *args: Any) -> T:
    with multiprocessing.get_context("spawn").Pool(processes=1) as pool:
        return pool.apply(fn, args)


def pipeline_cells(
    runs: Sequence[dict[str, Any]], stages: Sequence[str], iters: int
) -> list[str]:
    """The columns audio and image pipeline rows share: stage medians, s / iter, wall and peak RSS."""
    optimise = median_of(runs, "optimise")
    return [
        *(seconds(median_of(runs, stage)) for stage in stages),
        f"{optimise / iters:.3f}" if iters else "n/a",
        seconds(median_of(runs, "wall")),
        f"{median_of(runs, 'peak_rss_mb'):.0f}",
    ]


def bench_pipeline(
    presets: Sequence[str], device: str, repeats: int, threads: int | None
) -> None:
    import soundfile

    header = [
        "preset",
        "iters",
        *(f"{stage} (s)" for stage in STAGES),
        "s / iter",
        "wall (s)",
        "peak RSS (MB)",
    ]
    rows: list[list[str]] = []
    imports: list[float] = []
    warnings: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="audiost-bench-") as tmp:
        output = str(Path(tmp) / "out.wav")
        for preset in presets:
            runs = [
                in_fresh_process(pipeline_run, preset, device, output, threads)
                for _ in range(repeats)
            ]
            imports += [run["import"] for run in runs]
            warnings.update(f"{preset}: {w}" for run in runs for w in run["warnings"])
            iters = runs[0]["iters"]
            rows.append(
                [f"`{preset}`", str(iters), *pipeline_cells(runs, STAGES, iters)]
            )

    infos = {path: soundfile.info(path) for path in (CONTENT, STYLE)}
    clips = ", ".join(
        f"`{path.relative_to(REPO)}` ({info.duration:.1f} s, {info.samplerate} Hz)"
        for path, info in infos.items()
    )
    print("### Full pipeline: `transfer_audio` on the bundled examples\n")
    print(f"Content and style: {clips}.\n")
    print(markdown_table(header, rows))
    print(
        f"\nEach run is a fresh process (cold start, as from the CLI). Stage times are `AudioResult.timings`; "
        f"wall is the whole `transfer_audio` call; s / iter is optimise / `config.iters` (an L-BFGS iteration "
        f"may evaluate the objective more than once). Peak RSS is that process's `ru_maxrss` (MB = 2^20 bytes), "
        f"including the interpreter and torch. Not in the wall time: `import audiost` takes "
        f"{statistics.median(imports):.2f} s (median) in a fresh process."
    )
    for warning in sorted(warnings):
        print(f"\n**Warning from the pipeline** ({warning})")
    print()


# --------------------------------------------------------------------------- Griffin-Lim


@dataclass
class Clip:
    """A corpus clip's first channel as a target magnitude."""

    name: str
    sr: int
    length: int
    stft: Stft
    magnitude: torch.Tensor


def shared_corpus() -> Path | None:
    """``$AUDIOST_SHARED/corpus`` (or ``$AUDIOST_SHARED`` itself), else ``<repo>/../shared/corpus``."""
    env = os.environ.get("AUDIOST_SHARED")
    candidates = (
        [Path(env) / "corpus", Path(env)]
        if env
        else [REPO.parent / "shared" / "corpus"]
    )
    return next((path for path in candidates if path.is_dir()), None)


def load_clip(path: Path, device: torch.device) -> Clip:
    import torch

    from audiost.media.audio_io import load_audio
    from audiost.media.stft import Stft

    audio, sr = load_audio(path)
    wave = torch.from_numpy(audio[0, : int(CLIP_SECONDS * sr)].copy()).to(device)
    stft = Stft.for_rate(sr, device)
    return Clip(path.name, sr, wave.shape[-1], stft, stft.forward(wave).abs())


def timed(fn: Callable[[], T], repeats: int, device: torch.device) -> tuple[float, T]:
    """Median wall time of ``fn`` over ``repeats`` calls, and its last result."""
    import torch

    times: list[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        elif device.type == "mps":
            torch.mps.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


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
            init_phase=start_phase,
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


# --------------------------------------------------------------------------- images


@dataclass(frozen=True)
class ImageJob:
    """What an image worker needs; plain types, so it pickles into a spawned process."""

    content: Path
    style: Path
    net: str
    weights: str
    iters: int
    device: str
    threads: int | None


class EvaluationCounter:
    """Replaces an objective's ``forward`` to count its evaluations with gradients.

    Those are the ones L-BFGS asks for (each followed by a backward pass);
    ``optimise``'s final gradient-free evaluation of the loss parts is not counted.
    """

    def __init__(self, objective: Objective):
        self.count = 0
        self._forward = objective.forward
        objective.forward = self

    def __call__(
        self, canvas: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        import torch

        self.count += torch.is_grad_enabled()
        return self._forward(canvas)


def image_config(job: ImageJob, size: int) -> ImageConfig:
    from audiost.config import image_preset

    return image_preset(
        "balanced",
        iters=job.iters,
        max_size=size,
        net=job.net,
        weights=job.weights,
        device=job.device,
    )


def sized_content(path: Path, size: int) -> np.ndarray:
    """The photo with its long side at ``size`` px (Lanczos; enlarged if need be, which ``transfer_image`` never does)."""
    from audiost.media.image import fit_size, resize
    from audiost.media.image_io import load_image

    picture = load_image(path)
    return resize(picture.rgb, fit_size(picture.size, size, upscale=True))


def image_run(job: ImageJob, size: int, output: str) -> dict[str, Any]:
    """One cold ``transfer_image`` in a fresh process: stage timings, wall and import time, peak RSS."""
    start = time.perf_counter()
    import audiost

    imported = time.perf_counter()
    set_threads(job.threads)
    content = sized_content(job.content, size)
    clock = time.perf_counter()
    result = audiost.transfer_image(
        content,
        job.style,
        output=output,
        config=image_config(job, size),
        overwrite=True,
    )
    wall = time.perf_counter() - clock
    height, width = result.image.shape[:2]
    return {
        **result.timings,
        "wall": wall,
        "import": imported - start,
        "canvas": f"{width}×{height}",
        "peak_rss_mb": peak_rss_mb(),
        "warnings": result.warnings,
    }


def image_objective(
    stylist: ImageStylist, content: np.ndarray, style: Path
) -> tuple[Objective, torch.Tensor]:
    """The objective and starting canvas as ``ImageStylist.transfer`` builds them for its (single) scale."""
    import torch

    from audiost.image_transfer import (
        _build_objective,
        _initial,
        _prepare_content,
        _prepare_style,
    )
    from audiost.media.image import fit_size, to_canvas
    from audiost.media.image_io import load_image

    cfg = stylist.config
    picture, style_picture = load_image(content), load_image(style)
    size = fit_size(picture.size, cfg.max_size)
    content_image, _ = _prepare_content(cfg, picture, size)
    content_canvas = to_canvas(content_image, stylist.device)
    style_losses = [
        stylist._style_losses(
            style, style_picture, content_image, size, size, tile_side=None
        )
    ]
    objective = _build_objective(cfg, stylist.network, content_canvas, style_losses)
    generator = torch.Generator(stylist.device).manual_seed(cfg.seed)
    return objective, _initial(
        cfg.init,
        content_canvas,
        _prepare_style(cfg, style_picture, size, content_image),
        generator,
    )


def run_optimise(
    cfg: ImageConfig,
    objective: Objective,
    init: torch.Tensor,
    iters: int,
    counter: EvaluationCounter,
) -> tuple[float, int, int]:
    """One L-BFGS ``optimise`` call as ``transfer_image`` makes it: (seconds, iterations done, evaluations)."""
    from audiost.device import stage
    from audiost.engine import optimise

    before = counter.count
    timings: dict[str, float] = {}
    with stage(timings, "optimise", init.device):
        result = optimise(
            objective,
            init,
            iters=iters,
            optimizer="lbfgs",
            lr=cfg.lr,
            min_value=0.0,
            max_value=1.0,
        )
    return timings["optimise"], len(result.losses), counter.count - before


def bare_pass(network: VGG, canvas: torch.Tensor, layers: Sequence[str]) -> None:
    """The network's forward and backward pass alone, for the same layers, with nothing else."""
    leaf = canvas.detach().clone().requires_grad_(True)
    sum(out.mean() for out in network(leaf, layers).values()).backward()


def overhead_run(job: ImageJob, size: int, repeats: int) -> dict[str, Any]:
    """In a fresh process: ``optimise``'s time per iteration and per evaluation against a bare pass of its network.

    Each repeat times one ``optimise`` call of ``job.iters`` iterations, then
    the median of :data:`BARE_PASSES` bare passes, so a change in the
    machine's load hits both.
    """
    from audiost.image_transfer import ImageStylist

    set_threads(job.threads)
    stylist = ImageStylist(image_config(job, size))
    cfg, network, device = stylist.config, stylist.network, stylist.device
    objective, init = image_objective(
        stylist, sized_content(job.content, size), job.style
    )
    counter = EvaluationCounter(objective)

    def bare() -> None:
        bare_pass(network, init, objective.layers)

    run_optimise(
        cfg, objective, init, 1, counter
    )  # warm-up: allocator, kernels' first-call set-up
    bare()
    runs: list[tuple[float, int, int]] = []
    bare_times: list[float] = []
    for _ in range(repeats):
        runs.append(run_optimise(cfg, objective, init, job.iters, counter))
        bare_times.append(timed(bare, BARE_PASSES, device)[0])
    height, width = init.shape[-2:]
    return {
        "canvas": f"{width}×{height}",
        "iters": statistics.median(iters for _, iters, _ in runs),
        "evals": statistics.median(evals for _, _, evals in runs),
        "per_iter": statistics.median(elapsed / iters for elapsed, iters, _ in runs),
        "per_eval": statistics.median(elapsed / evals for elapsed, _, evals in runs),
        "bare": statistics.median(bare_times),
    }


def bench_image_pipeline(job: ImageJob, sizes: Sequence[int], repeats: int) -> None:
    header = [
        "long side",
        "canvas",
        "iters",
        *(f"{stage} (s)" for stage in IMAGE_STAGES),
        "s / iter",
        "wall (s)",
        "peak RSS (MB)",
    ]
    rows: list[list[str]] = []
    imports: list[float] = []
    warnings: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="audiost-bench-") as tmp:
        output = str(Path(tmp) / "out.png")
        for size in sizes:
            runs = [
                in_fresh_process(image_run, job, size, output) for _ in range(repeats)
            ]
            imports += [run["import"] for run in runs]
            warnings.update(f"{size} px: {w}" for run in runs for w in run["warnings"])
            rows.append(
                [
                    f"{size} px",
                    runs[0]["canvas"],
                    str(job.iters),
                    *pipeline_cells(runs, IMAGE_STAGES, job.iters),
                ]
            )
    described = (
        "random weights (seed 0)"
        if job.weights == "random"
        else f"the pretrained weights `{Path(job.weights).name}`"
    )
    print(
        f"`{job.content.name}` styled by `{job.style.name}`; `{job.net}` with {described}. The package's default network, "
        f"torchvision's ImageNet VGG19, is a download, which the machine these numbers were first taken on cannot make; "
        f"the shared `{VGG16_WEIGHTS.name}` is a real pretrained VGG16 (ImageNet, then retrained for HED edge detection). "
        f"VGG19's cost does not depend on its weights' values: `--image-net vgg19 --image-weights random` times it.\n"
    )
    print(markdown_table(header, rows))
    print(
        f"\nEach run is a fresh process, like the audio pipeline's. The photo is first resized (Lanczos) to the long side "
        f"given, outside the timings, as `transfer_image` never enlarges a picture. "
        f"The style is resized to the canvas's pixel count, as `transfer_image` always does. `balanced` preset (one scale, "
        f"L-BFGS, style layers conv1_1..conv5_1, content conv4_2) with {job.iters} iterations. Stage times are "
        f"`ImageResult.timings` (load includes reading the weights, write the PNG); wall is the whole `transfer_image` call; "
        f"s / iter is optimise / iters; peak RSS is that process's `ru_maxrss` (MB = 2^20 bytes), including the interpreter "
        f"and torch. Not in the wall time: `import audiost` takes {statistics.median(imports):.2f} s (median)."
    )
    for warning in sorted(warnings):
        print(f"\n**Warning from the pipeline** ({warning})")
    print()


def bench_overhead(job: ImageJob, sizes: Sequence[int], repeats: int) -> None:
    header = [
        "long side",
        "canvas",
        "iters",
        "evals",
        "s / iter",
        "s / eval",
        "bare fwd+bwd (s)",
        "eval / bare",
        "iter / bare",
    ]
    rows: list[list[str]] = []
    for size in sizes:
        run = in_fresh_process(overhead_run, job, size, repeats)
        rows.append(
            [
                f"{size} px",
                run["canvas"],
                f"{run['iters']:g}",
                f"{run['evals']:g}",
                f"{run['per_iter']:.3f}",
                f"{run['per_eval']:.3f}",
                f"{run['bare']:.3f}",
                f"{run['per_eval'] / run['bare']:.2f}x",
                f"{run['per_iter'] / run['bare']:.2f}x",
            ]
        )
    print("### Engine overhead: `optimise` against a bare pass of its network\n")
    print(markdown_table(header, rows))
    print(
        f"\nOne fresh process per size builds the network, objective and starting canvas as `transfer_image` does, warms "
        f"up, then per repeat times one `optimise` call of {job.iters} L-BFGS iterations and the median of {BARE_PASSES} bare "
        f"passes. evals counts the objective's evaluations with gradients (its `forward` is wrapped); L-BFGS makes one at "
        f"the start of each iteration, unless the closure answers from its memo, plus one or more in its line search. "
        f"s / eval is the `optimise` time over evals: network, losses (Gram matrices, content, total variation), "
        f"backward, L-BFGS bookkeeping, clamp and the closure's copy. A bare pass is `network(canvas, layers)` for the same layers and canvas, then the sum of the "
        f"outputs' means `.backward()`: the network's cost alone. eval / bare is the engine's overhead per evaluation "
        f"(target: at most {OVERHEAD_TARGET:.2f}x); iter / bare is what an iteration costs in bare passes.\n"
    )


def bench_image(
    net: str,
    weights: str | None,
    sizes: Sequence[int],
    iters: int,
    device: str,
    repeats: int,
    threads: int | None,
) -> None:
    """``weights`` None means the shared VGG16 weights."""
    print("### Image style transfer: `transfer_image`\n")
    corpus = shared_corpus()
    if corpus is None:
        print("Skipped: the shared corpus is missing; set AUDIOST_SHARED.\n")
        return
    job = ImageJob(
        corpus / IMAGE_CONTENT,
        corpus / IMAGE_STYLE,
        net,
        weights or str(corpus.parent / VGG16_WEIGHTS),
        iters,
        device,
        threads,
    )
    needed = [job.content, job.style] + (
        [] if job.weights == "random" else [Path(job.weights)]
    )
    missing = [str(path) for path in needed if not path.is_file()]
    if missing:
        print(
            f"Skipped: missing {', '.join(missing)}; set AUDIOST_SHARED or pass --image-weights.\n"
        )
        return
    bench_image_pipeline(job, sizes, repeats)
    bench_overhead(job, sizes, repeats)


# --------------------------------------------------------------------------- CLI


def preset_list(text: str) -> list[str]:
    from audiost.config import PRESETS

    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in PRESETS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown preset(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(PRESETS)}"
        )
    return names


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def size_list(text: str) -> list[int]:
    try:
        sizes = [int(size) for size in text.split(",") if size.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated pixel counts, got {text!r}"
        ) from None
    if not sizes or min(sizes) < 16:
        raise argparse.ArgumentTypeError("need at least one size, each at least 16 px")
    return sizes


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--presets",
        type=preset_list,
        default="fast,balanced",
        help="comma-separated presets (default: fast,balanced)",
    )
    parser.add_argument(
        "--repeats",
        type=positive_int,
        default=3,
        help="runs per measurement; medians are reported (default: 3)",
    )
    parser.add_argument(
        "--device",
        default="cpu",
        help="compute device for audiost: cpu, cuda, mps or auto (default: cpu)",
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        help="torch intra-op threads (default: torch's, one per core); 1 is far steadier when other processes compete for the cores",
    )
    parser.add_argument(
        "--skip-gl", action="store_true", help="skip the Griffin-Lim comparison"
    )
    parser.add_argument(
        "--skip-pipeline", action="store_true", help="skip the full-pipeline runs"
    )
    parser.add_argument(
        "--skip-image",
        action="store_true",
        help="skip the image transfer and engine-overhead runs",
    )
    parser.add_argument(
        "--image-sizes",
        type=size_list,
        default="256,512",
        help="comma-separated long sides in px (default: 256,512)",
    )
    parser.add_argument(
        "--image-iters",
        type=positive_int,
        default=10,
        help="L-BFGS iterations per image run (default: 10)",
    )
    parser.add_argument(
        "--image-net",
        choices=("vgg16", "vgg19"),
        default="vgg16",
        help="network for the image runs (default: vgg16)",
    )
    parser.add_argument(
        "--image-weights",
        help="a local state dict for --image-net, or random (default: the shared VGG16 weights, models/vgg16-hed)",
    )
    parser.add_argument(
        "--skip-batch", action="store_true", help="skip the batch throughput runs"
    )
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="only the scaling tables (scripts/bench_scaling.py: 10/60/600 s of audio, 256-2048 px images)",
    )
    parser.add_argument(
        "--batch-clips",
        type=positive_int,
        default=20,
        help="clips in the batch runs (default: 20)",
    )
    parser.add_argument(
        "--batch-preset",
        type=preset_list,
        default="fast",
        help="preset of the batch runs (default: fast)",
    )
    args = parser.parse_args(argv)
    if args.image_net == "vgg19" and args.image_weights is None:
        parser.error(
            "--image-net vgg19 needs --image-weights (a VGG19 state dict, or random): the shared weights are VGG16's"
        )
    return args


def main(argv: Sequence[str] | None = None) -> None:
    from audiost.device import resolve_device

    args = parse_args(argv)
    if args.scaling:
        from bench_scaling import main as bench_scaling

        bench_scaling(["--device", args.device])
        return
    set_threads(args.threads)
    start = time.perf_counter()
    print("## audiost benchmark\n")
    print(
        "\n".join(machine_lines(str(resolve_device(args.device)), args.repeats)) + "\n"
    )
    if not args.skip_pipeline:
        bench_pipeline(args.presets, args.device, args.repeats, args.threads)
    if not args.skip_gl:
        bench_griffin_lim(args.device, args.repeats)
    if not args.skip_image:
        bench_image(
            args.image_net,
            args.image_weights,
            args.image_sizes,
            args.image_iters,
            args.device,
            args.repeats,
            args.threads,
        )
    if not args.skip_batch:
        corpus = shared_corpus()
        if corpus is None:
            print(
                "_Batch runs skipped: the shared corpus was not found (set AUDIOST_SHARED)._\n"
            )
        else:
            from bench_batch import bench_batch

            bench_batch(corpus, args.batch_clips, args.batch_preset[0], args.repeats)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"_Benchmark ran in {time.perf_counter() - start:.0f} s; load average at the end: {load}._"
    )


if __name__ == "__main__":
    main()
