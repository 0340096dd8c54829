"""Batch stress test: ``audiost batch`` on 200+ short pairs with faults injected, then an audit.

The material is built from the shared corpus in a work folder:

- short content clips (0.3-0.5 s, cut from real recordings, kept at their
  own sample rates) in several sub-folders, so the output tree is mirrored;
- every file of ``corpus/bad`` (broken, hostile and unusual audio and
  images), and a few good photos;
- two audio styles, plus one image style when the VGG16 weights in
  ``<shared>/models/vgg16-hed`` are there (images at ``max_size`` 48).

The batch runs as a subprocess, ``python -m audiost batch INPUTS -s ... -o
OUT --recipe ... -j JOBS -q`` (``--preset fast``, 2 iterations, 2
Griffin-Lim iterations: the point is the machinery, not the sound), with
these faults:

1. the bad files, among the inputs;
2. ``kill -9`` of one worker process mid-pair, once some pairs are done;
3. a read-only output sub-folder (``OUT/read_only``, made before the run:
   ``chattr +i`` as root, since root ignores permissions, else mode 0555),
   with a nested input folder whose mirrored folder cannot be created;
4. a full disk: ``OUT/full_disk`` is a small tmpfs (as root) that holds a
   couple of outputs and then fills up; where mounting is not permitted, a
   file-size limit (``RLIMIT_FSIZE``) on the batch process instead, which
   is process-wide, so the ``full_disk`` clips are made longer than the limit
   and every other file (outputs, manifest) stays under it;
5. SIGTERM to the whole batch half-way (``--no-interrupt`` to skip).

Then the same command runs again (resume). The audit reads the file system
and ``OUT/manifest.jsonl`` only: every planned pair must end with a valid
output (readable, finite, non-empty audio or image) or a failure line with
its reason; *lost* counts pairs with neither (or a ``done`` line whose file
is missing or unreadable), *duplicated* counts pairs with more than one
``done`` line, two pairs claiming one file, and output files no pair
planned. Temporary ``.part`` files left over and tracebacks in the batch's
output are counted too. The exit code is 1 if any of those is not 0, or a
failure has no injected cause.

Usage::

    sudo python3 scripts/stress_batch.py [--pairs 200] [--jobs 2] [--keep DIR] [--seed N]
                                         [--disk-full auto|tmpfs|rlimit|none] [--no-interrupt]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from stress_audit import (
    BAD,
    FULLVOL,
    IMAGES,
    READONLY,
    Faults,
    Run,
    audit,
    bad_files_that_work,
    manifest_lines,
    plan,
    report,
)

CLIP_SOURCES = (
    "speech_pocketsphinx_forever_16k_mono.flac",
    "speech_alsa_rear_side_prompts_48k_mono_s16.wav",
    "speech_librivox_austen_sense_and_sensibility_part2_16k_mono_s16.wav",
    "sfx_cow_mooing_22k_mono_s16.wav",
    "sfx_car_engine_start_stop_44k_mono_s16.wav",
    "sfx_applause_crowd_44k_mono_f32.wav",
)
# 10.7 s of stereo: long enough to make outputs over the file-size limit.
LONG_SOURCE = "music_sonicpi_tabla_loop_44k_stereo.flac"
AUDIO_STYLES = (
    "music_sonicpi_tabla_loop_44k_stereo.flac",
    "music_didgeridoo_australia_44k_mono.ogg",
)
IMAGE_STYLE = "texture_gravel_gray_512x512.png"
PHOTOS = (
    "photo_chelsea_cat_451x300.png",
    "photo_grace_hopper_portrait_512x600.jpg",
    "painting_da_vinci_mona_lisa_322x500.png",
)
# Folders sort so that the faulty ones come first, before the first run's SIGTERM.
CLIP_FOLDERS = ("sounds/speech", "sounds/sfx", "sounds/mixed/deeper", "sounds/mixed")
READONLY_CLIPS, NESTED_CLIPS, FULLVOL_CLIPS = 3, 2, 4
# Outputs are 24-bit WAV; the tmpfs holds this many of the full_disk outputs.
TMPFS_OUTPUTS = 2.5
# Least file-size limit (--disk-full rlimit); the full_disk outputs are made bigger.
RLIMIT_BYTES = 1 << 20
RECIPE = """preset = "fast"
iters = 2
[audio]
gl_iters = 2
"""
IMAGE_RECIPE = """[image]
net = "vgg16"
weights = "{weights}"
max_size = 48
"""


# -- material -----------------------------------------------------------------


def make_material(
    corpus: Path, work: Path, pairs: int, rng: random.Random, disk_full: str
) -> tuple[Path, list[Path], Path, int]:
    """Inputs (clips, bad files, photos), styles, recipe and file-size limit (rlimit only); enough clips for ``pairs`` pairs."""
    import soundfile as sf

    inputs, styles_dir = work / "inputs", work / "styles"
    styles_dir.mkdir(parents=True)
    styles = []
    for name in AUDIO_STYLES:
        audio, sr = sf.read(corpus / name, dtype="float32", always_2d=True)
        styles.append(styles_dir / f"{Path(name).stem.split('_')[1]}.wav")
        sf.write(styles[-1], audio[: int(1.0 * sr)], sr)
    weights = corpus.parent / "models" / "vgg16-hed" / "vgg16_hed_features_fp16.pth"
    recipe = work / "recipe.toml"
    recipe.write_text(
        RECIPE + (IMAGE_RECIPE.format(weights=weights) if weights.is_file() else "")
    )
    if weights.is_file():
        styles.append(styles_dir / IMAGE_STYLE)
        shutil.copy(corpus / IMAGE_STYLE, styles[-1])

    def cut(folder: str, index: int, seconds: float, min_bytes: int = 0) -> None:
        name = LONG_SOURCE if min_bytes else rng.choice(CLIP_SOURCES)
        audio, sr = sf.read(corpus / name, dtype="float32", always_2d=True)
        # A 24-bit output takes 3 bytes a sample and channel.
        length = max(int(seconds * sr), min_bytes // (3 * audio.shape[1]))
        start = rng.randrange(0, max(1, len(audio) - length))
        path = inputs / folder / f"{index:03d}_{Path(name).stem.split('_')[1]}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, audio[start : start + length], sr)

    (inputs / BAD).mkdir(parents=True)
    for path in sorted((corpus / "bad").iterdir()):
        if path.name != "MANIFEST.tsv":
            shutil.copy(path, inputs / BAD / path.name)
    (inputs / IMAGES).mkdir()
    for name in PHOTOS:
        shutil.copy(corpus / name, inputs / IMAGES / name)
    for index in range(READONLY_CLIPS):
        cut(READONLY, index, rng.uniform(0.3, 0.5))
    for index in range(NESTED_CLIPS):
        cut(f"{READONLY}/nested", index, rng.uniform(0.3, 0.5))
    planned = len(plan(inputs, styles, work / "probe").pairs)
    planned += FULLVOL_CLIPS * len(AUDIO_STYLES)
    needed = max(0, math.ceil((pairs - planned) / len(AUDIO_STYLES)))
    for index in range(needed):
        cut(CLIP_FOLDERS[index % len(CLIP_FOLDERS)], index, rng.uniform(0.3, 0.5))
    # Under a file-size limit every full_disk output must be over it, and every other file under it.
    limit = fsize_limit(inputs, pairs) if disk_full == "rlimit" else 0
    for index in range(FULLVOL_CLIPS):
        cut(FULLVOL, index, 1.5, int(1.2 * limit))
    return inputs, styles, recipe, limit


def fsize_limit(inputs: Path, pairs: int) -> int:
    """A file-size limit well above the manifest (about 1 KiB a line, a few lines a pair) and every audio output."""
    from audiost.media.audio_io import native_stderr_silenced

    largest = 0
    for path in inputs.rglob("*"):
        # A header may claim more than the file holds (header_claims_4gb_data.wav).
        with contextlib.suppress(Exception), native_stderr_silenced():
            largest = max(largest, min(wav_bytes(path), 4 * path.stat().st_size))
    return max(RLIMIT_BYTES, 4096 * pairs, int(1.5 * largest))


def wav_bytes(path: Path) -> int:
    import soundfile as sf

    info = sf.info(path)
    return info.frames * info.channels * 3 + 1024


# -- faults -------------------------------------------------------------------


@contextlib.contextmanager
def read_only_folder(folder: Path, faults: Faults) -> Iterator[None]:
    """Make ``folder`` unwritable for this process's children; undone on exit."""
    folder.mkdir(parents=True, exist_ok=True)
    undo: list[str] = []
    if os.geteuid() == 0 and _ok(["chattr", "+i", str(folder)]):
        faults.read_only, undo = "chattr +i", ["chattr", "-i", str(folder)]
    elif os.geteuid() == 0 and _ok(["mount", "--bind", str(folder), str(folder)]):
        undo = ["umount", "-l", str(folder)]
        if _ok(["mount", "-o", "remount,ro,bind", str(folder)]):
            faults.read_only = "read-only bind mount"
    else:
        folder.chmod(0o555)
        faults.read_only = "chmod 0555"
    try:
        yield
    finally:
        if undo:
            _ok(undo)
        folder.chmod(0o755)


