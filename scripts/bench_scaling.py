"""Scaling benchmark, run by ``scripts/bench.py --scaling`` (or alone): cost against size of work.

Audio: a stereo 44.1 kHz content of 10 s, 60 s and 600 s (corpus music
recordings joined end to end until long enough) styled by a tabla loop with
the ``fast`` preset; contents over ``section_seconds`` are styled in
sections. Images: a corpus photo at 256 to 2048 px (long side) styled by a
painting, VGG19 with random weights (the cost does not depend on the
weights' values), a fixed number of L-BFGS iterations; sizes above a
``--tile-sizes`` entry run again with feature passes in tiles of that size.

Every case runs in a fresh process: wall time is the whole transfer
(load, style, optimise, reconstruct, write), peak memory that process's
``ru_maxrss`` including the interpreter and torch (about 0.25 GB). Time per
unit of work is per second of audio or per megapixel; flat means cost grows
no faster than the work.

Usage::

    PYTHONPATH=. python3 scripts/bench_scaling.py [--durations 10,60,600] [--image-sizes 256,512,1024,2048]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MUSIC = (
    "music_wesnoth_traveling_minstrels_folk_44k_stereo.flac",
    "music_frozen_bubble_intro_theme_44k_stereo.ogg",
    "music_djembe_accompaniment_africa_44k_stereo.ogg",
    "sfx_frogs_pond_thunderstorm_44k_stereo.ogg",
    "sfx_vinyl_record_hiss_44k_stereo.flac",
)
STYLE = "music_sonicpi_tabla_loop_44k_stereo.flac"
PHOTO = "photo_sheep_pasture_1138x665.jpg"
PAINTING = "painting_hokusai_poppies_655x449.png"
RATE = 44100

_RUN = r"""
import json, sys, time
kind, content, style, output, settings = json.loads(sys.argv[1])
start = time.perf_counter()
if kind == "audio":
    from audiost import audio_preset, transfer_audio
    result = transfer_audio(content, style, output, config=audio_preset("fast", **settings), overwrite=True)
else:
    from audiost import image_preset, transfer_image
    result = transfer_image(content, style, output, config=image_preset("balanced", **settings), overwrite=True)
wall = time.perf_counter() - start
sys.path.insert(0, "scripts")
from benchlib import peak_rss_mb
peak = peak_rss_mb() * 2**20
print(json.dumps({"wall": wall, "peak": peak}))
"""


def make_audio(corpus: Path, folder: Path, seconds: int) -> Path:
    """A stereo 44.1 kHz WAV of ``seconds``: the corpus recordings joined, repeated as needed."""
    import librosa
    import numpy as np
    import soundfile as sf

    pieces = []
    for name in MUSIC:
        audio, _ = librosa.load(corpus / name, sr=RATE, mono=False)
        pieces.append(
            np.atleast_2d(audio)[:2] if np.ndim(audio) > 1 else np.stack([audio] * 2)
        )
    joined = np.concatenate(pieces, axis=1)
    reps = -(-seconds * RATE // joined.shape[1])
    audio = np.tile(joined, (1, reps))[:, : seconds * RATE]
    path = folder / f"content_{seconds}s.wav"
    sf.write(path, audio.T, RATE, subtype="PCM_16")
    return path


def make_image(
    corpus: Path, folder: Path, name: str, size: int
) -> tuple[Path, tuple[int, int]]:
    """A corpus picture resized so its long side is ``size`` (upscaled where needed): its file and (width, height)."""
    from PIL import Image

    with Image.open(corpus / name) as picture:
        scale = size / max(picture.size)
        resized = picture.convert("RGB").resize(
            (round(picture.width * scale), round(picture.height * scale)),
            Image.Resampling.LANCZOS,
        )
    path = folder / f"{Path(name).stem}_{size}.png"
    resized.save(path)
    return path, resized.size


def run(kind: str, content: Path, style: Path, output: Path, settings: dict) -> dict:
    payload = json.dumps([kind, str(content), str(style), str(output), settings])
    done = subprocess.run(
        [sys.executable, "-c", _RUN, payload],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def number_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--durations", type=number_list, default="10,60,600")
    parser.add_argument("--image-sizes", type=number_list, default="256,512,1024,2048")
    parser.add_argument("--image-iters", type=int, default=5)
    parser.add_argument(
        "--tile-sizes",
        type=number_list,
        default="0,1024",
        help="image tile sizes to run each size with (0: tiles only if it would not fit); sizes no larger than a tile run once",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--corpus",
        type=Path,
        help="the shared corpus folder  [default: $AUDIOST_SHARED or ../shared]",
    )
    args = parser.parse_args(argv)
    from benchlib import shared_corpus

    corpus = args.corpus or shared_corpus()
    if corpus is None:
        parser.error(
            "the shared corpus was not found; pass --corpus or set AUDIOST_SHARED"
        )
    with tempfile.TemporaryDirectory(prefix="audiost-scaling-") as tmp:
        folder = Path(tmp)
        style = folder / "style.wav"
        import librosa
        import soundfile as sf

        audio, _ = librosa.load(corpus / STYLE, sr=RATE, mono=False)
        sf.write(style, audio.T, RATE)
        print(
            "| audio (stereo, 44.1 kHz, fast) | wall (s) | s per s of audio | peak memory (GB) |"
        )
        print("|---|---:|---:|---:|")
        for seconds in args.durations:
            content = make_audio(corpus, folder, seconds)
            figures = run(
                "audio", content, style, folder / "out.wav", {"device": args.device}
            )
            print(
                f"| {seconds} s | {figures['wall']:.1f} | {figures['wall'] / seconds:.3f} | {figures['peak'] / 1e9:.2f} |",
                flush=True,
            )
        from audiost.engine.tiles import plan_tiles

        painting, _ = make_image(corpus, folder, PAINTING, 512)
        print(
            f"\n| image (VGG19, {args.image_iters} L-BFGS iterations) | tiles | wall (s) | s per megapixel | peak memory (GB) |"
        )
        print("|---|---|---:|---:|---:|")
        for size in args.image_sizes:
            photo, (width, height) = make_image(corpus, folder, PHOTO, size)
            megapixels = width * height / 1e6
            tile_sizes = [t for t in args.tile_sizes if t == 0 or t < size] or [0]
            for tile in tile_sizes:
                settings = {
                    "max_size": size,
                    "iters": args.image_iters,
                    "net": "vgg19",
                    "weights": "random",
                    "device": args.device,
                    "tile_size": tile,
                }
                figures = run("image", photo, painting, folder / "out.png", settings)
                tiles = (
                    f"{len(plan_tiles(height, width, tile))} of <= {tile} px"
                    if tile
                    else "auto (whole if it fits)"
                )
                print(
                    f"| {size} px ({megapixels:.2f} MP) | {tiles} | {figures['wall']:.1f} | {figures['wall'] / megapixels:.1f} | {figures['peak'] / 1e9:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
