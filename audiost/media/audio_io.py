"""Reading, checking and writing audio files.

Decoding is soundfile's (libsndfile reads WAV, FLAC, OGG and MP3); librosa is
the fallback for anything libsndfile cannot open, and soxr resamples. Arrays
are ``(channels, samples)`` float32 throughout.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from ..errors import AudiostError
from ..limits import MAX_CHANNELS, MAX_DURATION_S, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from ..outputs import atomic_output
from ..provenance import decode_record, encode_record

#: Output formats by suffix (libsndfile's names). OGG (Vorbis) and MP3 are lossy.
AUDIO_OUTPUT_FORMATS = {
    ".wav": "WAV",
    ".flac": "FLAC",
    ".aiff": "AIFF",
    ".aif": "AIFF",
    ".ogg": "OGG",
    ".mp3": "MP3",
}
_PCM_SUBTYPES = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}
_SAMPLE_NAMES = {"16": "16-bit", "24": "24-bit", "32f": "32-bit float"}
_LOSSY_SUBTYPES = {"OGG": "VORBIS", "MP3": "MPEG_LAYER_III"}

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
    start: float = 0.0,
    duration: float | None = None,
    progress: Callable[[float], None] | None = None,
) -> tuple[np.ndarray, int]:
    """Decode an audio file, or an excerpt of it, to a ``(channels, samples)`` float32 array.

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
    start, duration : float, optional
        Read only ``duration`` seconds (None: to the end) from ``start``:
        the decoder seeks, so an excerpt of a long take costs the excerpt.
        ``max_seconds`` then applies to the excerpt.
    progress : callable, optional
        Told the fraction decoded (as the header counts it) after each
        block, for a long file's progress bar.

    Returns
    -------
    audio : np.ndarray, shape (channels, samples), float32
    sr : int
    """
    path = Path(path)
    check_input_file(path, "an audio file")
    check_excerpt(start, duration)
    problem = None
    with native_stderr_silenced():
        try:
            audio, sr, problem = _read_soundfile(
                path, max_seconds, max_channels, start, duration, progress
            )
        except sf.LibsndfileError:
            audio, sr = _read_librosa(path, max_seconds, start, duration)
            _check_channels(audio.shape[0], max_channels, path)
    _check_rate(sr, path)
    if start and not audio.shape[1]:
        header = audio_header(path)
        known = "" if header is None else f" ({header[0]:.2f} s)"
        raise AudiostError(
            f"the excerpt starts at {start:g} s, at or past the end of the audio{known}",
            path,
        )
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
    # A NaN or infinity shows in the minimum or maximum: no mask the size of
    # a long file (np.isfinite's) is made.
    if audio.size and not np.isfinite([audio.min(), audio.max()]).all():
        raise AudiostError(
            "contains NaN or infinite samples; repair or re-export the file", name
        )


def _check_channels(channels: int, max_channels: int | None, path: Path) -> None:
    if max_channels is not None and channels > max_channels:
        raise AudiostError(
            f"has {channels} channels; the limit is {max_channels}: raise it with --max-channels",
            path,
        )


def check_excerpt(start: float, duration: float | None) -> None:
    """An excerpt's start must be a time in the audio (>= 0) and its duration positive."""
    if not (math.isfinite(start) and start >= 0):
        raise AudiostError(f"an excerpt's start must be 0 s or later, got {start:g}")
    if duration is not None and not (math.isfinite(duration) and duration > 0):
        raise AudiostError(f"an excerpt's duration must be positive, got {duration:g}")


def excerpt(
    audio: np.ndarray, sr: int, start: float, duration: float | None, name: str
) -> np.ndarray:
    """``duration`` seconds of ``(channels, samples)`` audio from ``start`` (an array's :func:`load_audio` excerpt)."""
    check_excerpt(start, duration)
    first = round(start * sr)
    if first and first >= audio.shape[-1]:
        raise AudiostError(
            f"the excerpt starts at {start:g} s, at or past the end of the audio ({audio.shape[-1] / sr:.2f} s)",
            name,
        )
    stop = None if duration is None else first + max(1, round(duration * sr))
    return audio[..., first:stop]


def excerpt_name(name: str, start: float = 0.0, duration: float | None = None) -> str:
    """What messages call an excerpt of ``name``: ``song.wav from 80 s for 30 s``.

    A silent or too-short excerpt of a file that is neither: its name alone
    would say the file is.
    """
    if not start and duration is None:
        return name
    return f"{name} from {start:g} s" + (
        "" if duration is None else f" for {duration:g} s"
    )


def excerpt_record(start: float = 0.0, duration: float | None = None) -> dict[str, Any]:
    """An excerpt as JSON records (``--json``, reports, a batch's manifest) write it."""
    return {"start": start, "duration": duration}


