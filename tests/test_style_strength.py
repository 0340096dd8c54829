"""Style strength: the banded spectral network, its per-band statistics, and transfers that take on the style.

The quality floors are measured values on short corpus pairs with the
``fast`` preset, less a margin; they fail when the descriptor regresses to
one that barely tells a voice from an orchestra (the state before band
filters, where the same pairs scored style gains near 0.2).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from audiost import (
    AudioResult,
    audio_preset,
    image_preset,
    resolve_recipe,
    transfer_audio,
)
from audiost.audio import synthesize_audio
from audiost.audio.inputs import style_layout
from audiost.audio.objective import band_envelope_loss, build_network, prepare_style
from audiost.config import AudioConfig, strength_weights
from audiost.engine import GramLoss, LevelDistributionLoss, MeanStdLoss, gram_matrix
from audiost.features import AffineInput, BandedSpectralConv, FeatureNetwork
from audiost.features.spectral_conv import (
    BAND_BINS,
    F_MIN,
    LOG_BINS,
    band_starts,
    log_frequency_matrix,
)
from audiost.media.audio import AudioCanvas, left_right
from audiost.media.audio_io import resample
from audiost.media.stereo import mid_side
from audiost.metrics import audio_measures, speech_intelligibility

from .conftest import clip

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize(("n_bins", "sr"), [(1025, 44100), (257, 8000), (33, 8000)])
def test_log_frequency_matrix_averages_the_bins_around_each_frequency(
    n_bins: int, sr: int
) -> None:
    matrix = log_frequency_matrix(n_bins, sr)
    assert matrix.shape == (LOG_BINS, n_bins)
    torch.testing.assert_close(matrix.sum(dim=1), torch.ones(LOG_BINS))
    freqs = torch.linspace(0, sr / 2, n_bins)
    reached = matrix.sum(dim=0) > 0
    spacing = sr / 2 / (n_bins - 1)
    # Every bin from F_MIN up is read; nothing more than a bin below it.
    assert reached[freqs >= F_MIN].all()
    assert not reached[freqs < F_MIN - spacing].any()
    # Each row is centred where it should be: log-spaced up to Nyquist.
    centres = (matrix * freqs).sum(dim=1)
    assert centres[-1] > 0.9 * sr / 2 and (centres.diff() >= -1e-3).all()


def test_bands_overlap_and_cover_every_log_bin() -> None:
    for n_log, band in ((LOG_BINS, BAND_BINS), (100, 32), (32, 32)):
        starts = band_starts(n_log, band)
        covered = torch.zeros(n_log, dtype=torch.int)
        for start in starts:
            covered[start : start + band] += 1
        assert (covered >= 1).all() and starts[-1] + band == n_log
    with pytest.raises(ValueError, match="does not fit"):
        band_starts(16, 32)


def test_each_band_reads_its_own_frequencies() -> None:
    # A change in the top octave moves only the features of the top bands.
    net = BandedSpectralConv(513, 16000, (3,), 8)
    canvas = torch.rand(1, 1, 513, 20) * 5
    louder = canvas.clone()
    louder[..., 400:, :] += 2
    before, after = (net(c, ["conv3"])["conv3"] for c in (canvas, louder))
    changed = (after - before).abs().reshape(1, net.groups, 8, 20).amax(dim=(0, 2, 3))
    assert changed[-1] > 0 and (changed[: net.groups // 2] == 0).all()


def test_row_weights_count_how_often_the_network_reads_each_bin() -> None:
    network = BandedSpectralConv(1025, 44100)
    weights = network.row_weights()
    assert weights.shape == (1025,) and float(weights.min()) == 1.0
    # Below about 900 Hz one linear bin makes up several log bins: 65 Hz
    # (bin 3) about 14 of them, 1 kHz and above at most one.
    assert float(weights[3]) > 10 and float(weights[2:40].min()) > 1
    assert torch.all(weights[50:] == 1)
    assert torch.equal(
        AffineInput(network, shift=torch.zeros(1)).row_weights(), weights
    )
    assert FeatureNetwork().row_weights() is None


def test_level_distribution_weighs_each_bin_by_its_row_weight() -> None:
    style = torch.rand(1, 1, 3, 10)
    off = style.clone()
    off[:, :, 0] += 1.0  # only bin 0 is off
    plain = float(LevelDistributionLoss(style)(off))
    heavy = float(LevelDistributionLoss(style, torch.tensor([5.0, 1.0, 1.0]))(off))
    light = float(LevelDistributionLoss(style, torch.tensor([1.0, 5.0, 5.0]))(off))
    assert (
        plain > 0
        and heavy == pytest.approx(5 * plain)
        and light == pytest.approx(plain)
    )


def test_grouped_gram_is_each_groups_own_and_weighs_groups_equally() -> None:
    features = torch.rand(2, 12, 30)
    grams = gram_matrix(features, groups=3)
    assert grams.shape == (2, 3, 4, 4)
    middle = features[:, 4:8]
    torch.testing.assert_close(grams[:, 1], middle @ middle.transpose(1, 2) / 30)
    torch.testing.assert_close(gram_matrix(features, 1), gram_matrix(features))
    # A loud group does not drown a quiet one: each is relative to itself.
    loud = features[:1].clone()
    loud[:, :4] *= 100
    for loss_type in (GramLoss, MeanStdLoss):
        loss = loss_type(loud, groups=3)
        wrong_quiet_group = loud.clone()
        wrong_quiet_group[:, 8:] = 0
        assert float(loss(wrong_quiet_group)) == pytest.approx(1 / 3, rel=1e-3)
    with pytest.raises(ValueError, match="do not split"):
        gram_matrix(features, groups=5)


def test_the_style_statistics_tell_a_voice_from_an_orchestra() -> None:
    """The issue's diagnosis: the former descriptor's relative Gram error between speech and an orchestra was 0.04-0.05."""
    voice, voice_sr = clip(
        "speech_librivox_austen_sense_and_sensibility_part2_16k_mono_s16.wav", 3.0
    )
    band, sr = clip("music_mariachi_mexico_44k_mono.mp3", 3.0)
    cfg = audio_preset()
    audio_canvas = AudioCanvas(sr)
    style = prepare_style(
        cfg,
        build_network(cfg, audio_canvas.stft.n_bins, sr),
        audio_canvas.encode(band)[0],
        sr=sr,
    )
    canvas = audio_canvas.encode(resample(voice, voice_sr, sr))[0]
    with torch.no_grad():
        features = style.network(canvas, style.network.style_layers)
        errors = [
            float(style.losses[f"style:{name}"](features[name]))
            for name in style.network.style_layers
        ]
    assert min(errors) > 0.5, errors


def test_strength_sets_both_weights() -> None:
    assert strength_weights(0) == {"content_weight": 7, "style_weight": 0}
    assert strength_weights(0.5) == pytest.approx(
        {"content_weight": 1, "style_weight": 6}
    )
    assert strength_weights(1) == {"content_weight": 0, "style_weight": 7}
    ratios = [
        w["style_weight"] / w["content_weight"]
        for w in map(strength_weights, (0.1, 0.25, 0.5, 0.75, 0.9))
    ]
    assert ratios == sorted(ratios)
    with pytest.raises(ValueError, match="strength"):
        strength_weights(1.5)


def test_strength_is_a_setting_of_both_kinds_around_each_kind_s_defaults() -> None:
    """``strength=0.5`` is each kind's default balance (images: 1 and 30, not audio's 1 and 6), in the API, the command line and a batch's recipe."""
    for make in (audio_preset, image_preset):
        defaults = make()
        half = make(strength=0.5)
        assert (half.content_weight, half.style_weight) == pytest.approx(
            (defaults.content_weight, defaults.style_weight)
        )
        assert make(strength=0.25).style_weight < defaults.style_weight
        with pytest.raises(ValueError, match="not both"):
            make(strength=0.5, style_weight=3)
    assert image_preset(strength=0.5).style_weight == pytest.approx(30)
    assert image_preset(strength=0.5) == image_preset()
    recipe = resolve_recipe(settings={"strength": 0.25})
    assert recipe.audio == audio_preset(strength=0.25)
    assert recipe.image == image_preset(strength=0.25)


