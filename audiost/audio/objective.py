"""What an audio transfer optimises: the feature network, the style's targets, the terms and the start.

:func:`build_problem` is the one build step the pipeline, textures and
benchmarks share: the objective for one content canvas and the canvas the
optimiser starts from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
from torch import nn

from ..config import AudioConfig
from ..engine import (
    STYLE_LOSSES,
    AutocorrelationLoss,
    ContentLoss,
    EnvelopeCorrelationLoss,
    EnvelopeLoss,
    LevelDistributionLoss,
    Objective,
    PitchClassLoss,
    Term,
    TimeWindows,
)
from ..engine.blocks import autocovariances_in_blocks, statistics_in_blocks
from ..engine.parts import SILENT, Fraction, Parts
from ..features import VGG, AffineInput, BandedSpectralConv, FeatureNetwork
from ..features.spectral_conv import F_MIN, log_frequency_matrix
from ..media.mel import pitch_class_matrix
from ..media.stft import Stft

# log1p(|S| / floor) reaches about 12 at full scale: this maps it into [0, 1] for VGG.
_CANVAS_TO_IMAGE = 1 / 12

#: How far (20 dB, in canvas units) the start may rise above the style's
#: loudest in a bin. Measured on the corpus table: 0 flattened a content's
#: onsets, 40 dB left the train x 8 kHz hold music pair its slow residue.
_START_HEADROOM = math.log(10)

#: A morph's windows start this often (s) and last twice as long: long
#: enough for a window's statistics to be a texture's, short enough that the
#: style moves smoothly.
MORPH_HOP_S = 1.0

#: The band-envelope term's bands per octave and window (s): STOI's third
#: octaves and 384 ms (Taal et al. 2011).
ENVELOPE_BANDS_PER_OCTAVE = 3
ENVELOPE_WINDOW_S = 0.384
#: A band counts for the band-envelope term if the style is ever within
#: this of its loudest band there: where it never sounds, no envelope can
#: follow the content's without adding a band the style lacks.
ENVELOPE_STYLE_RANGE_DB = 40.0

#: The modulation term's longest lag (s): a quarter second holds a croak's,
#: a tremolo's or a roll's cycle (4 Hz and faster), shorter than the
#: syllables and beats a transfer takes from its content.
MODULATION_S = 0.25
#: The canvas bins folded into pitch classes for the content's notes: a
#: tune's notes and their harmonics. From 100 Hz: below it a canvas bin
#: (21.5 Hz at 44.1 kHz) spans several semitones, and so above 4 kHz do
#: the notes' upper harmonics' own wobbles.
PITCH_BAND_HZ = (100.0, 4000.0)

#: What each step of a style's analysis costs per second of style, in
#: seconds for ten minutes of stereo (2-core CPU, ``balanced``): a long
#: style's progress fills by these (:func:`analysis_parts`). ``rhythm`` is a
#: texture's (lags of 4 s), ``modulation`` a transfer's with a modulation term
#: (1.85 s for a minute of stereo against the statistics' 0.34).
ANALYSIS_COSTS = {
    "read": 1.1,
    "encode": 1.9,
    "statistics": 4.0,
    "distribution": 2.7,
    "rhythm": 24.6,
    "modulation": 18.5,
}
#: A transfer's steps (a texture adds ``rhythm``; a modulation term, ``modulation``).
ANALYSIS_STEPS = ("read", "encode", "statistics", "distribution")


def analysis_steps(cfg: AudioConfig) -> tuple[str, ...]:
    """The steps of a transfer's style analysis under ``cfg``."""
    return ANALYSIS_STEPS + (("modulation",) if cfg.modulation_weight else ())


