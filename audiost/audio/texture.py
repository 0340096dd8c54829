"""Audio texture synthesis: new sound of any length with a style's texture and no content.

The canvas starts as the style's own grains (a tenth of a second each) in
random order (no timeline, but the style's levels, spectra and strokes),
and only the style terms pull on it: the style's statistics (Gram
matrices, or ``style_loss``) averaged over all positions, plus its average
spectrum (Ulyanov & Lebedev 2016; Antognini et al. 2019), and the
autocorrelation of its features over time, which rebuilds its rhythm.
Position-averaged statistics say nothing about *when* anything happens, so
the result does not replay the source's timeline, and one canvas covers
the whole length, so there are no seams to hide. The style's quiet lead-in
and tail (a file's padding, a fade) are left out first: a texture has no
start or end for them to belong to. A ``seamless`` texture has none at all:
its STFT and features wrap round, so the optimiser shapes its end running
into its start like any other moment, and it loops without a click.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from ..config import AudioConfig, audio_preset
from ..device import resolve_device, stage
from ..engine import AutocorrelationLoss, Objective, Term, optimise_with
from ..engine.blocks import autocorrelations_in_blocks
from ..engine.optimise import StepCallback
from ..engine.parts import Fraction
from ..errors import AudiostError
from ..media.audio import AudioCanvas
from ..media.audio_io import (
    AUDIO_OUTPUT_FORMATS,
    check_audio,
    check_audio_output,
    resample,
)
from ..media.edges import sounding_part
from ..media.pghi import pghi_phase
from ..memory import check_audio_memory, out_of_memory_reported
from ..outputs import check_output_path
from .inputs import AudioInput, StyleSource, audio_input_name, style_layout
from .objective import (
    ANALYSIS_STEPS,
    analysis_parts,
    build_network,
    prepare_style,
    style_terms,
)
from .result import AudioResult, finish_audio
from .waveform import optimise_waveform

#: Weight of the rhythm (feature autocorrelation) term in audio textures.
RHYTHM_WEIGHT = 1.0

#: Longest lag, in seconds, the rhythm term matches: a few beats.
MAX_RHYTHM_S = 4.0

#: Seconds of the style kept together in the texture's start: about one
#: stroke, attack and decay. Longer grains score better by copying more of
#: the style (tabla texture, grains of 1, 8, 16, 32 frames of 11.6 ms:
#: style gain 0.53, 0.82, 0.93, 0.97; longest stretch of the style
#: replayed 0.035, 0.081, 0.116, 0.186 s); a tenth of a second is the
#: longest that replays no more than about itself (docs/quality.md).
GRAIN_S = 0.1


def synthesize_audio(
    style: AudioInput,
    seconds: float,
    output: str | os.PathLike | None = None,
    *,
    config: AudioConfig | None = None,
    style_sr: int | None = None,
    style_start: float = 0.0,
    style_duration: float | None = None,
    rhythm_weight: float = RHYTHM_WEIGHT,
    overwrite: bool = False,
    on_step: StepCallback | None = None,
    on_style: Fraction | None = None,
    **settings: Any,
) -> AudioResult:
    """``seconds`` of new audio with the texture of ``style``, at its sample rate and channel count.

    ``config`` (default: the ``balanced`` preset) and ``settings`` are as for
    :func:`audiost.transfer_audio`; the content terms do not apply. The
    style's quiet lead-in and tail are left out
    (:func:`~audiost.media.edges.sounding_span`). The result is
    loudness-matched to the style. ``rhythm_weight`` weighs the
    match of each feature's autocorrelation over time (lags up to half the
    style's length, at most :data:`MAX_RHYTHM_S`), which keeps beats and
    onsets that the time-averaged statistics lose. ``style_start`` and
    ``style_duration`` imitate only that excerpt of the style, as for
    :func:`audiost.transfer_audio`. ``on_step`` and ``on_style`` hear the
    progress, as for :func:`audiost.transfer_audio`.

    Raises
    ------
    AudiostError
        For an unreadable or silent style, a duration shorter than one STFT
        frame, or an unwritable output.
    """
    cfg = (config or audio_preset()).replace(**settings)
    with out_of_memory_reported(
        resolve_device(cfg.device), audio_input_name(style, "style")
    ):
        return _synthesize_audio(
            cfg,
            StyleSource(style, style_sr, style_start, style_duration),
            seconds,
            output,
            rhythm_weight,
            overwrite,
            on_step=on_step,
            on_style=on_style,
        )


def _synthesize_audio(
    cfg: AudioConfig,
    source: StyleSource,
    seconds: float,
    output: str | os.PathLike | None,
    rhythm_weight: float,
    overwrite: bool,
    *,
    on_step: StepCallback | None,
    on_style: Fraction | None,
) -> AudioResult:
    # One style: its steps' shares do not depend on its length.
    parts = analysis_parts(on_style, [1.0], (*ANALYSIS_STEPS, "rhythm"))
    if cfg.mix != 1:
        raise AudiostError(
            "mix blends a transfer with its content; a texture has no content to blend"
        )
    if cfg.modulation_weight:
        raise AudiostError(
            "modulation_weight is for transfers: a texture's rhythm term already "
            "matches how its style recurs at those lags and longer; leave it out"
        )
    if cfg.stereo:
        raise AudiostError(
            "stereo widens a mono content; a texture has its style's channels already (--mono for one); leave it out"
        )
    if seconds > cfg.max_duration:
        raise AudiostError(
            f"texture duration {seconds:g} s is over the {cfg.max_duration:g} s limit; raise it with --max-duration"
        )
    timings: dict[str, float] = {}
    with stage(timings, "load"):
        if output is not None:
            inputs = [] if isinstance(source.source, np.ndarray) else [source.source]
            output = check_output_path(
                output,
                inputs=inputs,
                overwrite=overwrite,
                suffixes=AUDIO_OUTPUT_FORMATS,
            )
        device = resolve_device(cfg.device)
        wave, sr = source.read(cfg, parts.part(("read", 0)))
        if cfg.sample_rate:
            wave, sr = resample(wave, sr, cfg.sample_rate), cfg.sample_rate
        if cfg.mono:
            wave = wave.mean(axis=0, keepdims=True)
        audio_canvas = AudioCanvas(sr, device)
        wave = check_audio(
            wave,
            sr,
            min_samples=audio_canvas.min_samples,
            name=source.name,
        )
        # The style's quiet lead-in and tail are the file's: in a texture,
        # which has no start or end, they came back as dropouts in the
        # middle (the train's first 0.19 s: gaps of 0.1 s in its rumble).
        wave = sounding_part(wave, sr, audio_canvas.min_samples)
        length = round(seconds * sr)
        if length < audio_canvas.min_samples:
            raise AudiostError(
                f"texture duration {seconds:g} s is shorter than one analysis frame ({audio_canvas.min_samples / sr:.3f} s)"
            )
        # A loop is a whole number of STFT hops (11.6 ms at 44.1 kHz), so
        # its frames read across the end into the start.
        output_canvas = AudioCanvas(sr, device, circular=cfg.seamless)
        if cfg.seamless:
            length = output_canvas.stft.loop_length(length)
        if output is not None:
            check_audio_output(output, sr, wave.shape[0], cfg.bit_depth)
        check_audio_memory(
            cfg,
            wave.shape[0],
            max(length, wave.shape[1]),
            sr,
            device,
            audio_input_name(source.source, "style"),
        )

    with stage(timings, "style", device):
        # A near-mono stereo style is laid out as mono: synthesised once and
        # written to both channels (finish_audio's ``channels``).
        styled_wave, is_mid_side = style_layout(wave, wave.shape[0])
        style_canvas = audio_canvas.encode_canvas(
            styled_wave, parts.part(("encode", 0))
        )
        targets = prepare_style(
            cfg,
            build_network(cfg, audio_canvas.stft.n_bins, sr).to(device),
            style_canvas,
            sr=sr,
            parts=parts,
        )
        network = targets.network
        terms = style_terms(cfg, targets)
        frames = output_canvas.stft.frame_count(length)
        max_lag = min(
            style_canvas.shape[-1] // 2,
            frames // 2,
            round(MAX_RHYTHM_S * sr / audio_canvas.stft.hop),
        )
        if max_lag >= 1:
            rhythms = autocorrelations_in_blocks(
                network,
                style_canvas,
                list(network.style_layers),
                max_lag,
                progress=parts.part(("rhythm", 0)),
            )
            terms += [
                Term(
                    f"rhythm:{name}",
                    AutocorrelationLoss(None, max_lag, target=rhythm),
                    rhythm_weight / len(network.style_layers),
                    name,
                )
                for name, rhythm in rhythms.items()
            ]
        if cfg.seamless:
            # The loop's features read across its seam, which is then judged
            # like any moment. The style's statistics stay zero-padded: its
            # canvas is centred on its mean, so the zeros are its average
            # level, not an edge, and reflecting it moved no loop's distance
            # by more than 0.11 dB, either way (six styles, balanced).
            network.pad_edges("circular")
        objective = Objective(network, terms)
        generator = torch.Generator(device).manual_seed(cfg.seed)
        grain = max(1, round(GRAIN_S * audio_canvas.frames_per_second))
        init = grains_in_random_order(style_canvas, frames, grain, generator)
        if cfg.seamless:
            # The seam in the middle of a grain, where the start runs on as
            # the style did, not between two grains.
            init = init.roll(grain // 2, dims=-1)
        parts.finish()

    with stage(timings, "optimise", device):
        result = optimise_with(
            cfg,
            objective,
            init,
            min_value=0.0,
            on_step=on_step,
        )

    with stage(timings, "reconstruct", device):
        # There is no content phase to start from: PGHI's estimate from the
        # magnitude beats a random start (docs/phase_reconstruction.md),
        # unless a random start is asked for.
        phase = None
        if cfg.phase_init != "random":
            phase = pghi_phase(
                output_canvas.magnitude(result.canvas),
                output_canvas.stft,
                generator=generator,
            )
        synthesised = output_canvas.decode(
            result.canvas,
            length,
            n_iter=cfg.gl_iters,
            phase=phase,
            generator=generator,
        )
    waveform = optimise_waveform(
        cfg,
        output_canvas,
        synthesised,
        [(0, frames)],
        lambda start, stop: objective,
        timings,
        on_step,
    )
    texture = finish_audio(
        cfg,
        device,
        output_canvas,
        result,
        synthesised,
        wave,
        timings,
        output,
        mid_side=is_mid_side,
        waveform=waveform,
        channels=wave.shape[0],
        command="texture",
    )
    if cfg.seamless and output is not None and output.suffix.lower() == ".mp3":
        texture.warnings.append(
            f"{output.name}: MP3 does not keep a loop seamless (its encoder treats the "
            "file's ends as ends: a join that measured 0.9 as WAV measured 39); "
            "write .wav, .flac or .ogg for a loop"
        )
    return texture


def grains_in_random_order(
    canvas: torch.Tensor, frames: int, grain: int, generator: torch.Generator
) -> torch.Tensor:
    """``frames`` frames of ``canvas`` ``(N, 1, bins, F)``: its grains of ``grain`` consecutive frames in random order; the texture's start.

    Every grain is used once before any is used again (each pass cuts the
    style at a random offset, so its last frames are not always left out),
    the same order in every channel (mid and side stay together). The start
    then has the style's time-blind statistics (each bin's levels, which
    bins rise together) and none of its timeline, and the optimisation
    builds what happens over time. From noise shaped by the style's
    average spectrum, 80 iterations did not make a sparse style's quiet
    moments: the tabla loop's texture was a steady hiss (style gain 0.09,
    noise floor 32 dB above the style's). From single frames in random
    order (``grain`` 1) they made them on the canvas, but no signal has
    that canvas (neighbouring frames overlap by 75 % and were unrelated):
    the audio written scored five times its canvas's loss, and the tabla's
    gaps came back +12.5 dB (style gain 0.53). Grains of :data:`GRAIN_S`
    keep each stroke's attack and decay together: 0.90 and +2.1 dB, with no
    stretch of the source replayed for more than about a grain (0.05 to
    0.10 s on ten styles; docs/quality.md).
    """
    count = canvas.shape[-1]
    grain = max(1, min(grain, count))
    per_pass = count // grain
    spare = count - per_pass * grain
    within = torch.arange(grain, device=canvas.device)
    passes = []
    for _ in range(-(-frames // (per_pass * grain))):
        offset = torch.randint(
            spare + 1, (1,), generator=generator, device=canvas.device
        )
        starts = offset + grain * torch.randperm(
            per_pass, generator=generator, device=canvas.device
        )
        passes.append((starts[:, None] + within).reshape(-1))
    return canvas[..., torch.cat(passes)[:frames]].contiguous()
