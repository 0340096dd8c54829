"""Transfer settings and the presets that bundle them."""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .limits import (
    MAX_CHANNELS,
    MAX_DURATION_S,
    MAX_MEGAPIXELS,
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    check_memory_setting,
)

if TYPE_CHECKING:
    from typing_extensions import Self  # typing's own from Python 3.11

#: The ``style_loss`` choices: the keys of ``audiost.engine.STYLE_LOSSES``,
#: spelled out here so that reading settings does not import torch.
STYLE_LOSS_NAMES = ("gram", "meanstd")
#: ``loudness`` choices (``audiost.media.loudness``), here so settings need no numpy.
LOUDNESS_CHOICES = ("lufs", "rms", "none")
#: Output sample formats: 16- and 24-bit integers, 32-bit float.
BIT_DEPTHS = ("16", "24", "32f")
#: What the waveform stage moves (``audiost.audio.waveform``).
WAVE_VARIABLES = ("samples", "magnitudes")
#: Settings added since audiost first wrote records whose value here does
#: what the audiost before them did (the others: 0 or false, a term off).
AS_BEFORE: dict[str, Any] = {"wave_variable": "samples"}
#: The ``device`` choices (``cuda:N`` picks a GPU); ``auto``: CUDA, then MPS, then the CPU.
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
#: Seeds go to torch's generators, which take 64-bit integers.
MAX_SEED = 2**63 - 1


class _Settings:
    """What both configurations share: copies with some settings changed."""

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied; ``None`` values are ignored (unset CLI options).

        ``strength`` (0 to 1) stands for both weights, around this kind's
        own defaults (:func:`strength_weights`). An unknown name is a
        TypeError that says what was likely meant:
        ``transfer_audio(..., preset="fast")`` said only that
        ``AudioConfig.__init__()`` got an unexpected keyword.
        """
        changes = {k: v for k, v in changes.items() if v is not None}
        if "strength" in changes:
            weights = {"content_weight", "style_weight"} & changes.keys()
            if weights:
                raise ValueError(
                    f"give strength or {' and '.join(sorted(weights))}, not both"
                )
            changes |= strength_weights(changes.pop("strength"), type(self))
        names = {field.name for field in dataclasses.fields(self)}
        for name in changes.keys() - names:
            raise TypeError(
                f"{type(self).__name__} has no setting {name!r}{_hint(name, names)}"
            )
        return replace(self, **changes)


def setting_names(kind: type[AudioConfig | ImageConfig]) -> frozenset[str]:
    """Every name ``kind``'s ``replace`` (and so a preset, a recipe, an option) takes: its fields, and ``strength``."""
    return frozenset({field.name for field in dataclasses.fields(kind)} | {"strength"})


#: What a name that is no setting most likely meant, for names the CLI has
#: as options but the settings do not.
_NOT_SETTINGS = {
    "preset": ": a preset is the config, config=audio_preset('fast') (or image_preset)",
}