PAIRS = {
    "speech x mariachi": (
        "speech_librivox_austen_sense_and_sensibility_part2_16k_mono_s16.wav",
        "music_mariachi_mexico_44k_mono.mp3",
    ),
    "speech x applause": (
        "speech_alsa_rear_side_prompts_48k_mono_s16.wav",
        "sfx_applause_crowd_44k_mono_f32.wav",
    ),
    "engine x didgeridoo": (
        "sfx_car_engine_start_stop_44k_mono_s16.wav",
        "music_didgeridoo_australia_44k_mono.ogg",
    ),
}
# Measured with `fast` on these 2.5 s excerpts (style_gain, content_kept);
# the floors are 0.1 below. The former descriptor reached 0.23 median style
# gain with `fast` on the preset table.
MEASURED = {
    "speech x mariachi": (0.96, 0.95),
    "speech x applause": (0.99, 0.80),
    "engine x didgeridoo": (0.96, 0.79),
}


def _fast_transfer(
    content: tuple[np.ndarray, int], style: tuple[np.ndarray, int]
) -> tuple[AudioResult, dict[str, float]]:
    """``fast`` transfer of two ``(audio, sr)`` clips, and its measures."""
    (content_audio, content_sr), (style_audio, style_sr) = content, style
    result = transfer_audio(
        content_audio,
        style_audio,
        content_sr=content_sr,
        style_sr=style_sr,
        config=audio_preset("fast"),
    )
    measures = audio_measures(
        content_audio, content_sr, style_audio, style_sr, result.audio, result.sr
    )
    return result, measures


