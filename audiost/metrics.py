"""Objective measures of an audio transfer, on waveforms.

They answer three questions about an output: did it move toward the style
(log-mel statistics), did it keep the content (onset envelope correlation,
and for a tune its notes: pitch-class correlation), and did it add a
broadband noise floor that neither input has (the classic failure of
noise-initialised, random-phase reconstructions). And one the
statistics are blind to: does it pulse and tremble as the style does (its
modulation spectrum). For a texture,
two more: is it new material, or stretches of its source replayed; and
does its end run into its start, or would a loop of it click.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .media.mel import (
    mel_power,
    onset_strength,
    pitch_class_matrix,
    power_to_db,
    stft_power,
)

_N_MELS = 64
#: Frame hop (samples at ANALYSIS_RATE, 23 ms) of the frame-by-frame measures.
_HOP = 512
#: How many times denser than an output's the source's frames are read
#: when looking for replayed stretches.
_DENSER = 4
#: Every audio measure is taken at this rate, whatever the files' rates, so
#: one content and style have one baseline distance: an output at 16 kHz and
#: one at 44.1 kHz are judged on the same band (up to 11 kHz).
ANALYSIS_RATE = 22050


@dataclass(frozen=True)
class StyleProfile:
    """The style's side of :func:`audio_measures`, analysed once (:func:`style_profile`).

    A batch measures many outputs against one style; half an hour of style
    takes 14 s to analyse here, which each output's report paid again.
    """

    stats: tuple[np.ndarray, np.ndarray]
    onsets: np.ndarray
    modulation: tuple[np.ndarray, np.ndarray]
    noise_floor_db: float
    stereo_width_db: float | None


def style_profile(style: np.ndarray, style_sr: int) -> StyleProfile:
    """The style's analyses that :func:`profile_measures` compares outputs with, at :data:`ANALYSIS_RATE`, mono.

    The style is measured as it is imitated, without its quiet lead-in and
    tail (:func:`~audiost.media.edges.sounding_part`).
    """
    from .media.audio_io import resample
    from .media.edges import sounding_part

    style = sounding_part(np.atleast_2d(style), style_sr, analysis_frame(style_sr))
    y = _mono(resample(style, style_sr, ANALYSIS_RATE))
    return StyleProfile(
        stats=_logmel_stats(y, ANALYSIS_RATE),
        onsets=onset_strength(y, ANALYSIS_RATE),
        modulation=modulation_spectrum(y, ANALYSIS_RATE),
        noise_floor_db=noise_floor_db(y, ANALYSIS_RATE),
        stereo_width_db=stereo_width_db(style),
    )


@dataclass(frozen=True)
class ContentProfile:
    """The content's side of :func:`profile_measures`, analysed once (:func:`content_profile`).

    One content's outputs at other settings (a sweep of strengths, the
    presets side by side) are measured against it: nine minutes of content
    took 3 s to analyse here, which each output paid again.
    """

    stats: tuple[np.ndarray, np.ndarray]
    onsets: np.ndarray
    modulation: tuple[np.ndarray, np.ndarray]
    noise_floor_db: float
    pitch_classes: np.ndarray
    stereo_width_db: float | None


def content_profile(content: np.ndarray, content_sr: int) -> ContentProfile:
    """The content's analyses that :func:`profile_measures` compares outputs with, at :data:`ANALYSIS_RATE`, mono."""
    from .media.audio_io import resample

    y = _mono(resample(np.atleast_2d(content), content_sr, ANALYSIS_RATE))
    return ContentProfile(
        stats=_logmel_stats(y, ANALYSIS_RATE),
        onsets=onset_strength(y, ANALYSIS_RATE),
        modulation=modulation_spectrum(y, ANALYSIS_RATE),
        noise_floor_db=noise_floor_db(y, ANALYSIS_RATE),
        pitch_classes=pitch_classes(y, ANALYSIS_RATE),
        stereo_width_db=stereo_width_db(np.atleast_2d(content)),
    )


def audio_measures(
    content: np.ndarray,
    content_sr: int,
    style: np.ndarray,
    style_sr: int,
    output: np.ndarray,
    output_sr: int,
) -> dict[str, float]:
    """Every measure of an output against its content and style, at :data:`ANALYSIS_RATE`, on mono mixes.

    ``style_onsets_output`` should stay near ``style_onsets_content``: an
    output that replays the style's timeline (a mix of the two files) scores
    well on statistics but is not a transfer. :func:`profile_measures`
    gives the same against a style (and a content) analysed once.
    """
    return profile_measures(
        style_profile(style, style_sr),
        content_profile(content, content_sr),
        output,
        output_sr,
    )


