#!/usr/bin/env python3
"""Regenerate the bundled example clips in ``examples/``.

* ``speech.wav``: English speech from the espeak-ng command-line synthesiser.
* ``music.wav``: a plucked-string arpeggio (Am-F-C-G) with a soft kick and
  hi-hat, synthesised from scratch with a fixed random seed.

Both clips are mono, 22050 Hz, 16-bit PCM, peak-normalised to -1 dBFS. They are
generated rather than recorded so that they carry no third-party rights
(released as CC0) and can be rebuilt byte-for-byte on the same toolchain.

Usage::

    python3 scripts/make_examples.py [--out-dir DIR]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

SAMPLE_RATE = 22050  # espeak-ng's native rate; music uses it too so both match.
PEAK_DBFS = -1.0
SEED = 20240611

SPEECH_TEXT = (
    "The quick brown fox jumps over the lazy dog. "
    "Style transfer turns speech into music."
)
SPEECH_VOICE = "en-us"
SPEECH_WPM = 165

REPO_ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------


def peak_normalise(x: np.ndarray, peak_dbfs: float = PEAK_DBFS) -> np.ndarray:
    """Scale so the absolute peak sits at ``peak_dbfs``, leaving headroom for
    16-bit rounding so nothing ever clips."""
    peak = float(np.max(np.abs(x)))
    if peak == 0.0:
        raise ValueError("cannot normalise a silent signal")
    return x * (10.0 ** (peak_dbfs / 20.0) / peak)


def fade_edges(x: np.ndarray, sr: int, fade_s: float = 0.005) -> np.ndarray:
    """Apply short raised-cosine fades so the clip starts and ends at zero
    (an abrupt first/last sample is audible as a click)."""
    n = min(round(fade_s * sr), len(x) // 2)
    if n == 0:
        return x
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n))
    y = x.copy()
    y[:n] *= ramp
    y[-n:] *= ramp[::-1]
    return y


def write_wav(path: Path, x: np.ndarray, sr: int) -> None:
    """Write mono 16-bit PCM, the most portable WAV flavour."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x.astype(np.float64), sr, subtype="PCM_16")


# --------------------------------------------------------------------------
# Speech
# --------------------------------------------------------------------------


def synthesise_espeak(text: str, voice: str, wpm: int) -> tuple[np.ndarray, int]:
    """Render ``text`` with espeak-ng to a temporary WAV and load it.

    Going through a file (``-w``) keeps espeak's own sample rate and avoids
    any audio device."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "espeak.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(wav), text],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        x, sr = sf.read(str(wav), dtype="float64", always_2d=True)
    return x.mean(axis=1), sr


def trim_silence(
    x: np.ndarray, sr: int, threshold_db: float = -40.0, pad_s: float = 0.05
) -> np.ndarray:
    """Drop leading/trailing near-silence (relative to the peak), keeping a
    little padding so onsets and decays are not cut off."""
    threshold = float(np.max(np.abs(x))) * 10.0 ** (threshold_db / 20.0)
    loud = np.flatnonzero(np.abs(x) > threshold)
    if loud.size == 0:
        return x
    pad = round(pad_s * sr)
    start = max(int(loud[0]) - pad, 0)
    stop = min(int(loud[-1]) + 1 + pad, len(x))
    return x[start:stop]


def make_speech(path: Path) -> None:
    """Build ``speech.wav`` from espeak-ng output."""
    x, sr = synthesise_espeak(SPEECH_TEXT, SPEECH_VOICE, SPEECH_WPM)
    x = trim_silence(x, sr)
    x = peak_normalise(fade_edges(x, sr))
    write_wav(path, x, sr)


# --------------------------------------------------------------------------
# Music
# --------------------------------------------------------------------------

BPM = 100.0
BEAT_S = 60.0 / BPM
EIGHTH_S = BEAT_S / 2.0

# Each chord lasts two beats: bass root plus a four-note eighth-note
# arpeggio (MIDI note numbers). The progression resolves back to A minor,
# which is strummed and left to ring.
PROGRESSION: list[tuple[str, int, list[int]]] = [
    ("Am", 45, [57, 60, 64, 69]),  # A2 | A3 C4 E4 A4
    ("F", 41, [57, 60, 65, 69]),  # F2 | A3 C4 F4 A4
    ("C", 48, [55, 60, 64, 67]),  # C3 | G3 C4 E4 G4
    ("G", 43, [55, 59, 62, 67]),  # G2 | G3 B3 D4 G4
]
FINAL_CHORD = ("Am", 45, [57, 60, 64, 69, 72])
TAIL_S = 1.3  # ring-out time of the final chord
LET_RING_S = 0.12  # overlap of a note into the next chord before damping


def midi_to_hz(note: int) -> float:
    """Equal-tempered frequency of a MIDI note (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def karplus_strong(
    freq: float,
    dur_s: float,
    sr: int,
    rng: np.random.Generator,
    decay: float = 0.996,
    brightness: float = 0.5,
    release_s: float = 0.05,
) -> np.ndarray:
    """Plucked string via Karplus-Strong, run as one IIR filter.

    The loop is a delay line, a two-tap averager (the string's damping) and
    a first-order all-pass that supplies the fractional part of the delay,
    so every note is in tune rather than rounded to a whole sample.
    ``brightness`` low-passes the noise burst: lower is a softer, nylon-like
    pluck. The last ``release_s`` is faded out, like a player damping the
    string, so cutting the note at ``dur_s`` does not click.
    """
    period = sr / freq  # total loop delay in samples
    # The averager contributes 0.5 sample; keep the all-pass delay in
    # [0.1, 1.1) where its phase delay is close to flat.
    n_delay = int(np.floor(period - 0.5 - 0.1))
    frac = period - 0.5 - n_delay
    c = (1.0 - frac) / (1.0 + frac)  # all-pass coefficient for delay `frac`

    # H(z) = A_den / (A_den - g/2 (1 + z^-1) A_num z^-N), with the all-pass
    # A(z) = (c + z^-1) / (1 + c z^-1).
    g = 0.5 * decay
    b = np.array([1.0, c])
    a = np.zeros(n_delay + 3)
    a[0], a[1] = 1.0, c
    a[n_delay : n_delay + 3] -= g * np.array([c, 1.0 + c, 1.0])

    n = round(dur_s * sr)
    burst = rng.uniform(-1.0, 1.0, n_delay + 1)
    burst = signal.lfilter([brightness, 1.0 - brightness], [1.0], burst)
    excitation = np.zeros(n)
    excitation[: len(burst)] = burst - burst.mean()
    y = signal.lfilter(b, a, excitation)
    n_rel = min(round(release_s * sr), n)
    y[n - n_rel :] *= 0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, n_rel))
    return y


