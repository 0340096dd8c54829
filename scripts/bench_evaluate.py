"""Measuring several outputs of one pair: each with ``evaluate()``, against one ``Evaluator``.

A sweep (strengths, presets, seeds) is measured output by output against
the same content and style, as ``audiost evaluate CONTENT STYLE A B C``
does. ``evaluate()`` reads and analyses the pair again for every output
(the style's analysis is cached across calls, the content's is not; a
picture pair's VGG is loaded again); an ``Evaluator`` does it once.

Two cases, each run in a fresh process per method and repeat (so no cache
carries over), timing every output's measure:

- **audio**: ``--minutes`` of speech (the LibriVox reading, repeated) as
  the content, the applause as the style;
- **images**: the hedgehog photo and the Hokusai painting with the shared
  VGG16, compared at 512 px.

The outputs are stand-ins of the content's length or size (the applause
repeated; corpus photos resized to the content's shape): what a measure
costs does not depend on how well the output was styled.

Usage::

    python scripts/bench_evaluate.py [--outputs 4] [--minutes 9] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import (
    in_fresh_process,
    machine_lines,
    markdown_table,
    seconds,
    shared_corpus,
)

SPEECH = "speech_librivox_austen_sense_and_sensibility_part2_16k_mono_s16.wav"
APPLAUSE = "sfx_applause_crowd_44k_mono_f32.wav"
PHOTO = "photo_hedgehog_in_grass_1024x731.webp"
PAINTING = "painting_hokusai_poppies_655x449.png"
STAND_INS = (
    "photo_sheep_pasture_1138x665.jpg",
    "photo_ocean_waves_960x638.jpg",
    "photo_machu_picchu_1024x576.webp",
    "painting_bruegel_the_harvesters_686x499.png",
)
VGG16 = Path(
    "models", "vgg16-hed", "vgg16_hed_features_fp16.pth"
)  # in the shared folder


def make_audio(corpus: Path, folder: Path, minutes: float, outputs: int) -> dict:
    """The long content, the style, and the outputs' stand-ins, as files."""
    import numpy as np
    import soundfile as sf

    speech, speech_rate = sf.read(corpus / SPEECH)
    applause, applause_rate = sf.read(corpus / APPLAUSE)
    content, stand_in = folder / "content.wav", folder / "output.wav"
    length = round(minutes * 60 * speech_rate)
    sf.write(content, np.resize(speech, length), speech_rate)
    sf.write(
        stand_in,
        np.resize(applause, round(minutes * 60 * applause_rate)),
        applause_rate,
    )
    return {
        "content": content,
        "style": corpus / APPLAUSE,
        "outputs": [stand_in] * outputs,
        "options": {},
    }


def make_images(corpus: Path, folder: Path, outputs: int, weights: Path) -> dict:
    """The pair, and corpus photos at the content's shape (512 px long side) as the outputs."""
    from PIL import Image

    with Image.open(corpus / PHOTO) as photo:
        width, height = photo.size
    shape = (512, round(512 * height / width))
    paths = []
    for index in range(outputs):
        path = folder / f"output{index}.png"
        with Image.open(corpus / STAND_INS[index % len(STAND_INS)]) as picture:
            picture.convert("RGB").resize(shape).save(path)
        paths.append(path)
    return {
        "content": corpus / PHOTO,
        "style": corpus / PAINTING,
        "outputs": paths,
        "options": {"net": "vgg16", "weights": str(weights)},
    }


def measure_each(case: dict, together: bool) -> list[float]:
    """Seconds each output's measures took, in a fresh process: with one Evaluator (its set-up counted in the first) or evaluate() each."""
    from audiost.evaluate import Evaluator, evaluate

    times = []
    start = time.perf_counter()
    pair = (
        Evaluator(case["content"], case["style"], **case["options"])
        if together
        else None
    )
    for output in case["outputs"]:
        if pair is not None:
            pair.measure(output)
        else:
            evaluate(case["content"], case["style"], output, **case["options"])
        times.append(time.perf_counter() - start)
        start = time.perf_counter()
    return times


def rows_for(name: str, case: dict, repeats: int) -> list[list[str]]:
    rows = []
    for label, together in (("evaluate() each", False), ("one Evaluator", True)):
        runs = [in_fresh_process(measure_each, case, together) for _ in range(repeats)]
        first = statistics.median(run[0] for run in runs)
        later = statistics.median(t for run in runs for t in run[1:])
        total = statistics.median(sum(run) for run in runs)
        rows.append([name, label, seconds(first), seconds(later), seconds(total)])
    return rows


def main(argv: Any = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outputs", type=int, default=4, help="outputs per pair")
    parser.add_argument(
        "--minutes", type=float, default=9.0, help="the audio content's length"
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    corpus = shared_corpus()
    if corpus is None:
        raise SystemExit("no shared corpus: set AUDIOST_SHARED")
    print("## Several outputs of one pair: evaluate() each against one Evaluator\n")
    print("\n".join(machine_lines("cpu", args.repeats)) + "\n")
    with tempfile.TemporaryDirectory() as folder:
        rows = rows_for(
            f"audio, {args.minutes:g} min of speech",
            make_audio(corpus, Path(folder), args.minutes, args.outputs),
            args.repeats,
        )
        weights = corpus.parent / VGG16
        if weights.is_file():
            rows += rows_for(
                "images, 512 px, VGG16",
                make_images(corpus, Path(folder), args.outputs, weights),
                args.repeats,
            )
    header = [
        "pair",
        "method",
        "first output (s)",
        "each later output (s)",
        f"{args.outputs} outputs (s)",
    ]
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