@dataclass
class StyleTargets:
    """What a style contributes to every objective.

    ``network`` is the feature network as it looks at canvases for this
    style (centred on its spectrum where the network asks for it),
    ``base`` the same network without that view, and ``losses`` the
    style's loss modules by term name.
    """

    network: FeatureNetwork
    base: FeatureNetwork
    losses: dict[str, nn.Module]
    #: The style's loudest log-magnitude in each bin, ``(N, 1, bins, 1)``.
    loudest: torch.Tensor
    #: The canvases' sample rate, which places their bins in Hz.
    sr: int
    #: The style (and so the content) is styled as mid and side, not left and right.
    mid_side: bool = False
    #: For a morph, each style's own losses, first to last: :meth:`during`
    #: blends them for each stretch of the content.
    morph: list[dict[str, nn.Module]] | None = None
    #: For mid/side styles and ``cfg.stereo`` (a mono content widened), how
    #: wide each bin is: the side's amplitude over the mid's, ``(bins,)``
    #: (:func:`style_width`).
    width: torch.Tensor | None = None

    def during(
        self, start: int, stop: int, total: int, per_second: float
    ) -> StyleTargets:
        """The targets for frames ``start:stop`` of a content ``total`` frames long (``per_second`` frames a second).

        Unchanged unless the style is a morph; then each term matches, in
        windows :data:`MORPH_HOP_S` apart, the blend of the styles at the
        window's place in the content (:func:`morph_shares`).
        """
        if self.morph is None:
            return self
        count = max(1, round((stop - start) / per_second / MORPH_HOP_S) - 1)
        hop = (stop - start) / (count + 1)
        places = [_place(start + k * hop, 2 * hop, total) for k in range(count)]
        losses = {
            name: TimeWindows(
                [
                    type(first).blend(
                        [style[name] for style in self.morph],
                        morph_shares(place, len(self.morph)),
                    )
                    for place in places
                ]
            )
            for name, first in self.morph[0].items()
        }
        return replace(self, losses=losses)


def _place(first: float, length: float, total: int) -> float:
    """Where a window of ``length`` frames from ``first`` lies in a content of ``total`` frames: 0 at its start, 1 at its end."""
    if total <= length:
        return 0.5
    return min(max(first / (total - length), 0.0), 1.0)


def morph_shares(place: float, count: int) -> list[float]:
    """Each of ``count`` styles' share at ``place`` (0 to 1) in a morph: from the first to the last, two neighbours at a time."""
    position = place * (count - 1)
    lower = min(int(position), count - 2)
    shares = [0.0] * count
    shares[lower] = lower + 1 - position
    shares[lower + 1] = position - lower
    return shares


def analysis_parts(
    report: Fraction | None,
    seconds: Sequence[float],
    steps: Sequence[str] = ANALYSIS_STEPS,
) -> Parts:
    """The progress of analysing styles ``seconds`` long, by ``steps`` of :data:`ANALYSIS_COSTS`; parts keyed ``(step, style's index)``."""
    return Parts(
        report,
        {
            (step, index): ANALYSIS_COSTS[step] * length
            for index, length in enumerate(seconds)
            for step in steps
        },
    )


def prepare_styles(
    cfg: AudioConfig,
    network: FeatureNetwork,
    canvases: list[torch.Tensor],
    *,
    sr: int,
    mid_side: bool = False,
    parts: Parts = SILENT,
) -> StyleTargets:
    """The targets of one style, or of several blended by ``cfg.style_weights`` (or morphed, ``cfg.morph``).

    Every style is seen through one network: centred (where the network
    asks for it) on the styles' blended mean spectrum, so that their
    statistics are comparable and their blend is that of the styles heard
    in those proportions. The start's cap is the loudest any style is in
    each bin, so no style's band starts empty. ``parts``: the progress
    (:func:`analysis_parts`), advanced in its ``statistics`` and
    ``distribution`` steps.
    """
    if len(canvases) == 1:
        return prepare_style(
            cfg, network, canvases[0], sr=sr, mid_side=mid_side, parts=parts
        )
    shares = style_shares(cfg.style_weights, len(canvases))
    base = network
    if network.centre_on_style:
        shift = sum(
            share * canvas.mean(dim=(1, 3), keepdim=True)
            for canvas, share in zip(canvases, shares, strict=True)
        )
        network = AffineInput(network, shift=shift)
    each = [
        _style_losses(cfg, network, base, canvas, sr, parts, index)
        for index, canvas in enumerate(canvases)
    ]
    loudest = torch.stack([c.amax(dim=3, keepdim=True) for c in canvases]).amax(0)
    width = style_width(canvases, shares) if mid_side and cfg.stereo else None
    if cfg.morph:
        # No losses of its own: each stretch of content gets its blend from during().
        return StyleTargets(
            network, base, {}, loudest, sr, mid_side, morph=each, width=width
        )
    blended = {
        name: type(first).blend([losses[name] for losses in each], shares)
        for name, first in each[0].items()
    }
    return StyleTargets(network, base, blended, loudest, sr, mid_side, width=width)


def style_shares(weights: tuple[float, ...], count: int) -> list[float]:
    """``weights`` normalised to sum to 1; equal shares when none are given."""
    if not weights:
        return [1 / count] * count
    if len(weights) != count:
        raise ValueError(f"{len(weights)} style weights given for {count} styles")
    return [weight / sum(weights) for weight in weights]


