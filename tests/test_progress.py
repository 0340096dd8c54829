"""Progress bars whose remaining time holds: they fill by what each step costs, not by counting steps."""

from __future__ import annotations

from audiost import audio_preset
from audiost.engine.parts import Parts
from audiost.progress import analysis_progress, audio_progress, progress_bar


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


def test_parts_weigh_each_part_by_its_cost() -> None:
    """A part costing 1 done, then half of one costing 3: a quarter, then five eighths; finishing reports the whole."""
    heard: list[float] = []
    parts = Parts(heard.append, {"read": 1.0, "sort": 3.0})
    read, sort = parts.part("read"), parts.part("sort")
    read(1.0)
    sort(0.5)
    parts.finish()
    assert heard == [0.25, 0.625, 1.0]
    assert Parts(None, {"read": 1.0}).part("read") is None


def test_the_analysis_bar_waits_and_closes_when_done(capsys, monkeypatch) -> None:
    """A quick analysis shows nothing; a slow one (no delay here) a bar that reaches 100 %; quiet shows nothing."""
    for delay, quiet, shown in (
        (60.0, False, False),
        (0.0, False, True),
        (0.0, True, False),
    ):
        monkeypatch.setattr("audiost.progress._ANALYSIS_DELAY_S", delay)
        with analysis_progress(quiet) as on_style:
            for fraction in (0.1, 0.5, 1.0):
                on_style(fraction)
        err = capsys.readouterr().err
        assert ("analysing the style: 100%|" in err) == shown, (delay, quiet, err)
