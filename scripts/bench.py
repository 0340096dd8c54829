"""Benchmark audiost and print the results as Markdown tables for the README.

Three things are measured:

1. **The full pipeline** (``audiost.transfer_audio`` and ``audiost.synthesize_audio``, ``bench_pipeline.py``) on the bundled examples,
   ``examples/speech.wav`` styled by ``examples/music.wav``, for each preset
   asked for. Stage times come from ``AudioResult.timings`` (the pipeline
   times itself); wall time is taken around the whole ``transfer_audio`` call.
   Every run happens in a freshly spawned Python process, so its peak resident
   memory (``getrusage(RUSAGE_SELF).ru_maxrss``) belongs to that one transfer
   and nothing else: not to an earlier preset, not to librosa, not to this
   script. A fresh process also means each run is cold, as a CLI call is. The
   time to ``import audiost`` (mostly torch) is excluded from the wall time
   and reported once as a note.

2. **Griffin-Lim against librosa** (``bench_griffin_lim.py``) on the magnitude of real clips from the shared
   corpus (first channel, at most 10 s). Both run the same fast Griffin-Lim
   update with the same STFT (``Stft.for_rate``: n_fft, hop, periodic Hann,
   centred frames with reflect padding, which is torch.stft's default and so
   what audiost's Stft uses), the same iteration count and momentum, both from
   the same random phase. librosa is warmed up first because numba compiles on
   first call. Quality is the spectral convergence of each output against the
   target magnitude (0 is perfect). The last columns time audiost on one
   torch thread, since librosa's FFT uses one core.

3. **Image style transfer** (``audiost.transfer_image``, ``bench_image_engine.py``): a corpus photo styled
   by a corpus painting at each ``--image-sizes`` long side, for
   ``--image-iters`` L-BFGS iterations in one pass, each run in a fresh process as for
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
import os
import time
from collections.abc import Sequence

from bench_griffin_lim import bench_griffin_lim
from bench_image_engine import bench_image
from bench_pipeline import bench_pipeline
from benchlib import (
    machine_lines,
    positive_int,
    preset_list,
    set_threads,
    shared_corpus,
    size_list,
)


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
