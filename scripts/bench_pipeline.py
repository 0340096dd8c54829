"""The full audio pipeline, ``audiost.transfer_audio`` and ``audiost.synthesize_audio``, per preset: stage times, wall time and peak memory.

``examples/speech.wav`` styled by ``examples/music.wav``, and a texture of
:data:`TEXTURE_SECONDS` of ``examples/music.wav``. Every run happens
in a freshly spawned Python process, so its peak resident memory
(``getrusage(RUSAGE_SELF).ru_maxrss``) belongs to that one transfer and
nothing else, and each run is cold, as a CLI call is. The time to ``import
audiost`` (mostly torch) is excluded from the wall time and reported once as
a note. Run through ``scripts/bench.py``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchlib import (
    REPO,
    in_fresh_process,
    markdown_table,
    peak_rss_mb,
    pipeline_cells,
    pipeline_header,
    set_threads,
)

CONTENT = REPO / "examples" / "speech.wav"
STYLE = REPO / "examples" / "music.wav"
STAGES = ("load", "style", "encode", "optimise", "reconstruct", "waveform", "write")
#: A texture has no content to encode; its optimisation carries the rhythm term.
TEXTURE_STAGES = ("load", "style", "optimise", "reconstruct", "waveform", "write")
TEXTURE_SECONDS = 10.0


def pipeline_run(
    preset: str, device: str, output: str, threads: int | None, texture: bool = False
) -> dict[str, Any]:
    """One cold transfer (or ``texture``) in a fresh process: stage timings, wall and import time, peak RSS.

    Runs in the spawned worker; returns plain types so it pickles back.
    """
    start = time.perf_counter()
    import audiost

    imported = time.perf_counter()
    set_threads(threads)
    config = audiost.audio_preset(preset, device=device)
    if texture:
        result = audiost.synthesize_audio(
            STYLE, TEXTURE_SECONDS, output=output, config=config, overwrite=True
        )
    else:
        result = audiost.transfer_audio(
            CONTENT, STYLE, output=output, config=config, overwrite=True
        )
    wall = time.perf_counter() - imported
    return {
        "waveform": 0.0,  # a preset without the waveform stage
        **result.timings,
        "wall": wall,
        "import": imported - start,
        "iters": config.iters,
        "wave_iters": config.wave_iters,
        "peak_rss_mb": peak_rss_mb(),
        "warnings": result.warnings,
    }


def bench_pipeline(
    presets: Sequence[str], device: str, repeats: int, threads: int | None
) -> None:
    import soundfile

    first = ["preset", "iters (canvas + waveform)"]
    rows: dict[bool, list[list[str]]] = {False: [], True: []}
    imports: list[float] = []
    warnings: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="audiost-bench-") as tmp:
        output = str(Path(tmp) / "out.wav")
        for texture in (False, True):
            stages = TEXTURE_STAGES if texture else STAGES
            for preset in presets:
                runs = [
                    in_fresh_process(
                        pipeline_run, preset, device, output, threads, texture
                    )
                    for _ in range(repeats)
                ]
                imports += [run["import"] for run in runs]
                warnings.update(
                    f"{preset}: {w}" for run in runs for w in run["warnings"]
                )
                iters = runs[0]["iters"]
                rows[texture].append(
                    [
                        f"`{preset}`",
                        f"{iters} + {runs[0]['wave_iters']}",
                        *pipeline_cells(runs, stages, iters),
                    ]
                )

    infos = {path: soundfile.info(path) for path in (CONTENT, STYLE)}
    clips = ", ".join(
        f"`{path.relative_to(REPO)}` ({info.duration:.1f} s, {info.samplerate} Hz)"
        for path, info in infos.items()
    )
    print(
        "### Full pipeline: `transfer_audio` and `synthesize_audio` on the bundled examples\n"
    )
    print(f"Content and style: {clips}.\n")
    print(markdown_table(pipeline_header(first, STAGES), rows[False]))
    print(
        f"\n`synthesize_audio` (`audiost texture`), {TEXTURE_SECONDS:g} s of `{STYLE.relative_to(REPO)}`:\n"
    )
    print(markdown_table(pipeline_header(first, TEXTURE_STAGES), rows[True]))
    print(
        f"\nEach run is a fresh process (cold start, as from the CLI). Stage times are `AudioResult.timings`; "
        f"wall is the whole `transfer_audio` (or `synthesize_audio`) call; s / iter is optimise / `config.iters`, the canvas stage's "
        f"(`waveform` is the stage after Griffin-Lim, `config.wave_iters` iterations on the samples; an L-BFGS iteration "
        f"may evaluate the objective more than once). Peak RSS is that process's `ru_maxrss` (MB = 2^20 bytes), "
        f"including the interpreter and torch. Not in the wall time: `import audiost` takes "
        f"{statistics.median(imports):.2f} s (median) in a fresh process."
    )
    for warning in sorted(warnings):
        print(f"\n**Warning from the pipeline** ({warning})")
    print()