def _read_soundfile(
    path: Path,
    max_seconds: float | None,
    max_channels: int | None,
    start: float = 0.0,
    duration: float | None = None,
    progress: Callable[[float], None] | None = None,
) -> tuple[np.ndarray, int, str | None]:
    """Read block by block from ``start``; also returns why decoding stopped early, if it did."""
    with sf.SoundFile(path) as f:
        sr, channels = f.samplerate, f.channels
        _check_channels(channels, max_channels, path)
        if start:
            _skip(f, round(start * sr))
        # A frame over the limit: enough to tell that the audio exceeds it.
        limits = [
            int(max_seconds * sr) + 1 if max_seconds is not None else None,
            max(1, round(duration * sr)) if duration is not None else None,
        ]
        stop = min((n for n in limits if n is not None), default=None)
        # One array, filled block by block through one buffer: a list of
        # small blocks stayed in the heap once freed, and with the array
        # made from it a long style's decode held two copies or more.
        # Sized by the header, which may lie: never past ``stop``, grown
        # where the file holds more, cut where it holds less.
        try:
            audio = np.empty((channels, _expected_frames(f, stop)), np.float32)
        except MemoryError:  # a header claiming more than this machine holds
            audio = np.empty((channels, _BLOCK_FRAMES), np.float32)
        buffer = np.empty((_BLOCK_FRAMES, channels), np.float32)
        read = 0
        problem = None
        while stop is None or read < stop:
            wanted = _BLOCK_FRAMES if stop is None else min(_BLOCK_FRAMES, stop - read)
            try:
                block = f.read(wanted, out=buffer[:wanted])
            except (sf.LibsndfileError, RuntimeError) as exc:
                if not read:
                    raise AudiostError(f"cannot decode audio: {exc}", path) from exc
                problem = str(exc)
                break
            if not len(block):
                break
            if read + len(block) > audio.shape[1]:
                size = max(2 * audio.shape[1], read + len(block))
                audio = _grown(audio, read, size if stop is None else min(size, stop))
            audio[:, read : read + len(block)] = block.T
            read += len(block)
            if progress is not None:
                progress(read / audio.shape[1])
    if read < audio.shape[1]:
        audio = audio[:, :read].copy()
    return audio, sr, problem


#: Where no limit applies, the most (s) a header is taken at its word for;
#: beyond, the array grows as the file is read.
_GUESS_S = 600


def _expected_frames(f: sf.SoundFile, stop: int | None) -> int:
    """Frames left to read as the header tells, at most ``stop`` (with no limit, at most :data:`_GUESS_S`).

    Only pages written to are resident: a header claiming an hour for a
    second of audio reserves the hour's addresses, not its memory.
    """
    try:
        left = f.frames - f.tell() if f.frames > 0 else 0
    except (sf.LibsndfileError, RuntimeError):
        left = 0
    cap = _GUESS_S * f.samplerate if stop is None else stop
    return max(1, min(left, cap) if left > 0 else cap)


def _grown(audio: np.ndarray, used: int, size: int) -> np.ndarray:
    """``audio``'s first ``used`` frames in an array of ``size`` frames."""
    grown = np.empty((audio.shape[0], size), audio.dtype)
    grown[:, :used] = audio[:, :used]
    return grown


def audio_header(path: str | os.PathLike) -> tuple[float, int, int] | None:
    """``(seconds, channels, rate)`` as a file's header gives them, without decoding; None where it gives no length.

    Only a regular file is opened (a pipe would block), and decoders' notes
    on a broken file stay off the terminal.
    """
    if not Path(path).is_file():
        return None
    try:
        with native_stderr_silenced():
            info = sf.info(path)
    except (sf.LibsndfileError, RuntimeError, OSError):
        return None
    if info.frames <= 0 or info.samplerate <= 0:
        return None
    return info.frames / info.samplerate, info.channels, info.samplerate


def _skip(f: sf.SoundFile, frames: int) -> None:
    """Move to frame ``frames``: a seek where the format allows one, else by decoding and dropping."""
    if f.seekable():
        with contextlib.suppress(sf.LibsndfileError, RuntimeError):
            f.seek(min(frames, f.frames) if f.frames > 0 else frames)
            return
    while frames > 0:
        dropped = len(f.read(min(_BLOCK_FRAMES, frames), dtype="float32"))
        if not dropped:
            return
        frames -= dropped


def _read_librosa(
    path: Path,
    max_seconds: float | None,
    start: float = 0.0,
    duration: float | None = None,
) -> tuple[np.ndarray, int]:
    import librosa  # imported lazily: it is slow to import and rarely needed here

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # A second over the limit: enough to tell that the file exceeds it.
            limit = None if max_seconds is None else max_seconds + 1
            if duration is not None:
                limit = duration if limit is None else min(limit, duration)
            audio, sr = librosa.load(
                path, sr=None, mono=False, offset=start, duration=limit
            )
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
    # From each channel's extremes and mean, not from |audio| and
    # |audio - mean|: those were two copies of a long style at once.
    low, high = audio.min(axis=1), audio.max(axis=1)
    peak = max(-low.min(), high.max())
    if peak < _SILENCE_PEAK:
        raise AudiostError("is digital silence; there is nothing to style", name)
    if peak > _MAX_PEAK:
        raise AudiostError(
            f"samples reach {peak:.3g}, over 100 dB above full scale (1.0): the file is corrupt or mis-scaled; normalise it",
            name,
        )
    mean = audio.mean(axis=1)
    if np.maximum(high - mean, mean - low).max() < _SILENCE_PEAK:
        raise AudiostError(
            "holds only a constant (DC) level, no signal; there is nothing to style",
            name,
        )
    return audio


