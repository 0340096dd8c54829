"""Progress bars whose remaining time holds: they fill by what each step costs, not by counting steps."""

from __future__ import annotations

from audiost import audio_preset
from audiost.progress import audio_progress, progress_bar


def test_the_bar_fills_by_work_and_counts_iterations(capsys):
    """Six cheap iterations then four costing three times as much: a third of the bar after the cheap ones."""
    work = [(6, 1.0), (4, 3.0)]
    for last, percent in ((6, " 33%|"), (10, "100%|")):
        with progress_bar(work, "styling") as on_step:
            for iteration in range(1, last + 1):
                on_step(iteration, 0.5)
        # tqdm redraws at most every 0.1 s; closing draws the bar as it stands.
        shown = capsys.readouterr().err.strip().split("\r")[-1]
        assert percent in shown and f"{last}/10, loss=0.5" in shown, shown


def test_an_audio_bar_counts_the_decode_between_its_stages(capsys):
    """60 canvas iterations, then Griffin-Lim (64 iterations, about 5 canvas iterations' worth), then 20 on the waveform."""
    config = audio_preset("balanced")
    assert (config.iters, config.gl_iters, config.wave_iters) == (60, 64, 20)
    for last, percent in ((60, " 71%|"), (61, " 78%|"), (80, "100%|")):
        with audio_progress(config, "styling") as on_step:
            for iteration in range(1, last + 1):
                on_step(iteration, 0.5)
        shown = capsys.readouterr().err.strip().split("\r")[-1]
        # 60 / (60 + 1 + 5 + 19) = 0.71; counted in iterations it was 0.75.
        assert percent in shown and f"{last}/80, loss=0.5" in shown, shown
    assert "styling the waveform" in shown
