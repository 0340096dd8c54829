"""Image style transfer's cost: ``audiost.transfer_image`` per size, and the engine's overhead over a bare network pass.

A corpus photo styled by a corpus painting at each long side, one pass of a
few L-BFGS iterations, each run in a fresh process as for audio. By default
the network is VGG16 with the real pretrained weights in
``<shared>/models/vgg16-hed``; ``--image-net vgg19 --image-weights random``
times VGG19, whose cost does not depend on its weights' values. Then
``optimise``'s time per objective evaluation against one bare forward and
backward pass of the same network on the same canvas (target: at most
:data:`OVERHEAD_TARGET` times). Run through ``scripts/bench.py``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchlib import (
    in_fresh_process,
    markdown_table,
    peak_rss_mb,
    pipeline_cells,
    pipeline_header,
    set_threads,
    shared_corpus,
    timed,
)

if TYPE_CHECKING:
    import numpy as np
    import torch

    from audiost.config import ImageConfig
    from audiost.engine import Objective
    from audiost.features.vgg import VGG

IMAGE_CONTENT = "photo_chelsea_cat_451x300.png"
IMAGE_STYLE = "painting_hokusai_poppies_655x449.png"
#: Relative to the shared folder (the corpus's parent).
VGG16_WEIGHTS = Path("models") / "vgg16-hed" / "vgg16_hed_features_fp16.pth"
IMAGE_STAGES = ("load", "prepare", "style", "optimise", "decode", "write")
BARE_PASSES = 5
OVERHEAD_TARGET = 1.15


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

    # One pass at full size, so s / iter is the cost of an iteration at that size.
    return image_preset(
        "balanced",
        iters=job.iters,
        start_size=0,
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
    from audiost import ImageStylist

    set_threads(job.threads)
    stylist = ImageStylist(image_config(job, size))
    cfg, network, device = stylist.config, stylist.network, stylist.device
    objective, init = stylist.problem(sized_content(job.content, size), job.style)
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
    header = pipeline_header(["long side", "canvas", "iters"], IMAGE_STAGES)
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