def _at_strengths(
    content: tuple[np.ndarray, int],
    style: tuple[np.ndarray, int],
    strengths: tuple[float, ...],
    speech: bool = False,
) -> list[dict[str, float]]:
    """The measures of a ``fast`` transfer of two ``(audio, sr)`` clips at each strength.

    With ``speech``, also ``stoi``: the spoken content's intelligibility.
    """
    (content_audio, content_sr), (style_audio, style_sr) = content, style
    measured = []
    for strength in strengths:
        result = transfer_audio(
            content_audio,
            style_audio,
            content_sr=content_sr,
            style_sr=style_sr,
            config=audio_preset("fast", **strength_weights(strength)),
        )
        measures = audio_measures(
            content_audio, content_sr, style_audio, style_sr, result.audio, result.sr
        )
        if speech:
            measures["stoi"] = speech_intelligibility(
                content_audio, content_sr, result.audio, result.sr
            )
        measured.append(measures)
    return measured


@pytest.mark.parametrize("pair", list(PAIRS))
def test_fast_takes_on_the_style_and_keeps_the_content(pair: str) -> None:
    content, style = (clip(name, 2.5, 0.5) for name in PAIRS[pair])
    result, measures = _fast_transfer(content, style)
    assert result.sr == max(content[1], style[1])
    assert np.isfinite(result.audio).all() and np.abs(result.audio).max() > 0.01
    gain, kept = MEASURED[pair]
    assert measures["style_gain"] >= gain - 0.1, measures
    assert measures["content_kept"] >= kept - 0.1, measures
    # No hiss, and the style's timeline is not pasted in.
    assert measures["noise_floor_db_output"] <= measures["noise_floor_db_style"] + 6, (
        measures
    )
    assert measures["style_onsets_output"] <= measures["style_onsets_content"] + 0.25, (
        measures
    )