def disk_full_method(requested: str, work: Path) -> str:
    """``tmpfs`` where a test mount works (root, and the container allows it), else ``rlimit``; or as asked."""
    if requested not in ("auto", "tmpfs"):
        return requested
    probe = work / ".mount-probe"
    probe.mkdir()
    mounted = os.geteuid() == 0 and _ok(
        ["mount", "-t", "tmpfs", "-o", "size=4096", "tmpfs", str(probe)]
    )
    if mounted:
        _ok(["umount", str(probe)])
    probe.rmdir()
    if requested == "tmpfs" and not mounted:
        raise SystemExit(
            "stress_batch: cannot mount a tmpfs (needs root); try --disk-full rlimit"
        )
    return "tmpfs" if mounted else "rlimit"


@contextlib.contextmanager
def full_disk(
    folder: Path, method: str, size: int, fsize_limit: int, faults: Faults
) -> Iterator[None]:
    """A tmpfs of ``size`` bytes at ``folder``, or a file-size limit for the batch (``faults.fsize_limit``); undone on exit."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = False
    if method == "tmpfs":
        size = -(-size // 4096) * 4096
        mounted = _ok(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)]
        )
        if not mounted:
            raise SystemExit(f"stress_batch: cannot mount a tmpfs at {folder}")
        faults.disk_full = f"tmpfs of {size // 1024} KiB at {folder.name}/"
    elif method == "rlimit":
        faults.fsize_limit = fsize_limit
        faults.disk_full = f"file-size limit (RLIMIT_FSIZE) of {fsize_limit // 1024} KiB on the batch; {folder.name}/ outputs are bigger"
    try:
        yield
    finally:
        if mounted:
            # The outputs that fitted stay where the manifest says they are.
            with tempfile.TemporaryDirectory() as saved:
                shutil.copytree(folder, saved, dirs_exist_ok=True)
                if not _ok(["umount", str(folder)]):
                    _ok(["umount", "-l", str(folder)])
                shutil.copytree(saved, folder, dirs_exist_ok=True)


def limit_file_size(limit: int | None) -> Any:
    """A ``preexec_fn`` giving the batch (and its workers) a file-size limit; Python ignores SIGXFSZ, so writes fail with EFBIG."""
    if limit is None:
        return None

    def apply() -> None:
        _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))

    return apply


def workers_of(pid: int) -> list[int]:
    """The batch's worker processes: its children running multiprocessing's spawn entry point."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            children += [int(c) for c in (task / "children").read_text().split()]
    found = []
    for child in children:
        with contextlib.suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
    return sorted(found)