def prepare_style(
    cfg: AudioConfig,
    network: FeatureNetwork,
    canvas: torch.Tensor,
    *,
    sr: int,
    mid_side: bool = False,
    parts: Parts = SILENT,
) -> StyleTargets:
    """The style canvas's ``style_loss`` targets per style layer, its spectral envelope and level distribution.

    Every target is per channel of ``canvas`` (shape ``(N, 1, bins,
    frames)``, at ``sr``): a canvas of as many channels is matched channel by channel,
    a one-channel style drives every channel. A network that is
    ``centre_on_style`` sees every canvas minus this style's mean
    log-magnitude per bin. ``mid_side``: the canvas's channels are mid and
    side (:func:`style_layout`). ``parts``: as for :func:`prepare_styles`.
    """
    base = network
    if network.centre_on_style:
        network = AffineInput(network, shift=canvas.mean(dim=(1, 3), keepdim=True))
    losses = _style_losses(cfg, network, base, canvas, sr, parts, 0)
    return StyleTargets(
        network,
        base,
        losses,
        canvas.amax(dim=3, keepdim=True),
        sr,
        mid_side,
        width=style_width([canvas], [1.0]) if mid_side and cfg.stereo else None,
    )


#: Frames per block where :func:`style_width` sums a canvas's power.
_WIDTH_BLOCK = 4096


def style_width(canvases: list[torch.Tensor], shares: list[float]) -> torch.Tensor:
    """How wide mid/side style ``canvases`` are in each bin: the side's RMS amplitude over the mid's, ``(bins,)``, their powers blended by ``shares``.

    At most 1 (a side louder than its mid is anti-phase sound, which a
    widened voice should not start from); 0 where the style is silent.
    """
    power = canvases[0].new_zeros(2, canvases[0].shape[2])
    for canvas, share in zip(canvases, shares, strict=True):
        frames = canvas.shape[3]
        # A block at a time: an hour of style's canvas is gigabytes, and
        # its magnitudes would be as many again. The floor the canvas was
        # divided by cancels in the ratio.
        for start in range(0, frames, _WIDTH_BLOCK):
            block = canvas[:, 0, :, start : start + _WIDTH_BLOCK]
            power += share / frames * torch.expm1(block).square().sum(dim=2)
    mid, side = power
    return (side / mid.clamp_min(torch.finfo(mid.dtype).tiny)).sqrt().clamp(max=1.0)