def test_strength_moves_the_result_from_the_content_to_the_style() -> None:
    """Speech x mariachi along the dial: the style arrives, and the words go as it does."""
    content, style = (clip(name, 2.0, 0.5) for name in PAIRS["speech x mariachi"])
    dial = _at_strengths(content, style, (0, 0.25, 0.5, 1), speech=True)
    gains = [measures["style_gain"] for measures in dial]
    kept = [measures["content_kept"] for measures in dial]
    # Measured: style gain 0, 0.80, 0.96, 0.96; content kept 1, 0.98, 0.94, 0.86.
    # Past the default the statistics are matched and only the content gives.
    assert gains[0] == pytest.approx(0, abs=0.02) and kept[0] > 0.98
    assert gains[0] < gains[1] < gains[2] <= gains[3] + 0.02, gains
    assert gains[-1] > 0.85, gains
    assert all(b < a for a, b in itertools.pairwise(kept)), kept
    # Intelligibility (STOI, pystoi from the test extras) falls all the way:
    # measured 1.00, 0.87, 0.77, 0.37 (strength 1 has no content terms left).
    # A quarter of the dial keeps most words.
    stoi = [measures["stoi"] for measures in dial]
    assert None not in stoi, "pystoi is missing: pip install -e '.[test]'"
    assert stoi[0] > 0.99 and stoi[1] > 0.7 and stoi[3] < 0.5, stoi
    assert all(b < a for a, b in itertools.pairwise(stoi)), stoi


def _without_and_with(
    names: tuple[str, str], setting: str, words: bool = False
) -> tuple[dict[str, float], dict[str, float]]:
    """The measures of ``fast`` on 2 s of a corpus pair with ``setting`` at 0 and at its default (``words``: with STOI)."""
    (content, content_sr), (style, style_sr) = (clip(name, 2.0, 0.5) for name in names)
    measured = []
    for weight in (0.0, getattr(AudioConfig, setting)):
        result = transfer_audio(
            content,
            style,
            content_sr=content_sr,
            style_sr=style_sr,
            config=audio_preset("fast", **{setting: weight}),
        )
        measures = audio_measures(
            content, content_sr, style, style_sr, result.audio, result.sr
        )
        if words:
            measures["stoi"] = speech_intelligibility(
                content, content_sr, result.audio, result.sr
            )
        measured.append(measures)
    return measured[0], measured[1]


def test_band_envelopes_keep_the_words_at_the_default_strength() -> None:
    """Speech x mariachi at the default: the band-envelope term keeps words the style statistics alone smear.

    Measured (``fast``, 2 s): STOI 0.59 without the term, 0.77 with it;
    style gain 0.96 and content kept 0.94 either way.
    """
    without, with_term = _without_and_with(
        PAIRS["speech x mariachi"], "band_envelope_weight", words=True
    )
    measured = (without, with_term)
    assert without["stoi"] is not None, "pystoi is missing: pip install -e '.[test]'"
    assert with_term["stoi"] >= without["stoi"] + 0.1, measured
    assert with_term["style_gain"] >= without["style_gain"] - 0.03, measured
    assert with_term["content_kept"] >= without["content_kept"] - 0.03, measured


def test_the_pitch_term_keeps_a_tunes_notes_at_the_default_strength() -> None:
    """Folk tune x frogs at the default: the style statistics alone lose the tune's notes; the pitch term keeps them at the same style gain.

    Measured (``fast``, 2 s): pitch kept 0.10 without the term, 0.65 with
    it; style gain 0.72 and 0.74, content kept 0.89 and 0.90.
    """
    without, with_term = _without_and_with(
        (
            "music_wesnoth_traveling_minstrels_folk_44k_stereo.flac",
            "sfx_frogs_pond_thunderstorm_44k_stereo.ogg",
        ),
        "pitch_weight",
    )
    measured = (without, with_term)
    assert with_term["pitch_kept"] >= without["pitch_kept"] + 0.2, measured
    assert with_term["style_gain"] >= without["style_gain"] - 0.03, measured
    assert with_term["content_kept"] >= without["content_kept"] - 0.03, measured