def _ok(command: list[str]) -> bool:
    return (
        subprocess.run(command, capture_output=True, check=False).returncode == 0
        if shutil.which(command[0])
        else False
    )


# -- running ------------------------------------------------------------------


def run_batch(
    command: list[str],
    log: Path,
    out: Path,
    run: Run,
    *,
    faults: Faults,
    kill_after: int | None = None,
    interrupt_after: int | None = None,
    rng: random.Random,
    timeout: float = 1800,
) -> None:
    """Run the batch to its end, killing a worker and SIGTERMing the batch at the given done counts."""
    manifest = out / "manifest.jsonl"
    before = len(manifest_lines(manifest))
    started = time.perf_counter()
    with open(log, "w") as handle:
        process = subprocess.Popen(
            command,
            stdout=handle,
            stderr=subprocess.STDOUT,
            preexec_fn=limit_file_size(faults.fsize_limit),  # noqa: PLW1509 - no threads here
        )
        try:
            while process.poll() is None:
                lines = manifest_lines(manifest)[before:]
                done = sum(line["status"] == "done" for line in lines)
                if kill_after is not None and done >= kill_after:
                    workers = workers_of(process.pid)
                    if workers:
                        victim = rng.choice(workers)
                        os.kill(victim, signal.SIGKILL)
                        faults.kills.append(victim)
                        run.events.append(f"kill -9 worker {victim} after {done} done")
                        kill_after = None
                # Counted in finished pairs, failed ones too: in a small run
                # the bad inputs are a large share, and counting only the
                # done pairs the signal never came.
                if interrupt_after is not None and len(lines) >= interrupt_after:
                    process.send_signal(signal.SIGTERM)
                    run.events.append(
                        f"SIGTERM to the batch after {len(lines)} pairs finished ({done} done)"
                    )
                    interrupt_after = None
                if time.perf_counter() - started > timeout:
                    process.kill()
                    run.events.append(f"killed: still running after {timeout:.0f} s")
                time.sleep(0.05)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
    run.wall = time.perf_counter() - started
    run.exit_code = process.returncode
    run.lines = manifest_lines(manifest)[before:]
    text = log.read_text(errors="replace")
    run.tracebacks = text.count("Traceback")
    if run.tracebacks:
        start = text.index("Traceback")
        run.events.append(f"traceback in {log.name}:\n{text[start : start + 3000]}")
    match = re.search(r"batch: (\d+) pairs? to style", text)
    run.to_style = int(match.group(1)) if match else None
    match = re.search(r"(\d+) done, (\d+) skipped, (\d+) failed", text)
    if match:
        run.summary = dict(
            zip(("done", "skipped", "failed"), map(int, match.groups()), strict=True)
        )