def _hint(name: str, names: set[str]) -> str:
    if name in _NOT_SETTINGS:
        return _NOT_SETTINGS[name]
    close = difflib.get_close_matches(name, sorted(names), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


@dataclass(frozen=True)
class AudioConfig(_Settings):
    """Everything that shapes an audio transfer.

    Weights are relative: each loss is normalised by its target's size, so
    ``style_weight=1`` and ``content_weight=1`` pull about equally hard.
    ``content_weight`` scales everything taken from the content (its
    features; times ``content_level_weight`` and the content's share of
    the two weights, its level in every bin and frame, which the
    features, pooled over frequency (the spectral network's log bands, a
    VGG's max-pooling) and without each bin's mean, cannot hold; times
    ``band_envelope_weight``, when each third octave's level rises and
    falls, which keeps words intelligible; times ``pitch_weight``, which
    notes sound in each moment (its pitch classes), which keeps a tune;
    and,
    times ``temporal_envelope_weight``, its loudness over time: off by
    default, as the features already carry the content's timing and the
    envelope kept the style's dark moments out),
    ``style_weight`` everything taken from the style (its statistics
    and, times ``spectral_envelope_weight``, its average spectrum, times
    ``level_distribution_weight``, how each frequency's level is
    distributed over time: its dynamics and its quiet moments, and, times
    ``modulation_weight``, how its sound pulses and trembles within a
    quarter second: off by default, as it trades the content's onsets for
    the style's), so
    ``style_weight=0`` gives the content back and raising it moves the
    result toward the style (:func:`strength_weights` sets both from one
    number). ``net`` is the random multi-width ``"spectral-conv"`` network
    (filters per log-frequency band), or
    ``"vgg19"``/``"vgg16"`` looking at the spectrogram as an image (Verma &
    Smith 2018; ``weights`` as for images); ``kernel_widths`` and
    ``n_filters`` (per band) shape the spectral network only. ``style_loss`` is the
    style statistic matched at each layer: ``"gram"``, the channel
    correlations (Gatys et al. 2015), or ``"meanstd"``, each channel's mean
    and standard deviation (Li et al. 2017).
    """

    iters: int = 60
    content_weight: float = 1.0
    style_weight: float = 6.0
    style_loss: str = "gram"
    content_level_weight: float = 2.0
    band_envelope_weight: float = 0.5
    pitch_weight: float = 0.5
    temporal_envelope_weight: float = 0.0
    spectral_envelope_weight: float = 0.01
    level_distribution_weight: float = 3.0
    modulation_weight: float = 0.0
    optimizer: str = "lbfgs"
    lr: float | None = None
    init: str = "content"
    net: str = "spectral-conv"
    weights: str | None = None
    kernel_widths: tuple[int, ...] = (3, 7, 15)
    n_filters: int = 128
    gl_iters: int = 64
    # L-BFGS iterations on the samples after Griffin-Lim, against the same
    # objective (audiost.audio.waveform); 0: write Griffin-Lim's result.
    wave_iters: int = 20
    # What those iterations move: "samples", or "magnitudes", the frames'
    # log-magnitudes at their phase (audiost.audio.waveform.optimise_waveform).
    wave_variable: str = "samples"
    # Griffin-Lim start: "content", "random" or "pghi" (docs/phase_reconstruction.md).
    phase_init: str = "content"
    # The output's level: the content's "lufs" (BS.1770, -1 dBTP ceiling) or
    # "rms", or "none" (as reconstructed); audiost.media.loudness.
    loudness: str = "lufs"
    # Dry/wet: 1 = the styled result, 0 = the content; in between, a blend.
    mix: float = 1.0
    # Output sample format: "16", "24" (integer PCM) or "32f" (float); lossy
    # formats (OGG, MP3) have none.
    bit_depth: str = "24"
    # Several styles: blended in these proportions (equal if empty), or, with
    # morph, from the first to the last over the content's duration.
    style_weights: tuple[float, ...] = ()
    morph: bool = False
    # Longer contents are styled in overlapping sections of this length, so
    # memory stays bounded; every section matches the whole style.
    section_seconds: float = 30.0
    mono: bool = False
    # A mono content's result in stereo, as wide as a stereo style
    # (audiost.audio.inputs.widened); a transfer's setting.
    stereo: bool = False
    sample_rate: int | None = None
    # Textures: the result loops, its end running into its start without a
    # seam (a transfer follows its content's timeline and cannot).
    seamless: bool = False
    seed: int = 0
    device: str = "auto"
    # Limits (see audiost.limits): what one run may read and use.
    max_duration: float = MAX_DURATION_S
    max_channels: int = MAX_CHANNELS
    max_memory: str | None = None

    def __post_init__(self) -> None:
        _check_choice("optimizer", self.optimizer, ("lbfgs", "adam"))
        _check_choice("init", self.init, ("content", "noise"))
        if self.mono and self.stereo:
            raise ValueError("give mono or stereo, not both")
        if self.seamless and self.net != "spectral-conv":
            raise ValueError(
                "a seamless texture needs the spectral-conv network: a VGG would wrap the spectrogram's frequencies too"
            )
        _check_choice("phase_init", self.phase_init, ("content", "random", "pghi"))
        _check_choice("wave_variable", self.wave_variable, WAVE_VARIABLES)
        _check_choice("net", self.net, ("spectral-conv", "vgg19", "vgg16"))
        _check_choice("style_loss", self.style_loss, STYLE_LOSS_NAMES)
        _check_choice("loudness", self.loudness, LOUDNESS_CHOICES)
        if isinstance(self.bit_depth, int):  # bit_depth = 16 in a recipe
            object.__setattr__(self, "bit_depth", str(self.bit_depth))
        _check_choice("bit_depth", self.bit_depth, BIT_DEPTHS)
        if not 0 <= self.mix <= 1:
            raise ValueError(
                f"mix must be between 0 (dry) and 1 (styled), got {self.mix}"
            )
        if self.iters < 0 or self.gl_iters < 0 or self.wave_iters < 0:
            raise ValueError("iteration counts must be >= 0")
        object.__setattr__(
            self, "style_weights", tuple(float(w) for w in self.style_weights)
        )
        _check_weights(
            self.content_weight,
            self.style_weight,
            self.content_level_weight,
            self.band_envelope_weight,
            self.pitch_weight,
            self.temporal_envelope_weight,
            self.spectral_envelope_weight,
            self.level_distribution_weight,
            self.modulation_weight,
            *self.style_weights,
        )
        if self.style_weights and not sum(self.style_weights) > 0:
            raise ValueError("style_weights must not all be 0")
        if self.morph and self.style_weights:
            raise ValueError(
                "morph moves from the first style to the last; give it no style_weights"
            )
        _check_lr(self.lr)
        _check_seed(self.seed)
        if self.sample_rate is not None and not (
            MIN_SAMPLE_RATE <= self.sample_rate <= MAX_SAMPLE_RATE
        ):
            raise ValueError(
                f"sample_rate must be between {MIN_SAMPLE_RATE} and {MAX_SAMPLE_RATE} Hz"
            )
        if self.n_filters < 1 or not self.kernel_widths:
            raise ValueError("need at least one kernel width and one filter")
        if not 6 <= self.section_seconds < math.inf:
            raise ValueError("section_seconds must be at least 6")
        if not self.max_duration > 0 or self.max_channels < 1:
            raise ValueError("max_duration and max_channels must be positive")
        check_memory_setting(self.max_memory)


#: Presets trade time for quality, measured on the corpus table of
#: scripts/bench_quality.py (docs/presets.md). ``fast`` has half the
#: filters and two branches; ``best`` adds a 0.36 s branch for longer
#: patterns. More iterations did not help: at 100, style gain and content
#: kept both fell on the table (the optimiser finds louder sub-bass and
#: sharper clicks that the statistics allow). A fifth of them are better
#: spent on the samples after Griffin-Lim (``wave_iters``): 60 + 20 beat
#: 80 + 0 on every summary figure in no more time.
#: Settings of a texture alone: a transfer follows its content's timeline.
TEXTURE_SETTINGS = ("seamless",)
#: Settings of a transfer alone: a texture's rhythm term covers the modulation
#: term's lags, and a texture has its style's channels already.
TRANSFER_SETTINGS = ("modulation_weight", "stereo")


AUDIO_PRESETS: dict[str, dict[str, Any]] = {
    "fast": {
        "iters": 30,
        "wave_iters": 10,
        "kernel_widths": (3, 9),
        "n_filters": 64,
        "gl_iters": 32,
    },
    "balanced": {},
    "best": {"kernel_widths": (3, 7, 15, 31)},
}


def audio_preset(name: str = "balanced", **overrides: Any) -> AudioConfig:
    """The named preset with explicit settings layered on top."""
    if name not in AUDIO_PRESETS:
        raise ValueError(
            f"unknown preset {name!r}; use one of {', '.join(AUDIO_PRESETS)}"
        )
    return AudioConfig().replace(**AUDIO_PRESETS[name]).replace(**overrides)


def strength_weights(
    strength: float, kind: type[AudioConfig | ImageConfig] | None = None
) -> dict[str, float]:
    """``content_weight`` and ``style_weight`` for a style strength from 0 to 1.

    0 keeps the content as it is, 0.5 gives the default balance of
    ``kind`` (:class:`AudioConfig`, the default: content 1, style 6;
    :class:`ImageConfig`: 1 and 30) and 1 drops the content's terms,
    leaving only the style's. In between, the style's weight relative to
    the content's grows tenfold every sixth of the range (audio: 0.06 at
    0.17, 0.6 at 0.33, 60 at 0.67): a transfer responds to the ratio on a
    log scale, and most of the change toward the style happens at small
    ratios (scripts/bench_quality.py --dial). The two weights always sum
    to the defaults' sum (audio 7, images 31).
    """
    if not 0 <= strength <= 1:
        raise ValueError(f"strength must be between 0 and 1, got {strength}")
    kind = kind or AudioConfig
    total = kind.content_weight + kind.style_weight
    if strength in (0, 1):
        return {
            "content_weight": total * (1 - strength),
            "style_weight": total * strength,
        }
    ratio = _default_ratio(kind) * 10 ** (6 * (strength - 0.5))
    return {
        "content_weight": total / (1 + ratio),
        "style_weight": total * ratio / (1 + ratio),
    }


def strength_of(config: AudioConfig | ImageConfig) -> float:
    """The strength (0 to 1) whose weights have ``config``'s balance: :func:`strength_weights` undone, however the weights were given."""
    if not config.style_weight:
        return 0.0
    if not config.content_weight:
        return 1.0
    ratio = config.style_weight / config.content_weight
    return min(
        max(0.5 + math.log10(ratio / _default_ratio(type(config))) / 6, 0.0), 1.0
    )


def _default_ratio(kind: type[AudioConfig | ImageConfig]) -> float:
    """Style weight over content weight at the kind's defaults: strength 0.5."""
    return kind.style_weight / kind.content_weight


def _check_weights(*weights: float) -> None:
    # NaN compares false with everything, so it is caught by the range test.
    if not all(0 <= w < math.inf for w in weights):
        raise ValueError(f"loss weights must be finite and >= 0, got {weights}")


def _check_seed(seed: int) -> None:
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be between 0 and {MAX_SEED}")


def _check_lr(lr: float | None) -> None:
    if lr is not None and not 0 < lr < math.inf:
        raise ValueError(f"lr must be a positive number, got {lr}")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


@dataclass(frozen=True)
class ImageConfig(_Settings):
    """Everything that shapes an image transfer.

    Weights are relative, as for audio: ``style_weight=10`` pulls ten times as
    hard as ``content_weight=1``. Layers may be given as a string with
    per-layer weights, ``"conv1_1:1,conv2_1:0.5"``, which fills
    ``style_layer_weights`` (or ``content_layer_weights``); layer weights are
    normalised to sum to 1, and so are ``style_weights`` across styles.

    Notes
    -----
    ``weights``: a local VGG state dict, ``"random"`` (seeded by ``seed``),
    or None for ``$AUDIOST_WEIGHTS`` or the ImageNet download.
    ``max_size``: the output's long side (images are never enlarged).
    ``start_size``: a larger picture is painted coarse to fine, first at
    this long side, then at steps of about ``scale_step`` up to its size
    (0: one pass at full size); ``iters`` is the first pass's iterations,
    ``refine_iters`` each refinement's. ``style_scale``: styles are resized to
    the pass's pixel count times its square (bigger strokes above 1).
    ``init``: the first pass starts from the content (``"content"``), the
    content recoloured to the styles' colour distribution (``"palette"``:
    the painting's palette from the first iteration), noise, or the style.
    ``preserve_color``: ``"none"`` takes the painting's palette (Gatys et
    al. 2015); ``"luminance"`` transfers brightness only and keeps the
    content's colours (YIQ); ``"histogram"`` recolours the styles to the
    content's colour mean and covariance first (Gatys et al. 2016).
    ``edge_weight``: weight of the content's outlines (the Laplacian of its
    luminance blurred by an eightieth of the long side, Li et al. 2017),
    which keep a subject recognisable where the style's flat fields would
    wash it out; 0 leaves the layout to the content layers alone; None
    (auto) is 1 for a style with almost no outlines of its own, else 0.
    ``style_loss``: the statistic matched at each style layer, as for audio.
    ``tile_size``: feature passes over canvases with a longer side go in
    tiles of at most this many pixels: the same result in the memory of one
    tile, for about 1.6 times the time; 0 tiles only what would not fit.
    """

    iters: int = 300
    refine_iters: int = 40
    content_weight: float = 1.0
    style_weight: float = 30.0
    style_loss: str = "gram"
    tv_weight: float = 0.01
    edge_weight: float | None = None
    optimizer: str = "lbfgs"
    lr: float | None = None
    init: str = "palette"
    net: str = "vgg19"
    weights: str | None = None
    pooling: str = "max"
    content_layers: tuple[str, ...] | str = ("conv4_2",)
    content_layer_weights: tuple[float, ...] = ()
    style_layers: tuple[str, ...] | str = (
        "conv1_1",
        "conv2_1",
        "conv3_1",
        "conv4_1",
        "conv5_1",
    )
    style_layer_weights: tuple[float, ...] = ()
    max_size: int = 512
    start_size: int = 256
    scale_step: float = 1.4
    style_weights: tuple[float, ...] = ()
    style_scale: float = 1.0
    preserve_color: str = "none"
    # Textures: the picture tiles, its right edge running into its left and
    # its bottom into its top without a seam.
    seamless: bool = False
    seed: int = 0
    device: str = "auto"
    # Limits (see audiost.limits): what one run may read and use.
    max_megapixels: float = MAX_MEGAPIXELS
    max_memory: str | None = None
    tile_size: int = 0

    def __post_init__(self) -> None:
        _check_choice("optimizer", self.optimizer, ("lbfgs", "adam"))
        _check_choice("init", self.init, ("content", "palette", "noise", "style"))
        _check_choice("net", self.net, ("vgg19", "vgg16"))
        _check_choice("pooling", self.pooling, ("max", "avg"))
        _check_choice("style_loss", self.style_loss, STYLE_LOSS_NAMES)
        _check_choice(
            "preserve_color", self.preserve_color, ("none", "luminance", "histogram")
        )
        for kind in ("content", "style"):
            names, weights = parse_layers(
                getattr(self, f"{kind}_layers"),
                getattr(self, f"{kind}_layer_weights"),
                kind,
            )
            object.__setattr__(self, f"{kind}_layers", names)
            object.__setattr__(self, f"{kind}_layer_weights", weights)
        object.__setattr__(
            self, "style_weights", tuple(float(w) for w in self.style_weights)
        )
        if self.iters < 0 or self.refine_iters < 0:
            raise ValueError("iters and refine_iters must be >= 0")
        _check_weights(
            self.content_weight,
            self.style_weight,
            self.tv_weight,
            *([] if self.edge_weight is None else [self.edge_weight]),
            *self.style_weights,
        )
        _check_lr(self.lr)
        _check_seed(self.seed)
        if self.style_weights and not sum(self.style_weights) > 0:
            raise ValueError("style_weights must not all be 0")
        if self.max_size < 16:
            raise ValueError("max_size must be at least 16 px")
        if self.start_size != 0 and self.start_size < 64:
            raise ValueError(
                f"start_size must be 0 (one pass at full size) or at least 64 px, got {self.start_size}"
            )
        if not 1.1 <= self.scale_step <= 4:
            raise ValueError(
                f"scale_step must be between 1.1 and 4, got {self.scale_step}"
            )
        if not 0.1 <= self.style_scale <= 4:
            raise ValueError("style_scale must be between 0.1 and 4")
        if not self.max_megapixels > 0:
            raise ValueError("max_megapixels must be positive")
        if self.tile_size != 0 and self.tile_size < 64:
            raise ValueError(
                f"tile_size must be 0 (tile only what does not fit) or at least 64 px, got {self.tile_size}"
            )
        check_memory_setting(self.max_memory)


def parse_layers(
    layers: tuple[str, ...] | str, weights: tuple[float, ...], kind: str
) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """``"a:1,b:0.5"`` or names plus weights -> (names, weights), checked."""
    if isinstance(layers, str):
        pairs = [
            item.strip().partition(":") for item in layers.split(",") if item.strip()
        ]
        layers = tuple(name.strip() for name, _, _ in pairs)
        if any(sep for _, sep, _ in pairs):
            try:
                weights = tuple(float(w) if sep else 1.0 for _, sep, w in pairs)
            except ValueError:
                raise ValueError(
                    f"{kind} layer weights must be numbers, e.g. 'conv1_1:1,conv2_1:0.5'"
                ) from None
    layers, weights = tuple(layers), tuple(float(w) for w in weights)
    if not layers:
        raise ValueError(f"need at least one {kind} layer")
    if len(set(layers)) != len(layers):
        raise ValueError(f"{kind} layers repeat a name: {', '.join(layers)}")
    if weights and len(weights) != len(layers):
        raise ValueError(
            f"{len(weights)} {kind} layer weights for {len(layers)} layers"
        )
    if not all(layers):
        raise ValueError(f"{kind} layers: a name is empty")
    if weights and (
        not all(0 <= w < math.inf for w in weights) or not sum(weights) > 0
    ):
        raise ValueError(f"{kind} layer weights must be finite, >= 0 and not all 0")
    return layers, weights


#: Image presets, chosen on the corpus table of scripts/bench_images.py
#: (docs/images.md). On the 2-core CPU with VGG16, one thread, balanced
#: takes about 3 min at 512 px (1.2x the one full-size pass it replaced),
#: fast under a minute at 256 px; best about twice balanced.
IMAGE_PRESETS: dict[str, dict[str, Any]] = {
    "fast": {"iters": 100, "max_size": 256},
    "balanced": {},
    "best": {"iters": 500, "refine_iters": 100},
}


def image_preset(name: str = "balanced", **overrides: Any) -> ImageConfig:
    """The named image preset with explicit settings layered on top."""
    if name not in IMAGE_PRESETS:
        raise ValueError(
            f"unknown preset {name!r}; use one of {', '.join(IMAGE_PRESETS)}"
        )
    return ImageConfig().replace(**IMAGE_PRESETS[name]).replace(**overrides)


#: Where a run happens, and what it may read and use there, is not part of what
#: it makes: a recipe saved on a GPU box re-runs unchanged on a laptop.
NOT_SAVED = {
    "device",
    "max_duration",
    "max_channels",
    "max_megapixels",
    "max_memory",
    "tile_size",
}


def settings_table(config: AudioConfig | ImageConfig) -> dict[str, Any]:
    """A configuration's settings as plain data (TOML, JSON): no None, lists for tuples, no machine-bound fields (device, limits)."""
    table = {}
    for name, value in dataclasses.asdict(config).items():
        if value is None or name in NOT_SAVED:
            continue
        table[name] = list(value) if isinstance(value, tuple) else value
    return table