def test_the_pitch_term_is_the_notes_not_their_level() -> None:
    """A louder copy of the target has its notes (loss 0); the same tune a semitone up does not."""
    import librosa

    from audiost.audio.objective import pitch_class_loss

    sr = 44100
    canvas = AudioCanvas(sr)
    folk = clip("music_wesnoth_traveling_minstrels_folk_44k_stereo.flac", 2.0, 0.5)[0]
    target = canvas.encode(folk.mean(0, keepdims=True))[0]
    loss = pitch_class_loss(target, sr)
    louder = canvas.encode(4 * folk.mean(0, keepdims=True))[0]
    up = librosa.effects.pitch_shift(folk.mean(0), sr=sr, n_steps=1)
    assert float(loss(target)) == pytest.approx(0.0, abs=1e-6)
    assert float(loss(louder)) < 0.02
    # Measured: 1e-8 and 0.83.
    assert float(loss(canvas.encode(up[None])[0])) > 0.5


def test_band_envelopes_count_only_the_bands_the_style_sounds_in() -> None:
    """Above an 8 kHz style's 4 kHz there is no carrier: the content's envelope is not asked for there.

    Asked for in every band, the term cost the train x 8 kHz hold music
    pair style gain 0.84 -> 0.72 (``balanced``, docs/quality.md).
    """
    sr = 44100
    audio_canvas = AudioCanvas(sr)
    cfg = audio_preset()
    network = build_network(cfg, audio_canvas.stft.n_bins, sr)
    train = clip("sfx_train_slowing_down_44k_stereo.ogg", 2.0)[0].mean(0, keepdims=True)
    content = audio_canvas.encode(train)[0]
    hold, hold_sr = clip(
        "music_hold_music_manolo_camp_morning_coffee_8k_mono_s16.wav", 2.0
    )
    highest = []
    for style_wave in (resample(hold, hold_sr, sr), train):
        style = prepare_style(cfg, network, audio_canvas.encode(style_wave)[0], sr=sr)
        loss = band_envelope_loss(content, style)
        assert loss.bands.shape[0] == 27  # third octaves from 40 Hz to 22 kHz
        centres = loss.bands.argmax(dim=1).float() * sr / audio_canvas.stft.n_fft
        counted = centres[loss.counted.amax(dim=(0, 2)).bool()]
        assert float(counted.min()) < 100, counted
        highest.append(float(counted.max()))
    # Measured: 3.6 kHz against the hold music, 9.0 kHz (the train's own
    # upper bands are quiet) against the train itself.
    assert 2500 < highest[0] <= 4000 and highest[1] > 8000, highest


def test_the_dial_keeps_rising_past_the_default_on_a_bass_heavy_style() -> None:
    """Past the default the style must not fade: folk song x a bass-heavy game theme.

    With a per-bin ceiling as an upper bound, the optimiser pushed sub-bass
    cells past it, where the clamp gave them no gradient to come back: at
    strength 1 the 65 Hz bin sat at the ceiling in 81 % of the frames and
    the style gain fell from 0.85 at 0.5 to 0.57 (this excerpt, `fast`).
    Measured now: 0.79 at 0.5, 0.88 at 1.
    """
    content, style = (
        clip(name, 3.0, 0.5)
        for name in (
            "music_turkish_song_safiye_ayla_44k_mono_s24.wav",
            "music_frozen_bubble_intro_theme_44k_stereo.ogg",
        )
    )
    gains = [m["style_gain"] for m in _at_strengths(content, style, (0.5, 1))]
    assert gains[1] >= gains[0] - 0.02 and gains[1] >= 0.78, gains