def _style_losses(
    cfg: AudioConfig,
    network: FeatureNetwork,
    base: FeatureNetwork,
    canvas: torch.Tensor,
    sr: int,
    parts: Parts,
    index: int,
) -> dict[str, nn.Module]:
    """One style canvas's (at ``sr``) loss modules by term name: its statistics per style layer (seen through ``network``), spectral envelope, level distribution and, with a ``modulation_weight``, modulation.

    ``parts`` and ``index``: the analysis's progress, and which of its styles this is.
    """
    style_loss = STYLE_LOSSES[cfg.style_loss]
    statistics = statistics_in_blocks(
        network,
        canvas,
        dict.fromkeys(network.style_layers, style_loss),
        progress=parts.part(("statistics", index)),
    )
    losses: dict[str, nn.Module] = {
        f"style:{name}": style_loss(groups=network.groups).set_target(statistic)
        for name, statistic in statistics.items()
    }
    losses["spectral_envelope"] = EnvelopeLoss(canvas, "frequency")
    losses["level_distribution"] = LevelDistributionLoss(
        canvas, base.row_weights(), parts.part(("distribution", index))
    )
    if cfg.modulation_weight:
        lags = round(MODULATION_S * sr / Stft.for_rate(sr).hop)
        covariances = autocovariances_in_blocks(
            network,
            canvas,
            list(network.style_layers),
            max(1, min(lags, canvas.shape[-1] // 2)),
            progress=parts.part(("modulation", index)),
        )
        losses.update(
            {
                f"modulation:{name}": AutocorrelationLoss.from_autocovariance(c)
                for name, c in covariances.items()
            }
        )
    return losses


def build_network(cfg: AudioConfig, n_bins: int, sr: int) -> FeatureNetwork:
    """The feature network ``cfg.net`` names, for canvases of ``n_bins`` bins at ``sr``."""
    if cfg.net == "spectral-conv":
        return BandedSpectralConv(
            n_bins, sr, cfg.kernel_widths, cfg.n_filters, seed=cfg.seed
        )
    return AffineInput(VGG(cfg.net, cfg.weights, seed=cfg.seed), _CANVAS_TO_IMAGE)


def build_problem(
    cfg: AudioConfig,
    style: StyleTargets,
    content: torch.Tensor,
    generator: torch.Generator,
) -> tuple[Objective, torch.Tensor]:
    """The objective for one content canvas and the canvas the optimiser starts from (``init``: the capped content, or noise)."""
    start = (
        within_style_range(cfg, content, style)
        if cfg.init == "content"
        else noise_like(content, generator)
    )
    return build_objective(cfg, style, content), start


def build_objective(
    cfg: AudioConfig, style: StyleTargets, content: torch.Tensor
) -> Objective:
    """The transfer's objective for one content canvas.

    ``content_weight`` weighs what is taken from the content (its features,
    its level in every bin and frame, when each band rises and falls
    (:func:`band_envelope_loss`), which notes sound when
    (:func:`pitch_class_loss`), and its loudness over time),
    ``style_weight`` what is taken from the style (its statistics and its
    average spectrum): at ``style_weight=0`` the result is the content,
    and raising it moves the result steadily toward the style's texture.

    The content's level (``content_level``: the canvas itself, relative
    squared error) is what a small style weight is weighed against: the
    features see each bin's variation through log-frequency bands, so
    without it L-BFGS took the style's levels there at any weight (a steady
    bed 10 dB over both inputs' floors at strength 0.1). It is also weighed
    by the content's share of the two weights, so that it fades as the
    style takes over (docs/quality.md, session 19).
    """
    network = style.network
    content_weight = cfg.content_weight / len(network.content_layers)
    if style.base.centre_on_style:
        terms = [
            Term(
                f"content:{name}",
                VariationContentLoss(style.base, name, content),
                content_weight,
            )
            for name in network.content_layers
        ]
    else:  # VGG on the spectrogram: the canvas's own features (Gatys et al.)
        with torch.no_grad():
            targets = network(content, network.content_layers)
        terms = [
            Term(f"content:{name}", ContentLoss(targets[name]), content_weight, name)
            for name in network.content_layers
        ]
    if cfg.content_level_weight and cfg.content_weight:
        # Weighed by the content's share of the two weights as well: it
        # holds a low strength to the content, and fades as the style takes over.
        share = cfg.content_weight / (cfg.content_weight + cfg.style_weight)
        terms.append(
            Term(
                "content_level",
                ContentLoss(content),
                cfg.content_weight * cfg.content_level_weight * share,
            )
        )
    if cfg.band_envelope_weight and cfg.content_weight:
        terms.append(
            Term(
                "band_envelopes",
                band_envelope_loss(content, style),
                cfg.content_weight * cfg.band_envelope_weight,
            )
        )
    if cfg.pitch_weight and cfg.content_weight:
        terms.append(
            Term(
                "pitch_classes",
                pitch_class_loss(content, style.sr),
                cfg.content_weight * cfg.pitch_weight,
            )
        )
    # Off by default: built only when asked for, not once per section for nothing.
    if cfg.temporal_envelope_weight:
        terms.append(
            Term(
                "temporal_envelope",
                EnvelopeLoss(content, "time"),
                cfg.content_weight * cfg.temporal_envelope_weight,
            )
        )
    return Objective(
        network, terms + style_terms(cfg, style) + modulation_terms(cfg, style)
    )


def band_envelope_loss(
    content: torch.Tensor, style: StyleTargets
) -> EnvelopeCorrelationLoss:
    """The content's envelope in every third octave (from 40 Hz) the style sounds in, as a correlation to keep.

    Bands are measured on the canvas's bins (``style.sr``); a band counts
    if the style's loudest there is within :data:`ENVELOPE_STYLE_RANGE_DB`
    of its loudest band's (train x 8 kHz hold music: asked for in the
    bands above 4 kHz too, the term took the style gain from 0.84 to 0.72).
    """
    n_bins = content.shape[-2]
    octaves = math.log2(style.sr / 2 / F_MIN)
    bands = log_frequency_matrix(
        n_bins, style.sr, round(ENVELOPE_BANDS_PER_OCTAVE * octaves), F_MIN
    ).to(content.device)
    n, _, bins, _ = style.loudest.shape
    loudest = torch.matmul(bands, style.loudest.reshape(n, bins, 1))
    # Canvas units are nepers (log1p of a magnitude): 1 is 8.7 dB.
    sounding = loudest >= loudest.amax(dim=1, keepdim=True) - (
        ENVELOPE_STYLE_RANGE_DB / (20 * math.log10(math.e))
    )
    window = round(ENVELOPE_WINDOW_S * style.sr / Stft.for_rate(style.sr).hop)
    return EnvelopeCorrelationLoss(content, bands, window, sounding)


def pitch_class_loss(content: torch.Tensor, sr: int) -> PitchClassLoss:
    """The content's pitch classes in every frame, as a correlation to keep (:data:`PITCH_BAND_HZ` of the canvas's bins at ``sr``)."""
    folding = pitch_class_matrix(content.shape[-2], sr, *PITCH_BAND_HZ)
    return PitchClassLoss(content, torch.from_numpy(folding).to(content.device))


def style_terms(cfg: AudioConfig, style: StyleTargets) -> list[Term]:
    """Every term taken from the style, scaled by ``style_weight``: its statistics per layer, average spectrum and level distribution.

    Shared by transfers and textures, so both weigh the style the same way.
    """
    layers = style.network.style_layers
    terms = [
        Term(
            f"style:{name}",
            style.losses[f"style:{name}"],
            cfg.style_weight / len(layers),
            name,
        )
        for name in layers
    ]
    return terms + [
        Term(name, style.losses[name], cfg.style_weight * weight)
        for name, weight in (
            ("spectral_envelope", cfg.spectral_envelope_weight),
            ("level_distribution", cfg.level_distribution_weight),
        )
        if weight
    ]


def modulation_terms(cfg: AudioConfig, style: StyleTargets) -> list[Term]:
    """A transfer's modulation term, ``modulation_weight`` times ``style_weight``: each style feature's autocorrelation at lags up to :data:`MODULATION_S`.

    The statistics average over time, so a transfer had the frogs' band
    but not their croaks: its modulation spectrum was no nearer the
    style's than the content's was (docs/quality.md, session 28). A
    texture's rhythm term covers these lags and more, so textures do not
    add it.
    """
    if not cfg.modulation_weight:
        return []
    layers = style.network.style_layers
    return [
        Term(
            f"modulation:{name}",
            style.losses[f"modulation:{name}"],
            cfg.style_weight * cfg.modulation_weight / len(layers),
            name,
        )
        for name in layers
    ]


class VariationContentLoss(nn.Module):
    """Content loss on the features of how the canvas varies over time: each bin minus its mean over frames.

    The content is then what happens when (articulation, notes, onsets),
    not the content's average spectrum, which the style's spectral
    envelope and statistics are free to replace: on the corpus table this
    kept more of the content (onset correlation 0.84 to 0.86) and let more
    of the style in (style gain 0.80 to 0.83) than features of the canvas
    itself.
    """

    def __init__(self, network: FeatureNetwork, layer: str, content: torch.Tensor):
        super().__init__()
        self.network, self.layer = network, layer
        with torch.no_grad():
            self.loss = ContentLoss(self.features(content))

    def features(self, canvas: torch.Tensor) -> torch.Tensor:
        varying = canvas - canvas.mean(dim=-1, keepdim=True)
        return self.network(varying, [self.layer])[self.layer]

    def forward(self, canvas: torch.Tensor) -> torch.Tensor:
        return self.loss(self.features(canvas))


def within_style_range(
    cfg: AudioConfig, canvas: torch.Tensor, style: StyleTargets
) -> torch.Tensor:
    """``canvas`` at most :data:`_START_HEADROOM` louder in any bin than the style ever is there (unchanged when the style has no weight).

    The start: a band the style lacks then starts nearly empty, and
    emptying it is slow (train x 8 kHz hold music kept a residue 78 dB
    down above 4 kHz after 80 iterations; style gain 0.74, from this start
    0.86). A start, not a bound: the optimiser may raise any cell. Capped
    at the style's loudest itself, the engine's onsets were flattened where
    they outdo the didgeridoo's drone (content kept 0.83 to 0.76).

    And what is decoded: an L-BFGS iterate can hold a single cell 70 dB
    above the rest (the loss barely sees one cell; the decoded audio is
    dominated by it), which the next iteration removes. Seen mid-run (``fast``, iteration 10
    of 20); no final canvas of the quality table reaches the cap, so it
    guards intermediate results and unlucky endings only.
    """
    if not cfg.style_weight:
        return canvas
    return torch.minimum(canvas, style.loudest + _START_HEADROOM)


def noise_like(canvas: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Uniform noise at half the canvas's mean level: the classic texture-synthesis start."""
    noise = torch.rand(canvas.shape, generator=generator, device=canvas.device)
    return noise * canvas.mean()
