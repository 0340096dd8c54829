"""Reading, checking and writing audio files.

Decoding is soundfile's (libsndfile reads WAV, FLAC, OGG and MP3); librosa is
the fallback for anything libsndfile cannot open, and soxr (through librosa)
resamples. Arrays are ``(channels, samples)`` float32 throughout.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from ..errors import AudiostError
from ..limits import MAX_CHANNELS, MAX_DURATION_S, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from ..outputs import atomic_output

#: Output formats by suffix, with the sample encoding written.
OUTPUT_SUBTYPES = {".wav": "PCM_24", ".flac": "PCM_24"}

# Small blocks keep as much as possible of a file that is corrupt part-way.
_BLOCK_FRAMES = 1 << 13
# Below this peak a signal is treated as digital silence (about -120 dBFS).
_SILENCE_PEAK = 1e-6
# Above this peak (100 dB over full scale) the spectrogram's power overflows
# float32; even 16-bit integers stored as floats stay below it.
_MAX_PEAK = 1e5


def load_audio(
    path: str | os.PathLike,
    *,
    max_seconds: float | None = MAX_DURATION_S,
    max_channels: int | None = MAX_CHANNELS,
) -> tuple[np.ndarray, int]:
    """Decode an audio file to a ``(channels, samples)`` float32 array.

    The file is read block by block, so a header that lies about its length
    never makes us allocate what it claims, and a file truncated mid-stream
    yields its readable part with a warning.

    Parameters
    ----------
    path : str or os.PathLike
        Audio file (WAV, FLAC, OGG/Vorbis, MP3, or anything libsndfile or
        librosa can decode).
    max_seconds : float, optional
        Refuse files longer than this (None: no limit). Only this much is
        ever read, so a long file costs no more memory than the limit.
    max_channels : int, optional
        Refuse files with more channels (None: no limit), before reading them.

    Returns
    -------
    audio : np.ndarray, shape (channels, samples), float32
    sr : int
    """
    path = Path(path)
    check_input_file(path, "an audio file")
    problem = None
    with native_stderr_silenced():
        try:
            audio, sr, problem = _read_soundfile(path, max_seconds, max_channels)
        except sf.LibsndfileError:
            audio, sr = _read_librosa(path, max_seconds)
            _check_channels(audio.shape[0], max_channels, path)
    _check_rate(sr, path)
    if problem:
        warnings.warn(
            f"{path}: decoding stopped after {audio.shape[1] / sr:.2f} s ({problem}); using the readable part",
            stacklevel=2,
        )
    if max_seconds is not None and audio.shape[1] > max_seconds * sr:
        raise AudiostError(
            f"longer than the {max_seconds:g} s limit; raise it with --max-duration or cut the file",
            path,
        )
    # Every caller resamples or transforms the audio, which fails on NaN.
    _require_finite(audio, path)
    return audio, sr


def read_sample_rate(
    path: str | os.PathLike,
    *,
    max_seconds: float | None = MAX_DURATION_S,
    max_channels: int | None = MAX_CHANNELS,
) -> int:
    """A file's sample rate, from its header where libsndfile opens it.

    Files only librosa decodes are decoded (within the limits, as by
    :func:`load_audio`), so every file that loads has a rate here too.
    """
    path = Path(path)
    check_input_file(path, "an audio file")
    with native_stderr_silenced():
        try:
            with sf.SoundFile(path) as f:
                sr = f.samplerate
        except sf.LibsndfileError:
            return load_audio(path, max_seconds=max_seconds, max_channels=max_channels)[
                1
            ]
    _check_rate(sr, path)
    return sr


def _check_rate(sr: int, path: Path) -> None:
    if not MIN_SAMPLE_RATE <= sr <= MAX_SAMPLE_RATE:
        raise AudiostError(
            f"header gives an impossible sample rate of {sr} Hz (usable: {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE}); the file is corrupt",
            path,
        )


def check_input_file(path: Path, what: str) -> None:
    """Refuse what no decoder should open: a missing path, a directory, an
    unreadable or empty file, or a pipe or device, which would block or
    never end (a FIFO, /dev/zero).
    """
    if not path.exists():
        link = " (a broken or looping symbolic link)" if path.is_symlink() else ""
        raise AudiostError(f"no such file{link}", path)
    if path.is_dir():
        raise AudiostError(f"is a directory, not {what}", path)
    if not path.is_file():
        raise AudiostError(
            f"is not a regular file (a pipe, device or socket); save it as {what} first",
            path,
        )
    if not os.access(path, os.R_OK):
        raise AudiostError("file is not readable (permission denied)", path)
    if path.stat().st_size == 0:
        raise AudiostError("file is empty (0 bytes)", path)


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Hide what C decoders print straight to file descriptor 2.

    libmpg123 writes "Note: Illegal Audio-MPEG-Header" and the like for
    every broken MP3; the failure itself still reaches the user as one line.
    """
    try:
        saved = os.dup(2)
    except OSError:  # no stderr descriptor at all: nothing to silence
        yield
        return
    with open(os.devnull, "wb") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _require_finite(audio: np.ndarray, name: str | os.PathLike) -> None:
    if not np.isfinite(audio).all():
        raise AudiostError(
            "contains NaN or infinite samples; repair or re-export the file", name
        )


def _check_channels(channels: int, max_channels: int | None, path: Path) -> None:
    if max_channels is not None and channels > max_channels:
        raise AudiostError(
            f"has {channels} channels; the limit is {max_channels}: raise it with --max-channels",
            path,
        )