def test_a_low_strength_lays_no_bed_where_the_content_is_quiet() -> None:
    """Turkish song x a bright game theme at strength 0.1: the song's quiet upper band stays events, not a bed.

    The content's features see each bin's variation through log-frequency
    bands, so without the terms that see levels (the content's level,
    ``content_level_weight=0``, and its band envelopes,
    ``band_envelope_weight=0``) the style's levels filled that band at any
    style weight: a steady bed 10.7 dB over both inputs' floors (this
    excerpt, `fast`), for a style gain of 0.29. The default holds it at
    2.6 dB (3.3 with the content's level alone; the band envelopes alone
    hold it too, at 0.3 dB, but the onset correlation falls to 0.92).
    """
    content, style = (
        clip(name, 3.0, 0.5)
        for name in (
            "music_turkish_song_safiye_ayla_44k_mono_s24.wav",
            "music_frozen_bubble_intro_theme_44k_stereo.ogg",
        )
    )
    floors = {}
    for name, settings in (
        ("without", {"content_level_weight": 0.0, "band_envelope_weight": 0.0}),
        ("default", {}),
    ):
        result = transfer_audio(
            content[0],
            style[0],
            content_sr=content[1],
            style_sr=style[1],
            config=audio_preset("fast", **settings, **strength_weights(0.1)),
        )
        measures = audio_measures(*content, *style, result.audio, result.sr)
        floors[name] = measures["noise_floor_added_db"]
        assert measures["content_kept"] > 0.95 and measures["style_gain"] > 0.2, (
            name,
            measures,
        )
    assert floors["default"] <= 6 < floors["without"], floors


def test_strength_and_a_weight_together_are_refused(speech_file, music_file) -> None:
    from click.testing import CliRunner

    from audiost.cli import main

    options = ["--strength", "0.3", "--style-weight", "4"]
    result = CliRunner().invoke(
        main, ["transfer", str(speech_file), str(music_file), *options]
    )
    assert result.exit_code == 2
    assert "give --strength or --style-weight, not both" in result.stderr


def test_level_distribution_forgets_when_but_not_how_loud_how_often() -> None:
    style = torch.rand(1, 1, 8, 50) * 5
    loss = LevelDistributionLoss(style)
    assert float(loss(style)) == 0
    # Sorting forgets the order: the style's frames in any order match.
    assert float(loss(style[..., torch.randperm(50)])) == pytest.approx(0, abs=1e-12)
    # A steady canvas at each bin's mean level has the right average spectrum
    # and none of the style's dynamics: as far off as that spread (1.0).
    steady = style.mean(dim=-1, keepdim=True).expand_as(style)
    assert float(loss(steady)) == pytest.approx(1.0, rel=1e-4)
    # Any length is compared at its own ranks: twice the style is nearly it.
    assert float(loss(torch.cat([style, style], dim=-1))) < 0.01
    canvas = steady.clone().requires_grad_(True)
    loss(canvas).backward()
    assert torch.isfinite(canvas.grad).all() and canvas.grad.abs().sum() > 0


def test_level_distribution_is_per_channel_or_one_for_all() -> None:
    quiet, loud = torch.rand(1, 1, 8, 40), torch.rand(1, 1, 8, 40) + 4
    pair = LevelDistributionLoss(torch.cat([quiet, loud]))
    assert float(pair(torch.cat([quiet, loud]))) == 0
    assert float(pair(torch.cat([loud, quiet]))) > 1
    assert float(LevelDistributionLoss(quiet)(torch.cat([quiet, quiet]))) == 0


def test_style_layout_follows_the_results_channels() -> None:
    left, right = np.random.default_rng(0).standard_normal((2, 100)).astype(np.float32)
    stereo = np.stack([left, right])
    as_mid_side, is_mid_side = style_layout(stereo, 2)
    assert is_mid_side
    np.testing.assert_allclose(as_mid_side, [(left + right) / 2, (left - right) / 2])
    np.testing.assert_allclose(
        left_right(torch.as_tensor(mid_side(stereo))).numpy(), stereo, atol=1e-6
    )
    # A mono result takes the style as a mono listener hears it.
    mono, is_mid_side = style_layout(stereo, 1)
    assert not is_mid_side
    np.testing.assert_allclose(mono, stereo.mean(axis=0, keepdims=True))
    # A mono style drives every channel; channels that do not pair up mix down.
    assert style_layout(stereo[:1], 2)[0].shape == (1, 100)
    assert style_layout(np.concatenate([stereo, stereo[:1]]), 2)[0].shape == (1, 100)