def pluck(
    note: int, dur_s: float, sr: int, rng: np.random.Generator, bass: bool = False
) -> np.ndarray:
    """One guitar note; bass strings sustain longer and sound darker."""
    decay, brightness = (0.997, 0.3) if bass else (0.995, 0.5)
    return karplus_strong(midi_to_hz(note), dur_s, sr, rng, decay, brightness)


def kick(sr: int, dur_s: float = 0.35) -> np.ndarray:
    """Soft kick: a sine swept down from ~110 Hz to ~45 Hz with a quick
    exponential decay (no click transient, to keep it gentle)."""
    t = np.arange(round(dur_s * sr)) / sr
    freq = 45.0 + 65.0 * np.exp(-t / 0.04)
    phase = 2.0 * np.pi * np.cumsum(freq) / sr
    env = np.exp(-t / 0.09) * (1.0 - np.exp(-t / 0.002))
    return np.sin(phase) * env


def hihat(sr: int, rng: np.random.Generator, dur_s: float = 0.06) -> np.ndarray:
    """Closed hi-hat: high-passed white noise with a very short decay."""
    n = round(dur_s * sr)
    t = np.arange(n) / sr
    sos = signal.butter(4, 6000.0, btype="highpass", fs=sr, output="sos")
    noise = signal.sosfilt(sos, rng.standard_normal(n))
    return noise * np.exp(-t / 0.012) * (1.0 - np.exp(-t / 0.0005))


def add_at(
    buf: np.ndarray, x: np.ndarray, start_s: float, sr: int, gain: float
) -> None:
    """Mix ``x`` into ``buf`` starting at ``start_s``, clipped to the buffer."""
    i = round(start_s * sr)
    n = min(len(x), len(buf) - i)
    if n > 0:
        buf[i : i + n] += gain * x[:n]


def make_music_signal(sr: int, seed: int = SEED) -> np.ndarray:
    """Render the whole arrangement to a float signal (unnormalised)."""
    rng = np.random.default_rng(seed)
    chord_s = 2 * BEAT_S
    total_s = chord_s * len(PROGRESSION) + TAIL_S
    guitar = np.zeros(round(total_s * sr))
    drums = np.zeros_like(guitar)
    kick_hit = kick(sr)

    for k, (_name, root, notes) in enumerate(PROGRESSION):
        t0 = k * chord_s
        # Strings are damped just after the next chord change so that
        # neighbouring chords do not smear into each other.
        bass = pluck(root, chord_s + LET_RING_S, sr, rng, bass=True)
        add_at(guitar, bass, t0, sr, 0.8)
        for j, note in enumerate(notes):
            dur = chord_s - j * EIGHTH_S + LET_RING_S
            add_at(guitar, pluck(note, dur, sr, rng), t0 + j * EIGHTH_S, sr, 0.55)
        add_at(drums, kick_hit, t0, sr, 0.9)  # beats 1 and 3
        for j in (1, 3):  # hats on the off-beat eighths
            add_at(drums, hihat(sr, rng), t0 + j * EIGHTH_S, sr, 0.12)

    # Resolve: strum the final chord (10 ms between strings) and let it ring.
    t_end = len(PROGRESSION) * chord_s
    _name, root, notes = FINAL_CHORD
    add_at(guitar, pluck(root, TAIL_S, sr, rng, bass=True), t_end, sr, 0.8)
    for j, note in enumerate(notes):
        add_at(guitar, pluck(note, TAIL_S, sr, rng), t_end + 0.01 * j, sr, 0.4)
    add_at(drums, kick_hit, t_end, sr, 0.9)

    mix = guitar + drums
    # Fade the last half second so the ringing strings end smoothly.
    n_out = round(0.5 * sr)
    mix[-n_out:] *= np.linspace(1.0, 0.0, n_out) ** 2
    return fade_edges(mix, sr)


def make_music(path: Path, sr: int = SAMPLE_RATE) -> None:
    """Build ``music.wav``."""
    write_wav(path, peak_normalise(make_music_signal(sr)), sr)


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def main() -> None:
    """Parse arguments and regenerate both clips."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=REPO_ROOT / "examples",
        help="directory to write speech.wav and music.wav (default: %(default)s)",
    )
    args = parser.parse_args()

    if shutil.which("espeak-ng") is None:
        sys.exit(
            "error: espeak-ng not found on PATH; install it "
            "(e.g. `apt-get install -y espeak-ng`) and re-run."
        )

    out_dir: Path = args.out_dir
    for name, build in (("speech.wav", make_speech), ("music.wav", make_music)):
        path = out_dir / name
        build(path)
        info = sf.info(str(path))
        print(f"wrote {path}: {info.duration:.2f} s, {info.samplerate} Hz")


if __name__ == "__main__":
    main()
