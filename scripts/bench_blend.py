"""Several audio styles in one output: blended statistics and a morph, against what a user would otherwise do in a DAW.

For each row (a content and two styles, from ``shared/corpus``) the content
is styled with each style alone, with both blended (``style_weights``
equal) and with a morph from the first to the second. The comparison is
the DAW way: the two single-style results mixed at equal loudness (for the
blend) or crossfaded over the content's duration (for the morph).

Measures (``audiost.metrics``, at the analysis rate, mono): ``gain A`` /
``gain B``, the share of the content's log-mel distance to style A / B
that the output closed (1 = the style's statistics; a blend should close
a good part of both); for morphs, toward A over the first third and toward
B over the last; ``kept``, the onset correlation with the content.

Usage::

    python scripts/bench_blend.py [--seconds 6] [--rows 0,2] [--threads 1] [--picture docs/images/several_styles.png]

``--picture`` draws the first row's log-mel spectrograms: content, both
styles, the blend and the morph.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from benchlib import cpu_model, markdown_table, set_threads, shared_corpus

#: content, style A, style B
ROWS = [
    (
        "speech_librivox_austen_sense_and_sensibility_part2_16k_mono_s16.wav",
        "sfx_night_crickets_44k_mono.ogg",
        "music_djembe_accompaniment_africa_44k_stereo.ogg",
    ),
    (
        "speech_alsa_rear_side_prompts_48k_mono_s16.wav",
        "music_mariachi_mexico_44k_mono.mp3",
        "sfx_frogs_pond_thunderstorm_44k_stereo.ogg",
    ),
    (
        "music_wesnoth_traveling_minstrels_folk_44k_stereo.flac",
        "music_didgeridoo_australia_44k_mono.ogg",
        "sfx_canal_lock_water_filling_44k_mono_s16.wav",
    ),
    (
        "speech_hedgewars_singer_voice_lines_44k_stereo_f32.wav",
        "music_turkish_song_safiye_ayla_44k_mono_s24.wav",
        "sfx_ship_creaking_waves_44k_mono.ogg",
    ),
]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rows", help="indices into the table, e.g. 0,2")
    parser.add_argument("--preset", default="balanced")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--picture", type=Path, help="spectrograms of the first row")
    args = parser.parse_args(argv)
    set_threads(args.threads)

    from audiost import audio_preset

    corpus = shared_corpus()
    if corpus is None:
        raise SystemExit(
            "bench_blend: the shared corpus was not found; set AUDIOST_SHARED"
        )
    chosen = [int(i) for i in args.rows.split(",")] if args.rows else range(len(ROWS))
    config = audio_preset(args.preset)
    rows, timings, drawn = [], [], {}
    for index in chosen:
        names = ROWS[index]
        outputs = {}
        rows += _measure_row(
            index,
            [corpus / name for name in names],
            config,
            args.seconds,
            timings,
            outputs,
        )
        drawn = drawn or {"names": names, **outputs}
        print(f"row {index}: {' x '.join(names)}", flush=True)
    if args.picture:
        _draw(args.picture, corpus, drawn, args.seconds)

    print(
        f"\n{cpu_model()}; preset {args.preset}, {args.seconds:g} s of each content; "
        f"median transfer {statistics.median(timings):.1f} s\n"
        "blend / DAW mix: gains over the whole output; morph / DAW crossfade: "
        "gain A over the first third, gain B over the last, and the wrong way round "
        "(B first, A last: low is right)\n"
    )
    print(
        markdown_table(
            ["row", "method", "gain A", "gain B", "B first", "A last", "kept"], rows
        )
    )


def _measure_row(
    index: int,
    paths: list[Path],
    config: object,
    seconds: float,
    timings: list[float],
    outputs: dict[str, np.ndarray],
) -> list[list[str]]:
    """The table's lines for one content and two styles; ``outputs`` gets each method's audio."""
    from audiost import transfer_audio
    from audiost.media.audio_io import load_audio
    from audiost.metrics import ANALYSIS_RATE, logmel_distance, onset_correlation

    content_path, *style_paths = paths
    content = _mono(*load_audio(content_path, duration=seconds))
    styles = [_mono(*load_audio(path)) for path in style_paths]

    def styled(style: object, **settings: object) -> np.ndarray:
        started = time.perf_counter()
        result = transfer_audio(
            content_path, style, config=config, duration=seconds, **settings
        )
        timings.append(time.perf_counter() - started)
        return _level(_mono(result.audio, result.sr))[: len(content)]

    alone = [styled(path) for path in style_paths]
    outputs |= {
        "blend": styled(style_paths),
        "DAW mix": _level(alone[0] + alone[1]),
        "morph": styled(style_paths, morph=True),
        "DAW crossfade": _crossfade(*alone),
    }
    third = len(content) // 3
    whole, first, last = slice(None), slice(None, third), slice(-third, None)

    def gain(output: np.ndarray, style: np.ndarray, part: slice) -> float:
        before = logmel_distance(content[part], style, ANALYSIS_RATE)
        return 1 - logmel_distance(output[part], style, ANALYSIS_RATE) / before

    lines = []
    for method, output in outputs.items():
        parts = (whole, whole) if method in ("blend", "DAW mix") else (first, last)
        lines.append(
            [
                f"{index}",
                method,
                f"{gain(output, styles[0], parts[0]):.2f}",
                f"{gain(output, styles[1], parts[1]):.2f}",
                f"{gain(output, styles[1], parts[0]):.2f}",
                f"{gain(output, styles[0], parts[1]):.2f}",
                f"{onset_correlation(output, content, ANALYSIS_RATE):.2f}",
            ]
        )
    return lines


def _draw(path: Path, corpus: Path, drawn: dict, seconds: float) -> None:
    """Log-mel spectrograms of a row side by side, one colour scale each (80 dB)."""
    import librosa
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from audiost.media.audio_io import load_audio
    from audiost.metrics import ANALYSIS_RATE

    content, first, second = drawn["names"]
    panels = [
        (f"content: {content}", _mono(*load_audio(corpus / content, duration=seconds))),
        (f"A: {first}", _mono(*load_audio(corpus / first, duration=seconds))),
        (f"B: {second}", _mono(*load_audio(corpus / second, duration=seconds))),
        ("blend (equal)", drawn["blend"]),
        ("morph A -> B", drawn["morph"]),
    ]
    figure, axes = plt.subplots(
        1, 5, figsize=(20, 3.6), sharey=True, constrained_layout=True
    )
    for axis, (title, wave) in zip(axes, panels, strict=True):
        mel = librosa.feature.melspectrogram(y=wave, sr=ANALYSIS_RATE, n_mels=96)
        db = librosa.power_to_db(mel, ref=1.0, top_db=None)
        axis.imshow(
            db, origin="lower", aspect="auto", cmap="magma", vmin=db.max() - 80,
            vmax=db.max(), extent=(0, wave.size / ANALYSIS_RATE, 0, db.shape[0]),
        )  # fmt: skip
        axis.set_title(title[:40], fontsize=8)
        axis.set_xlabel("time (s)")
    axes[0].set_ylabel("mel band")
    buffer = io.BytesIO()
    figure.savefig(buffer, dpi=80, format="png")
    plt.close(figure)
    # 128 colours: a third of the bytes, nothing visible lost on a colour map.
    Image.open(buffer).convert("RGB").quantize(128).save(path, optimize=True)


def _mono(wave: np.ndarray, rate: int) -> np.ndarray:
    from audiost.media.audio_io import resample
    from audiost.metrics import ANALYSIS_RATE

    return resample(np.atleast_2d(wave), rate, ANALYSIS_RATE).mean(axis=0)


def _level(wave: np.ndarray) -> np.ndarray:
    """At unit RMS: mixes are of equal loudness, and every measure is level-blind anyway."""
    return wave / max(float(np.sqrt(np.mean(wave**2))), 1e-12)


def _crossfade(first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """``first`` fading linearly into ``last`` over their whole length (equal power would favour neither more)."""
    ramp = np.linspace(0.0, 1.0, len(first))
    return (1 - ramp) * first + ramp * last


if __name__ == "__main__":
    main()