def _low_band_correlation(audio: np.ndarray, sr: int, below_hz: float = 150) -> float:
    """Correlation of the two channels below ``below_hz``: negative when the bass is anti-phase."""
    spectrum = np.fft.rfft(audio, axis=-1)
    spectrum[:, np.fft.rfftfreq(audio.shape[-1], 1 / sr) > below_hz] = 0
    return float(np.corrcoef(np.fft.irfft(spectrum, n=audio.shape[-1]))[0, 1])


VINYL = "sfx_vinyl_record_hiss_44k_stereo.flac"
# Measured with `fast` on 2 s excerpts: the transfer's low-band channel
# correlation, its style gain, the texture's low-band correlation (the
# style's own: -0.94). Styled as left and right the same three were +0.84,
# 0.43 and -0.04.
STEREO_MEASURED = (-0.93, 0.99, -0.92)


def test_a_near_mono_stereo_style_styles_a_stereo_song() -> None:
    """The tabla loop is stereo with its side 59 dB below its mid: it is laid out as mono.

    As mid and side, its near-silent side stalled the optimisation and the
    folk song came back unchanged: measured style gain -0.01, content kept
    1.00, floor +22.5 dB over the loop's, loss 4942. Mixed to mono: 0.46,
    0.80, +5.0 dB, loss 3.65.
    """
    song = clip("music_wesnoth_traveling_minstrels_folk_44k_stereo.flac", 2.0, 0.5)
    tabla = clip("music_sonicpi_tabla_loop_44k_stereo.flac", 2.0, 0.5)
    laid, is_mid_side = style_layout(tabla[0], 2)
    assert laid.shape[0] == 1 and not is_mid_side
    result = transfer_audio(
        song[0],
        tabla[0],
        content_sr=song[1],
        style_sr=tabla[1],
        config=audio_preset("fast"),
    )
    assert result.audio.shape == song[0].shape
    measures = audio_measures(*song, *tabla, result.audio, result.sr)
    assert measures["style_gain"] > 0.3, measures
    assert measures["content_kept"] > 0.6, measures
    floor = measures["noise_floor_db_output"] - measures["noise_floor_db_style"]
    assert floor < 10, floor


def test_a_stereo_style_keeps_its_stereo_image() -> None:
    """The vinyl record's rumble is anti-phase between its channels and cancels in mono.

    Styled as left and right, both output channels took the voice's
    identical phases and the rumble added up instead: 20 dB too much
    sub-bass in the mono mix and a style gain of 0.40 on the corpus table
    (0.85 as mid and side).
    """
    content = clip("speech_hedgewars_singer_voice_lines_44k_stereo_f32.wav", 2.0, 0.5)
    style = clip(VINYL, 2.0, 0.5)
    assert _low_band_correlation(*style) < -0.5
    result, measures = _fast_transfer(content, style)
    assert result.audio.shape == content[0].shape
    assert _low_band_correlation(result.audio, result.sr) < STEREO_MEASURED[0] + 0.2
    assert measures["style_gain"] >= STEREO_MEASURED[1] - 0.1, measures


def test_a_stereo_texture_keeps_the_styles_stereo_image() -> None:
    style, sr = clip(VINYL, 2.0, 0.5)
    result = synthesize_audio(style, 2.0, style_sr=sr, config=audio_preset("fast"))
    assert result.audio.shape[0] == 2
    assert _low_band_correlation(result.audio, sr) < STEREO_MEASURED[2] + 0.2