def profile_measures(
    style: StyleProfile,
    content: ContentProfile,
    output: np.ndarray,
    output_sr: int,
) -> dict[str, float]:
    """:func:`audio_measures` of ``output`` against a style's :func:`style_profile` and a content's :func:`content_profile`."""
    from .media.audio_io import resample

    y = _mono(resample(np.atleast_2d(output), output_sr, ANALYSIS_RATE))
    sr = ANALYSIS_RATE
    # The output analysed once: the measures below compare the same analyses.
    stats, onsets = _logmel_stats(y, sr), onset_strength(y, sr)
    before = _stats_distance(content.stats, style.stats)
    after = _stats_distance(stats, style.stats)
    modulation_before = modulation_distance(content.modulation, style.modulation)
    modulation_after = modulation_distance(modulation_spectrum(y, sr), style.modulation)
    measures = {
        "style_gain": relative_gain(before, after),
        "content_kept": _correlation(onsets, content.onsets),
        "pitch_kept": _notes_kept(content.pitch_classes, pitch_classes(y, sr)),
        "style_distance_content": before,
        "style_distance_output": after,
        "style_onsets_content": _correlation(content.onsets, style.onsets),
        "style_onsets_output": _correlation(onsets, style.onsets),
        "modulation_gain": relative_gain(modulation_before, modulation_after),
        "modulation_distance_content": modulation_before,
        "modulation_distance_output": modulation_after,
        "noise_floor_db_content": content.noise_floor_db,
        "noise_floor_db_style": style.noise_floor_db,
        "noise_floor_db_output": noise_floor_db(y, sr),
    }
    measures["noise_floor_added_db"] = measures["noise_floor_db_output"] - max(
        measures["noise_floor_db_content"], measures["noise_floor_db_style"]
    )
    measures["stereo_width_db_content"] = content.stereo_width_db
    measures["stereo_width_db_style"] = style.stereo_width_db
    measures["stereo_width_db_output"] = stereo_width_db(np.atleast_2d(output))
    return measures


#: The narrowest :func:`stereo_width_db` tells apart: two identical channels.
NARROWEST_DB = -120.0


def stereo_width_db(audio: np.ndarray) -> float | None:
    """How wide a stereo ``(2, samples)`` signal is: its side's power over its mid's, dB (None for any other channel count).

    0 for two unrelated channels, :data:`NARROWEST_DB` for the same sound
    in both; the corpus's stereo recordings -18 (a train) to +8 (a vinyl
    record's anti-phase rumble). The measures' mono mixes hear none of it.
    """
    from .media.stereo import side_over_mid

    ratio = side_over_mid(audio) if audio.shape[0] == 2 else math.inf
    if ratio == math.inf:  # not stereo, or a side alone: no mid to be wide around
        return None
    return max(10 * math.log10(max(ratio, 1e-300)), NARROWEST_DB)


def analysis_frame(rate: int) -> int:
    """Samples at ``rate`` of one 2048-sample frame at :data:`ANALYSIS_RATE`: the least that can be measured."""
    return math.ceil(2048 * rate / ANALYSIS_RATE)


def speech_intelligibility(
    content: np.ndarray, content_sr: int, output: np.ndarray, output_sr: int
) -> float | None:
    """STOI (Taal et al. 2011) of an output against its spoken content; None without pystoi.

    About 0.4 means the words are lost, above 0.75 most of them can be
    followed. ``content_kept`` (onset correlation) sees the syllables'
    timing, which a style can keep while it smears their formants; STOI
    compares the short-time envelopes of speech bands, so it sees the
    formants. Meaningful only for a spoken content; pystoi is in the test
    extras (``pip install pystoi``).
    """
    try:
        from pystoi import stoi
    except ImportError:
        return None
    from .media.audio_io import resample

    rate = 10000  # STOI's own rate, to which it would resample anyway
    reference, degraded = (
        _mono(resample(np.atleast_2d(wave), sr, rate))
        for wave, sr in ((content, content_sr), (output, output_sr))
    )
    n = min(len(reference), len(degraded))
    return float(stoi(reference[:n], degraded[:n], rate))