def stress(args: argparse.Namespace, corpus: Path, work: Path) -> int:
    rng = random.Random(args.seed)
    started = time.perf_counter()
    method = disk_full_method(args.disk_full, work)
    inputs, styles, recipe, limit = make_material(corpus, work, args.pairs, rng, method)
    works = bad_files_that_work(corpus)
    out = work / "out"
    planned = len(plan(inputs, styles, out).pairs)
    command = [
        sys.executable,
        "-m",
        "audiost",
        "batch",
        str(inputs),
        *(arg for style in styles for arg in ("-s", str(style))),
        "-o",
        str(out),
        "--recipe",
        str(recipe),
        "-j",
        str(args.jobs),
        "-q",
    ]
    print(f"stress_batch: {planned} pairs in {work}", file=sys.stderr)
    faults = Faults()
    fullvol_output = max(wav_bytes(p) for p in (inputs / FULLVOL).iterdir())
    runs = [Run("run 1 (faults)"), Run("run 2 (resume)")]
    with (
        read_only_folder(out / READONLY, faults),
        full_disk(
            out / FULLVOL,
            method,
            int(TMPFS_OUTPUTS * fullvol_output),
            limit,
            faults,
        ),
    ):
        if args.disk_full == "auto" and method == "rlimit":
            faults.disk_full += " (mounting a tmpfs is not permitted here)"
        kill_after = int(planned * rng.uniform(0.1, 0.2))
        interrupt_after = (
            None if args.no_interrupt else int(planned * rng.uniform(0.4, 0.6))
        )
        run_batch(
            command,
            work / "run1.log",
            out,
            runs[0],
            faults=faults,
            kill_after=kill_after,
            interrupt_after=interrupt_after,
            rng=rng,
        )
        run_batch(command, work / "run2.log", out, runs[1], faults=faults, rng=rng)
        result = audit(inputs, out, styles, runs, faults, works)
    report(
        runs,
        result,
        faults,
        inputs,
        works,
        args.jobs,
        args.seed,
        time.perf_counter() - started,
    )
    # Run 1 ends interrupted (130) or with failed pairs (1); run 2 with failed pairs.
    expected_exits = ({0, 1} if args.no_interrupt else {130}, {0, 1})
    bad = (
        result.lost
        or result.duplicated
        or result.partials
        or result.unexplained
        or any(run.tracebacks for run in runs)
        or any(
            run.exit_code not in ok
            for run, ok in zip(runs, expected_exits, strict=True)
        )
    )
    print(
        "\nstress_batch: FAILED (see above)"
        if bad
        else "\nstress_batch: passed: nothing lost, nothing duplicated, no partial files"
    )
    return 1 if bad else 0


def main(argv: Sequence[str] | None = None) -> None:
    from benchlib import shared_corpus

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pairs", type=int, default=200, help="at least this many pairs"
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--seed", type=int, default=0, help="clip choice and fault timing"
    )
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="build and run in DIR (new or empty) and keep it; default: a temporary folder",
    )
    parser.add_argument(
        "--disk-full",
        choices=("auto", "tmpfs", "rlimit", "none"),
        default="auto",
        help="how to fill a disk: tmpfs (root), rlimit (a file-size limit), auto: tmpfs if permitted",
    )
    parser.add_argument(
        "--no-interrupt", action="store_true", help="do not SIGTERM the first run"
    )
    args = parser.parse_args(argv)
    corpus = shared_corpus()
    if corpus is None:
        sys.exit("stress_batch: the shared corpus was not found; set AUDIOST_SHARED")
    if args.keep:
        if args.keep.exists() and any(args.keep.iterdir()):
            sys.exit(f"stress_batch: {args.keep} is not empty")
        args.keep.mkdir(parents=True, exist_ok=True)
        sys.exit(stress(args, corpus, args.keep.resolve()))
    with tempfile.TemporaryDirectory(prefix="audiost-stress-") as work:
        sys.exit(stress(args, corpus, Path(work)))


if __name__ == "__main__":
    main()