def resample(audio: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample ``(channels, samples)`` audio with soxr's high-quality filter.

    The same samples and length as ``librosa.resample(res_type="soxr_hq")``,
    which calls soxr the same way; calling it here spares a command
    librosa's audio module, whose import (scipy.signal, numba) took 2 s of
    a cold transfer on the 2-core development machine.
    """
    if orig_sr == target_sr:
        return audio
    import soxr

    length = math.ceil(audio.shape[1] * (target_sr / orig_sr))
    out = soxr.resample(np.ascontiguousarray(audio.T), orig_sr, target_sr, "HQ").T
    if out.shape[1] < length:
        out = np.pad(out, ((0, 0), (0, length - out.shape[1])))
    return np.ascontiguousarray(out[:, :length], dtype=np.float32)


#: How audiost before provenance records tagged the spectral convergence.
SC_TAG = "audiost_spectral_convergence"


def write_audio(
    path: str | os.PathLike,
    audio: np.ndarray,
    sr: int,
    *,
    bit_depth: str = "24",
    record: dict[str, Any] | None = None,
) -> Path:
    """Write ``(channels, samples)`` audio atomically in the format its suffix names.

    WAV and AIFF take ``bit_depth`` 16, 24 or 32f (float), FLAC 16 or 24;
    OGG (Vorbis) and MP3 are lossy and have none. The file is tagged as made
    by audiost (the ``software`` tag) and, when given, with ``record``
    (:mod:`audiost.provenance`: the settings, and the reconstruction's
    spectral convergence, which ``audiost evaluate`` reads back: only the
    transfer knows the spectrogram the audio was reconstructed from) as
    JSON in the ``comment`` tag.
    """
    path = Path(path)
    file_format, subtype = _output_format(path, bit_depth)
    # What the encoder refuses (a rate, a channel count) is refused before
    # the work by check_audio_output; errors here are the disk's, and
    # atomic_output reports them.
    with (
        atomic_output(path) as tmp,
        sf.SoundFile(
            tmp, "w", sr, audio.shape[0], subtype=subtype, format=file_format
        ) as file,
    ):
        with contextlib.suppress(RuntimeError):  # formats without tags
            file.software = f"audiost {_version()}"
            if record is not None:
                file.comment = encode_record(record)
        file.write(np.ascontiguousarray(audio.T))
    return path


def check_audio_output(
    path: str | os.PathLike, sr: int, channels: int, bit_depth: str = "24"
) -> None:
    """Refuse, before any work, an output :func:`write_audio` could not write: an unknown suffix, a bit depth the format lacks, a rate or channel count its encoder refuses (MP3 stops at 48 kHz and 2 channels)."""
    file_format, subtype = _output_format(Path(path), bit_depth)
    try:
        with sf.SoundFile(
            io.BytesIO(), "w", sr, channels, subtype=subtype, format=file_format
        ):
            pass
    except (sf.LibsndfileError, RuntimeError) as exc:
        # libsndfile's message names the (in-memory) file first: keep its reason.
        reason = str(exc).rpartition("Error : ")[2].strip() or str(exc)
        raise AudiostError(
            f"cannot write {file_format} at {sr} Hz with {channels} channel(s): {reason}; write .wav or .flac",
            path,
        ) from exc


def _output_format(path: Path, bit_depth: str) -> tuple[str, str]:
    file_format = AUDIO_OUTPUT_FORMATS.get(path.suffix.lower())
    if file_format is None:
        raise AudiostError(
            f"unsupported output format; use one of {', '.join(AUDIO_OUTPUT_FORMATS)}",
            path,
        )
    subtype = _LOSSY_SUBTYPES.get(file_format) or _PCM_SUBTYPES[bit_depth]
    if not sf.check_format(file_format, subtype):
        raise AudiostError(
            f"{file_format} cannot hold {_SAMPLE_NAMES[bit_depth]} samples; use --bit-depth 16 or 24, or write .wav",
            path,
        )
    return file_format, subtype


def read_comment(path: str | os.PathLike) -> str | None:
    """An audio file's comment tag, or None if it has none or cannot be opened."""
    try:
        with native_stderr_silenced(), sf.SoundFile(path) as file:
            return file.comment or None
    except (sf.LibsndfileError, RuntimeError, OSError):
        return None


def read_spectral_convergence(path: str | os.PathLike) -> float | None:
    """The reconstruction's spectral convergence an audiost output carries, or None."""
    comment = read_comment(path) or ""
    record = decode_record(comment)
    if record is not None:
        value = record.get("spectral_convergence")
        return float(value) if isinstance(value, (int, float)) else None
    # Outputs of audiost before records: "audiost_spectral_convergence=0.23".
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