def relative_gain(before: float, after: float) -> float:
    """``1 - after / before``: the share of a distance closed; 0 when there was none to close."""
    return 0.0 if before <= 1e-12 else 1.0 - after / before


def _mono(audio: np.ndarray) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    return audio if audio.ndim == 1 else audio.mean(axis=0)


def logmel_distance(a: np.ndarray, b: np.ndarray, sr: int) -> float:
    """Distance (dB) between the per-band mean and spread of two log-mel spectrograms.

    Texture statistics, blind to timing: 0 for identical statistics. Both
    signals are RMS-normalised first so loudness alone does not count.
    """
    return _stats_distance(_logmel_stats(a, sr), _logmel_stats(b, sr))


def _stats_distance(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
) -> float:
    (mean_a, std_a), (mean_b, std_b) = a, b
    return float(
        np.sqrt(np.mean((mean_a - mean_b) ** 2) + np.mean((std_a - std_b) ** 2))
    )


def _logmel_stats(audio: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    y = _mono(audio)
    y = y / max(float(np.sqrt(np.mean(y**2))), 1e-12)
    db = power_to_db(_mel_power(y, sr))
    return db.mean(axis=1), db.std(axis=1)


def _mel_power(y: np.ndarray, sr: int, hop: int = _HOP) -> np.ndarray:
    """``(mels, frames)`` mel power of a mono signal: the one analysis every log-mel measure reads."""
    return mel_power(y, sr, n_mels=_N_MELS, hop=hop)


def onset_correlation(a: np.ndarray, b: np.ndarray, sr: int) -> float:
    """Pearson correlation of the onset-strength envelopes of two signals (1 = same rhythm and articulation)."""
    return _correlation(onset_strength(_mono(a), sr), onset_strength(_mono(b), sr))


#: The pitch-class analysis: FFT size (5.4 Hz bins at :data:`ANALYSIS_RATE`,
#: narrower than a semitone from 100 Hz up) and the band whose bins are
#: folded into the twelve pitch classes: a melody's notes and their first
#: harmonics, from G2 to about C7.
_PITCH_FFT = 4096
_PITCH_BAND_HZ = (100.0, 2100.0)


def pitch_classes(y: np.ndarray, sr: int) -> np.ndarray:
    """``(12, frames)`` power in each pitch class (C, C#, ..., B) of a mono signal, frame by frame.

    By hand (:func:`~audiost.media.mel.pitch_class_matrix`): librosa's
    chroma would import librosa (seconds) for one matrix product.
    """
    power = stft_power(y, _PITCH_FFT, _HOP)
    return pitch_class_matrix(power.shape[0], sr, *_PITCH_BAND_HZ) @ power


def pitch_kept(content: np.ndarray, output: np.ndarray, sr: int) -> float:
    """How much of the content's notes the output keeps: each frame's pitch-class correlation, averaged (1 = the same notes, about 0 = unrelated).

    A frame counts by how tonal and loud the content is there (the spread
    of its pitch classes), so a tune's notes weigh and its pauses, noise
    and unpitched hits do not. The onsets (``content_kept``) keep a
    melody's rhythm; this says whether its notes survived.
    """
    return _notes_kept(
        pitch_classes(_mono(content), sr), pitch_classes(_mono(output), sr)
    )


def _notes_kept(content: np.ndarray, output: np.ndarray) -> float:
    """:func:`pitch_kept` from the two signals' :func:`pitch_classes`."""
    n = min(content.shape[1], output.shape[1])
    a = content[:, :n] - content[:, :n].mean(axis=0)
    b = output[:, :n] - output[:, :n].mean(axis=0)
    spread_a, spread_b = np.linalg.norm(a, axis=0), np.linalg.norm(b, axis=0)
    if spread_a.sum() == 0:  # no frames, or no notes: nothing to keep
        return 0.0
    correlation = (a * b).sum(axis=0) / np.maximum(spread_a * spread_b, 1e-30)
    return float((correlation * spread_a).sum() / spread_a.sum())


def _correlation(env_a: np.ndarray, env_b: np.ndarray) -> float:
    n = min(len(env_a), len(env_b))
    if n < 2 or env_a[:n].std() == 0 or env_b[:n].std() == 0:
        return 0.0
    return float(np.corrcoef(env_a[:n], env_b[:n])[0, 1])


#: The modulation spectrum's mel bands, envelope hop and window (samples at
#: :data:`ANALYSIS_RATE`: 2.9 ms and 23 ms, so envelopes follow 64 Hz), the
#: octaves of modulation rate it sums (1 to 64 Hz), and the seconds analysed
#: at a time (whose spectra are averaged: memory stays bounded).
_MODULATION_BANDS = 16
_MODULATION_HOP = 64
_MODULATION_FFT = 512
_MODULATION_RATES = tuple(2.0**k for k in range(7))
_MODULATION_SEGMENT_S = 8.0
#: Bands more than this far below the loudest band carry no envelope worth comparing.
_MODULATION_RANGE_DB = 40.0


def modulation_spectrum(audio: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Each mel band's modulation spectrum: the share (dB) of its envelope's power in each octave of rate from 1 to 64 Hz, and the band's level (dB).

    How fast a sound's bands pulse, flutter and tremble (McDermott &
    Simoncelli 2011: modulation power is one of the statistics by which
    listeners tell sound textures apart): frogs croak at about 8 Hz, a
    tremolo at 5, hiss has no rate of its own. Log-mel statistics, which
    average over time, are blind to it. Envelopes are compressed (power
    to the 0.15, amplitude to the 0.3, as the cochlea does) and analysed
    in segments of :data:`_MODULATION_SEGMENT_S` whose spectra are
    averaged.
    """
    y = _mono(audio)
    step = round(_MODULATION_SEGMENT_S * sr)
    power = np.zeros((_MODULATION_BANDS, len(_MODULATION_RATES)))
    level = np.zeros(_MODULATION_BANDS)
    for start in range(0, max(len(y) - step // 4, 1), step):
        mel = mel_power(
            y[start : start + step],
            sr,
            n_mels=_MODULATION_BANDS,
            hop=_MODULATION_HOP,
            n_fft=_MODULATION_FFT,
        ).astype(np.float64)
        level += mel.sum(axis=1)
        envelope = mel**0.15
        envelope -= envelope.mean(axis=1, keepdims=True)
        frames = envelope.shape[1]
        spectrum = np.abs(np.fft.rfft(envelope * np.hanning(frames), axis=1)) ** 2
        rates = np.fft.rfftfreq(frames, _MODULATION_HOP / sr)
        for k, rate in enumerate(_MODULATION_RATES):
            inside = (rates >= rate / math.sqrt(2)) & (rates < rate * math.sqrt(2))
            power[:, k] += spectrum[:, inside].sum(axis=1)
    shares = power / np.maximum(power.sum(axis=1, keepdims=True), 1e-30)
    return 10 * np.log10(shares + 1e-12), 10 * np.log10(level + 1e-30)


def modulation_distance(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
) -> float:
    """RMS difference (dB) of two modulation spectra (:func:`modulation_spectrum`) over the bands where ``b`` (the style) sounds.

    A band far below the style's loudest has an envelope of noise and
    rounding, whose shape says nothing: an 8 kHz style measured at 22.05
    kHz is empty above 4 kHz.
    """
    (shares_a, _), (shares_b, level_b) = a, b
    sounding = level_b >= level_b.max() - _MODULATION_RANGE_DB
    return float(np.sqrt(np.mean((shares_a[sounding] - shares_b[sounding]) ** 2)))


def noise_floor_db(audio: np.ndarray, sr: int, *, percentile: float = 10.0) -> float:
    """Level (dB re the mean power) of the quietest moments, taken per frequency bin.

    For each bin, the given percentile of its power over time; the median over
    bins. A steady broadband hiss lifts every bin's quiet moments and so this
    value; gaps and decays that stay dark keep it low.
    """
    power = stft_power(_mono(audio), n_fft=1024, hop=256)
    power = power / max(float(power.mean()), 1e-20)
    floor = np.percentile(power, percentile, axis=1)
    return float(10 * np.log10(np.median(floor) + 1e-12))


def longest_replay_s(output: np.ndarray, source: np.ndarray, sr: int) -> float:
    """Seconds: the longest stretch of ``output`` that follows ``source`` frame by frame.

    Each output frame's nearest source frame (log-mel, dB re each signal's
    loudest) is found among source frames four times as dense, so a copy
    lands within 64 samples of a frame of its own whatever its offset; a
    replay is a run of output frames whose nearest frames advance through
    the source as they do (3 to 5 dense frames a frame). A texture that
    rearranges its source has short runs (tens of ms); a copied stretch,
    wherever it starts, is one run as long as the copy (shorter where the
    source repeats itself exactly: a loop's repeats are indistinguishable).
    """
    ours = _logmel_frames(output, sr, _HOP)
    theirs = _logmel_frames(source, sr, _HOP // _DENSER)
    # Squared distances without the (per-row constant) |ours|^2, 32 output
    # frames at a time: an hour-long source then needs about 160 MB, not
    # the whole frames-by-frames matrix.
    norms = (theirs**2).sum(axis=1)
    nearest = np.concatenate(
        [
            (norms - 2 * ours[start : start + 32] @ theirs.T).argmin(axis=1)
            for start in range(0, len(ours), 32)
        ]
    )
    longest = run = 1
    for step in np.diff(nearest):
        run = run + 1 if abs(step - _DENSER) <= 1 else 1
        longest = max(longest, run)
    return longest * _HOP / sr


#: Order of the linear predictor :func:`loop_seam` judges abruptness by.
_SEAM_ORDER = 32
#: :func:`loop_seam`'s blocks, and the surroundings each is judged against (s).
_SEAM_BLOCK_S = 0.002
_SEAM_CONTEXT_S = 0.05
#: How much of each side of the seam :func:`loop_seam` reads at most (s).
_SEAM_READ_S = 30.0


def loop_seam(audio: np.ndarray, sr: int) -> float:
    """How abrupt ``audio``'s end running into its start is, next to its other moments: about 1 is like any moment, a click scores tens.

    A loop is heard as its end followed by its start, so that is what is
    measured: the last and first halves (at most 30 s each) in that order.
    A linear predictor (order 32, fitted to them) leaves a residual that
    jumps wherever the waveform does what its last few milliseconds did
    not foretell: a click, an onset. Each 2 ms block's residual energy (the
    largest of it and its neighbours) is taken over the median of the 50
    ms around it, so loud and quiet passages count alike; the result is
    the seam's block over the median block. An impulsive texture's onsets
    score high too, so a drum loop's join may score a few where a drone's
    scores 1: compare loops of one style rather than read it as absolute.
    """
    y = _mono(audio).astype(np.float64)
    half = min(len(y) // 2, round(_SEAM_READ_S * sr))
    heard = np.concatenate([y[len(y) - half :], y[:half]])
    residual = _prediction_residual(heard, _SEAM_ORDER)
    block = max(1, round(_SEAM_BLOCK_S * sr))
    energy = np.add.reduceat(residual**2, np.arange(0, len(heard), block))
    energy = energy / np.bincount(np.arange(len(heard)) // block)
    energy += 1e-12 * float(energy.mean()) + 1e-30  # digital silence
    peak = np.max([np.roll(energy, shift) for shift in (-1, 0, 1)], axis=0)
    context = max(1, min(round(_SEAM_CONTEXT_S / _SEAM_BLOCK_S), len(energy) // 4))
    around = np.lib.stride_tricks.sliding_window_view(
        np.pad(energy, context, mode="reflect"), 2 * context + 1
    )
    score = peak / np.median(around, axis=1)
    # Blocks at either end have no past (the predictor starts from nothing)
    # or a reflected surrounding: they are not moments of the loop.
    inner = score[2 : len(score) - 2] if len(score) > 8 else score
    return float(score[half // block] / np.median(inner))


def _prediction_residual(y: np.ndarray, order: int) -> np.ndarray:
    """What an ``order``-tap linear predictor fitted to ``y`` (Yule-Walker) leaves of it.

    By hand: librosa.lpc would import librosa (seconds) for one call, and
    the autocorrelation method is a few lines with scipy's Toeplitz solver.
    """
    from scipy.linalg import solve_toeplitz
    from scipy.signal import lfilter

    size = 1 << (2 * len(y) - 1).bit_length()
    spectrum = np.fft.rfft(y, size)
    lags = np.fft.irfft(spectrum * spectrum.conj(), size)[: order + 1]
    # A silent or pure-tone signal stays solvable.
    lags[0] = lags[0] * (1 + 1e-9) + 1e-30
    coefficients = solve_toeplitz(lags[:order], lags[1 : order + 1])
    return lfilter(np.concatenate([[1.0], -coefficients]), [1.0], y)


def _logmel_frames(audio: np.ndarray, sr: int, hop: int) -> np.ndarray:
    """``(frames, mels)`` log-mel dB every ``hop`` samples, 80 dB of range below the signal's loudest."""
    return power_to_db(_mel_power(_mono(audio), sr, hop), ref=None, top_db=80).T