def _read_soundfile(
    path: Path, max_seconds: float | None, max_channels: int | None
) -> tuple[np.ndarray, int, str | None]:
    """Read block by block; also returns why decoding stopped early, if it did."""
    with sf.SoundFile(path) as f:
        sr, channels = f.samplerate, f.channels
        _check_channels(channels, max_channels, path)
        limit = None if max_seconds is None else int(max_seconds * sr) + 1
        blocks: list[np.ndarray] = []
        read = 0
        problem = None
        while limit is None or read <= limit:
            try:
                block = f.read(_BLOCK_FRAMES, dtype="float32", always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as exc:
                if not read:
                    raise AudiostError(f"cannot decode audio: {exc}", path) from exc
                problem = str(exc)
                break
            if not len(block):
                break
            blocks.append(block)
            read += len(block)
    audio = np.concatenate(blocks).T if blocks else np.zeros((channels, 0), np.float32)
    return np.ascontiguousarray(audio), sr, problem


def _read_librosa(path: Path, max_seconds: float | None) -> tuple[np.ndarray, int]:
    import librosa  # imported lazily: it is slow to import and rarely needed here

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # A second over the limit: enough to tell that the file exceeds it.
            duration = None if max_seconds is None else max_seconds + 1
            audio, sr = librosa.load(path, sr=None, mono=False, duration=duration)
    except Exception as exc:  # audioread/libsndfile raise many unrelated types
        raise AudiostError(
            "not a readable audio file (unknown format or corrupt); use WAV, FLAC, OGG or MP3",
            path,
        ) from exc
    return np.atleast_2d(audio).astype(np.float32), int(sr)


def check_audio(
    audio: np.ndarray, sr: int, *, min_samples: int, name: str | os.PathLike = "audio"
) -> np.ndarray:
    """Reject audio the engine cannot style: returns it as float32 ``(channels, samples)``.

    Raises
    ------
    AudiostError
        For empty, too short, non-finite, silent, constant (DC-only) or
        impossibly loud audio.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None]
    if audio.ndim != 2:
        raise AudiostError(
            f"expected a (channels, samples) array, got shape {audio.shape}", name
        )
    if sr <= 0:
        raise AudiostError(f"invalid sample rate {sr}", name)
    n = audio.shape[1]
    if n == 0:
        raise AudiostError("contains no audio samples", name)
    if n < min_samples:
        raise AudiostError(
            f"too short: {1000 * n / sr:.1f} ms; at least {1000 * min_samples / sr:.0f} ms (one analysis frame) is needed",
            name,
        )
    _require_finite(audio, name)
    peak = np.abs(audio).max()
    if peak < _SILENCE_PEAK:
        raise AudiostError("is digital silence; there is nothing to style", name)
    if peak > _MAX_PEAK:
        raise AudiostError(
            f"samples reach {peak:.3g}, over 100 dB above full scale (1.0): the file is corrupt or mis-scaled; normalise it",
            name,
        )
    if np.abs(audio - audio.mean(axis=1, keepdims=True)).max() < _SILENCE_PEAK:
        raise AudiostError(
            "holds only a constant (DC) level, no signal; there is nothing to style",
            name,
        )
    return audio


def resample(audio: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample ``(channels, samples)`` audio with soxr's high-quality filter."""
    if orig_sr == target_sr:
        return audio
    import librosa

    return librosa.resample(
        audio, orig_sr=orig_sr, target_sr=target_sr, res_type="soxr_hq", axis=-1
    ).astype(np.float32)


#: The comment tag's key for the reconstruction's spectral convergence.
SC_TAG = "audiost_spectral_convergence"


def write_audio(
    path: str | os.PathLike,
    audio: np.ndarray,
    sr: int,
    *,
    spectral_convergence: float | None = None,
) -> Path:
    """Write ``(channels, samples)`` audio atomically as 24-bit WAV or FLAC.

    The file is tagged as made by audiost (the ``software`` tag) and, when
    given, with the reconstruction's spectral convergence (the ``comment``
    tag), which ``audiost evaluate`` reads back: only the transfer knows the
    spectrogram the audio was reconstructed from.
    """
    path = Path(path)
    subtype = OUTPUT_SUBTYPES.get(path.suffix.lower())
    if subtype is None:
        raise AudiostError(
            f"unsupported output format; use one of {', '.join(OUTPUT_SUBTYPES)}", path
        )
    channels = audio.shape[0]
    file_format = path.suffix[1:].upper()
    with (
        atomic_output(path) as tmp,
        sf.SoundFile(
            tmp, "w", sr, channels, subtype=subtype, format=file_format
        ) as file,
    ):
        file.software = f"audiost {_version()}"
        if spectral_convergence is not None:
            file.comment = f"{SC_TAG}={spectral_convergence:.6f}"
        file.write(np.ascontiguousarray(audio.T))
    return path


def read_spectral_convergence(path: str | os.PathLike) -> float | None:
    """The reconstruction's spectral convergence an audiost output carries, or None."""
    try:
        with native_stderr_silenced(), sf.SoundFile(path) as file:
            comment = file.comment or ""
    except (sf.LibsndfileError, RuntimeError, OSError):
        return None
    key, _, value = comment.partition("=")
    try:
        return float(value) if key.strip() == SC_TAG else None
    except ValueError:
        return None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("audiost")
    except PackageNotFoundError:
        return "dev"
