"""Memory benchmark: the pre-run estimate (``audiost.limits``) against the measured peak.

Each case runs one transfer in a fresh Python process on the CPU and reports
the process's peak resident memory (``ru_maxrss``) minus its resident memory
just before the transfer (torch imported, inputs in memory): what the run
itself added, which is what the estimate models. L-BFGS keeps a history of
20 steps, so runs go 25 iterations to reach their steady peak.

Audio: a corpus recording looped to length, at 44.1 kHz. Images: a corpus
photo resized to a square, VGG with random weights (the memory does not
depend on the weights' values).

Usage::

    PYTHONPATH=. python3 scripts/bench_memory.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

AUDIO_CONTENT = "music_wesnoth_traveling_minstrels_folk_44k_stereo.flac"
AUDIO_STYLE = "music_sonicpi_tabla_loop_44k_stereo.flac"
# Looped into the long styles: a wide stereo recording (the tabla loop is
# mono to a listener, styled as one channel where the estimate, which
# reads only the header, counts two).
LONG_STYLE = "music_frozen_bubble_intro_theme_44k_stereo.ogg"
PHOTO = "photo_sheep_pasture_1138x665.jpg"
PAINTING = "painting_hokusai_poppies_655x449.png"

# (label, kind, size, channels, settings)
CASES = [
    ("audio 10 s mono, balanced", "audio", 10, 1, {"preset": "balanced"}),
    ("audio 25 s mono, balanced", "audio", 25, 1, {"preset": "balanced"}),
    ("audio 20 s stereo, balanced", "audio", 20, 2, {"preset": "balanced"}),
    ("audio 25 s mono, fast", "audio", 25, 1, {"preset": "fast"}),
    ("audio 20 s mono, best", "audio", 20, 1, {"preset": "best"}),
    (
        "audio 25 s mono, balanced, adam",
        "audio",
        25,
        1,
        {"preset": "balanced", "optimizer": "adam"},
    ),
    ("audio 120 s stereo, fast (4 sections)", "audio", 120, 2, {"preset": "fast"}),
    # A long style file, decoded and analysed in the run: 10 s of content.
    (
        "audio 10 s mono, 10 min stereo style",
        "audio",
        10,
        1,
        {"preset": "balanced", "style_seconds": 600},
    ),
    (
        "audio 10 s stereo, 10 min stereo style",
        "audio",
        10,
        2,
        {"preset": "balanced", "style_seconds": 600},
    ),
    (
        "audio 10 s stereo, 30 min stereo style, fast",
        "audio",
        10,
        2,
        {"preset": "fast", "style_seconds": 1800},
    ),
    ("image 256 px, vgg19", "image", 256, 3, {}),
    ("image 512 px, vgg19", "image", 512, 3, {}),
    ("image 512 px, vgg19, adam", "image", 512, 3, {"optimizer": "adam"}),
    ("image 512 px, vgg16", "image", 512, 3, {"net": "vgg16"}),
    ("image 768 px, vgg19", "image", 768, 3, {}),
]
QUICK = {"audio 10 s mono, balanced", "image 256 px, vgg19"}

_PROBE = r"""
import json, resource, sys
import numpy as np, torch
from audiost.config import audio_preset, image_preset
from audiost.memory import estimate_audio_memory, estimate_image_memory

kind, size, channels, settings, corpus, iters = json.loads(sys.argv[1])
torch.set_num_threads(2)

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()

if kind == "audio":
    import librosa
    from audiost import transfer_audio
    sr = 44100
    preset = settings.pop("preset")
    cfg = audio_preset(preset, iters=iters, gl_iters=4, device="cpu")
    base, _ = librosa.load(corpus + "/" + sys.argv[2], sr=sr, mono=False, duration=30)
    base = np.atleast_2d(base)
    content = np.resize(base[:channels] if base.shape[0] >= channels else np.repeat(base, channels, 0), (channels, size * sr))
    style_seconds = settings.pop("style_seconds", None)
    cfg = cfg.replace(**settings)
    if style_seconds is None:
        style, _ = librosa.load(corpus + "/" + sys.argv[3], sr=sr, mono=True, duration=5)
        styles = []
    else:  # a file, read by the transfer: the stereo style looped to length
        import soundfile, tempfile
        looped, _ = librosa.load(corpus + "/" + sys.argv[3], sr=sr, mono=False)
        style = tempfile.mkdtemp() + "/style.flac"
        with soundfile.SoundFile(style, "w", sr, looped.shape[0]) as f:
            for _ in range(0, style_seconds * sr, looped.shape[1]):
                f.write(looped.T)
        styles = [(soundfile.info(style).duration, looped.shape[0], sr)]
        del looped
    estimate = estimate_audio_memory(cfg, channels, content.shape[1], sr, styles)
    before = rss()
    transfer_audio(content.astype(np.float32), style, content_sr=sr, style_sr=sr, config=cfg)
else:
    from PIL import Image
    from audiost import transfer_image
    cfg = image_preset("balanced", iters=iters, max_size=size, weights="random", device="cpu", **settings)
    content = np.asarray(Image.open(corpus + "/" + sys.argv[2]).convert("RGB").resize((size, size)))
    style = np.asarray(Image.open(corpus + "/" + sys.argv[3]).convert("RGB").resize((size, size)))
    estimate = estimate_image_memory(cfg, size, size, [size * size])
    before = rss()
    transfer_image(content, style, config=cfg)
sys.path.insert(0, "scripts")
from benchlib import peak_rss_mb
peak = peak_rss_mb() * 2**20
print(json.dumps({"estimate": estimate, "measured": peak - before}))
"""


def measure(
    kind: str, size: int, channels: int, settings: dict, corpus: Path, iters: int
) -> dict:
    """Run one case in a fresh process; its estimate and measured peak in bytes."""
    inputs = (AUDIO_CONTENT, AUDIO_STYLE) if kind == "audio" else (PHOTO, PAINTING)
    if "style_seconds" in settings:
        inputs = (AUDIO_CONTENT, LONG_STYLE)
    payload = json.dumps([kind, size, channels, dict(settings), str(corpus), iters])
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, payload, *inputs],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="two small cases only")
    parser.add_argument("--iters", type=int, default=25)
    parser.add_argument(
        "--corpus",
        type=Path,
        help="the shared corpus folder  [default: $AUDIOST_SHARED or ../shared]",
    )
    args = parser.parse_args()
    from benchlib import shared_corpus

    corpus = args.corpus or shared_corpus()
    if corpus is None:
        parser.error(
            "the shared corpus was not found; pass --corpus or set AUDIOST_SHARED"
        )
    cases = [c for c in CASES if not args.quick or c[0] in QUICK]
    print("| case | estimate (MB) | measured peak (MB) | estimate / measured |")
    print("|---|---:|---:|---:|")
    ratios = []
    for label, kind, size, channels, settings in cases:
        figures = measure(kind, size, channels, settings, corpus, args.iters)
        ratio = figures["estimate"] / figures["measured"]
        ratios.append(ratio)
        print(
            f"| {label} | {figures['estimate'] / 1e6:.0f} | {figures['measured'] / 1e6:.0f} | {ratio:.2f} |",
            flush=True,
        )
    print(
        f"\nestimate / measured: median {statistics.median(ratios):.2f}, "
        f"range {min(ratios):.2f}-{max(ratios):.2f} over {len(ratios)} cases"
    )


if __name__ == "__main__":
    main()
