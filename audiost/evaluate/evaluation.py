"""What an evaluation returns, and what each of its measures means."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

Source = str | os.PathLike


@dataclass
class Evaluation:
    """Measures of one output; ``measures`` maps name to value (see the module docstring)."""

    kind: str
    measures: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: What each measure means, for ``audiost evaluate`` and the docs.
DESCRIPTIONS = {
    "style_gain": "share of the content's distance to the style closed by the output (0 = content, 1 = style)",
    "content_kept": "content structure kept (audio: onset-envelope correlation; images: 1 - relative feature distance)",
    "pitch_kept": "audio: the content's notes kept, each moment's pitch-class correlation weighed by how tonal the content is there (1 = the same notes, about 0 = unrelated; for tunes and singing, not for noise)",
    "style_distance_content": "distance of the content to the style's statistics",
    "style_distance_output": "distance of the output to the style's statistics",
    "content_distance_output": "distance of the output's deep features to the content's (images)",
    "content_distance_style": "distance of the style's deep features to the content's (images)",
    "style_onsets_content": "onset-envelope correlation of the content with the style (audio; their timelines are unrelated: about 0)",
    "style_onsets_output": "onset-envelope correlation of the output with the style (audio): near the content's own, or the style's timeline was pasted in",
    "modulation_gain": "audio: share of the content's distance to the style's modulation spectrum closed (how fast each band pulses and trembles, 1 to 64 Hz, which the statistics above average away; 0 = content, 1 = style)",
    "modulation_distance_content": "RMS difference (dB) of the content's modulation spectrum from the style's",
    "modulation_distance_output": "the same for the output",
    "noise_floor_db_content": "level of the content's quietest moments, dB re its mean power",
    "noise_floor_db_style": "level of the style's quietest moments, dB re its mean power",
    "noise_floor_db_output": "level of the output's quietest moments (a hiss floor raises it)",
    "noise_floor_added_db": "output's noise floor over the louder of the two inputs' floors: a floor neither input has (hiss) when above about 6 dB",
    "stereo_width_db_content": "audio: the content's side over its mid, dB of power (stereo only; -120 = the same in both channels)",
    "stereo_width_db_style": "audio: the same for the style (0 = two unrelated channels; stereo recordings mostly -20 to 0)",
    "stereo_width_db_output": "audio: the same for the output (transfer --stereo makes a mono content's as wide as the style's)",
    "speech_intelligibility": "audio, --speech: STOI of the output against the spoken content (1 = as intelligible, about 0.4 = words lost, above 0.75 most words follow)",
    "palette_gain": "images, network-free: share of the content's colour-distribution distance to the style closed (0 = content, 1 = style)",
    "palette_distance_content": "sliced Wasserstein distance of the content's colours to the style's (RGB, 0..1)",
    "palette_distance_output": "the same for the output",
    "structure_kept": "images, network-free: correlation of the output's edge map with the content's at 64 px (1 = same layout of light and dark, about 0 = unrelated)",
    "texture_gain": "images, network-free: share of the content's distance to the style's gradient statistics closed, seen at 256 px (strokes that scale with the picture count, a fine grain does not)",
    "texture_distance_content": "distance of the content's gradient statistics to the style's",
    "texture_distance_output": "the same for the output",
    "longest_replay_s": "textures (audio): seconds, the longest stretch of the output that follows the style frame by frame (new material: tenths at most; a copied stretch: its length)",
    "loop_seam": "textures (audio): how abrupt the end running into the start is, against the texture's median moment (a --seamless loop: about 1; a click: tens to hundreds)",
    "tile_seam": "textures (images): the colour step where copies of the picture meet, over the median step between two neighbouring lines inside (a --seamless tile: about 1; a cut: 1.15 to 1.33, the size of its most abrupt line or more)",
    "spectral_convergence": "reconstruction: | |STFT(audio written)| - the optimised spectrogram | / |spectrogram| (0 = consistent; the waveform stage, optimising the audio itself, may move it away)",
}
