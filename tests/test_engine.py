"""The optimisation engine on its own: losses, objective, optimiser, safety."""

from __future__ import annotations

import pytest
import torch

from audiost.engine import (
    ContentLoss,
    EdgeLoss,
    EnvelopeCorrelationLoss,
    EnvelopeLoss,
    GramLoss,
    Objective,
    Term,
    gram_matrix,
    optimise,
)
from audiost.features import BandedSpectralConv
from audiost.media.image import resize, to_canvas
from audiost.media.image_io import load_image

from .conftest import CORPUS, small_objective


def test_gram_is_averaged_over_positions() -> None:
    x = torch.randn(2, 4, 10)
    doubled = torch.cat([x, x], dim=-1)
    torch.testing.assert_close(gram_matrix(x), gram_matrix(doubled))


def test_losses_are_zero_at_target_and_relative() -> None:
    target = torch.rand(1, 8, 20)
    assert float(ContentLoss(target)(target)) == 0
    assert float(GramLoss(target)(target)) == 0
    assert float(ContentLoss(target)(torch.zeros_like(target))) == pytest.approx(1.0)
    assert float(GramLoss(target)(torch.zeros_like(target))) == pytest.approx(1.0)


def test_edge_loss_sees_outlines_not_strokes() -> None:
    """Marks finer than the blur are the style's to make; a moved outline is not."""
    photo = to_canvas(
        resize(load_image(CORPUS / "photo_chelsea_cat_451x300.png").rgb, (120, 80))
    )
    edges = EdgeLoss(photo, sigma=1.5)
    assert float(edges(photo)) == 0
    assert float(edges(torch.full_like(photo, 0.5))) == pytest.approx(1.0)
    assert float(edges(photo * 0.5)) == pytest.approx(0.25)
    rows, columns = torch.meshgrid(torch.arange(80), torch.arange(120), indexing="ij")
    strokes = ((rows + columns) % 2).float() * 0.2 - 0.1  # 1 px, +-10 % of full scale
    assert float(edges(photo + strokes)) < 1e-3  # measured 1e-11
    assert float(edges(photo.roll(6, dims=-1))) > 1  # measured 2.3


def test_envelope_loss_axes() -> None:
    canvas = torch.rand(1, 1, 16, 30) * 5
    with pytest.raises(ValueError):
        EnvelopeLoss(canvas, "diagonal")
    for axis in ("time", "frequency"):
        assert float(EnvelopeLoss(canvas, axis)(canvas)) == 0


@pytest.mark.parametrize("axis", ["time", "frequency"])
def test_envelope_is_the_log_mean_power_and_stays_finite_where_power_overflows(
    axis: str,
) -> None:
    # An L-BFGS line search once tried log-magnitudes near 51 on a corpus pair
    # (speech x song, `balanced`): expm1(c)² overflowed, the loss was
    # infinite and the run stopped at iteration 4 with a fifth of its style.
    canvas = torch.rand(2, 1, 16, 30) * 6
    dim = -2 if axis == "time" else -1
    loss = EnvelopeLoss(canvas, axis)
    direct = torch.log(torch.expm1(canvas).pow(2).mean(dim=dim) + 1e-8)
    torch.testing.assert_close(loss.envelope(canvas), direct, rtol=1e-5, atol=1e-5)
    wild = (canvas * 12).requires_grad_()  # up to 72: expm1(72)² is inf in float32
    assert not torch.isfinite(torch.expm1(wild.detach()).pow(2)).all()
    value = loss(wild)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(wild.grad).all()
    silent = torch.zeros_like(canvas).requires_grad_()
    loss(silent).backward()
    assert torch.isfinite(silent.grad).all()


def _banded(magnitudes: torch.Tensor) -> torch.Tensor:
    """A canvas whose four 4-bin bands have the ``(4, frames)`` magnitude envelopes given."""
    return torch.log1p(magnitudes.repeat_interleave(4, dim=0))[None, None]


#: Four bands of four bins each, averaged.
_FOUR_BANDS = torch.kron(torch.eye(4), torch.full((1, 4), 0.25))


def test_envelope_correlation_holds_when_not_how_loud() -> None:
    """Each band's rise and fall is the target; its level and modulation depth are free."""
    t = torch.arange(120.0)
    rates = torch.tensor([[0.11], [0.23], [0.05], [0.31]])
    swing = torch.sin(rates * t)
    target = _banded(1000 + 800 * swing)
    loss = EnvelopeCorrelationLoss(target, _FOUR_BANDS, window=32)
    assert float(loss(target)) == pytest.approx(0, abs=1e-5)
    # Ten times louder with half the swing: the same envelopes, to the ear's timing.
    assert float(loss(_banded(10000 + 4000 * swing))) < 1e-4
    # The same level and depth at other moments: far from it.
    assert float(loss(_banded(1000 + 800 * swing.flip(-1)))) > 0.5
    assert float(loss(_banded(torch.full((4, 120), 1000.0)))) == pytest.approx(1.0)


def test_envelope_correlation_ignores_silence_and_bands_left_out() -> None:
    t = torch.arange(120.0)
    magnitudes = 1000 + 800 * torch.sin(0.2 * t).repeat(4, 1)
    magnitudes[:, 60:] = 0  # the target falls silent halfway
    mask = torch.tensor([1.0, 1.0, 0.0, 1.0])[None, :, None]
    loss = EnvelopeCorrelationLoss(_banded(magnitudes), _FOUR_BANDS, 32, mask)
    changed = magnitudes.clone()
    changed[:, 80:] = 1000 + 800 * torch.cos(0.7 * t[80:])  # in silent windows
    changed[2] = 500  # and in the band left out
    assert float(loss(_banded(changed))) < 1e-5
    changed[0, :40] = 1000  # a counted band, where the target sounds
    assert float(loss(_banded(changed))) > 0.1


def test_envelope_correlation_stays_finite_on_wild_trial_steps() -> None:
    target = torch.rand(2, 1, 16, 60) * 8
    loss = EnvelopeCorrelationLoss(target, _FOUR_BANDS, 16)
    for canvas in (target * 12, torch.zeros_like(target), -target):
        canvas = canvas.clone().requires_grad_()
        value = loss(canvas)
        value.backward()
        assert torch.isfinite(value) and torch.isfinite(canvas.grad).all()


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_optimise_reduces_loss_and_reports_steps(optimizer: str) -> None:
    objective, content = small_objective()
    steps: list[int] = []
    result = optimise(
        objective,
        content,
        iters=15,
        optimizer=optimizer,
        min_value=0.0,
        on_step=lambda i, loss: steps.append(i),
    )
    assert steps == list(range(1, 16))
    assert result.parts["total"] < 0.5 * result.losses[0]
    assert float(result.canvas.min()) >= 0 and result.stopped_early is None
    # The start canvas is not modified.
    assert torch.equal(content, small_objective()[1])


def test_non_finite_loss_stops_and_keeps_last_good_canvas() -> None:
    objective, content = small_objective()

    class Explodes(torch.nn.Module):
        calls = 0

        def forward(self, canvas: torch.Tensor) -> torch.Tensor:
            Explodes.calls += 1
            return canvas.sum() * (float("nan") if Explodes.calls > 6 else 0.0)

    objective = Objective(
        objective.network, [*objective.terms, Term("bomb", Explodes(), 1.0)]
    )
    result = optimise(objective, content, iters=30, optimizer="adam")
    assert "non-finite" in result.stopped_early and torch.isfinite(result.canvas).all()
    assert 0 < len(result.losses) < 30


def test_unknown_layer_is_named() -> None:
    net = BandedSpectralConv(8, 8000, (3,), 4)
    with pytest.raises(ValueError, match="conv99"):
        Objective(net, [Term("x", ContentLoss(torch.zeros(1)), 1.0, "conv99")])


def test_gram_gradient_matches_autograd() -> None:
    x = torch.randn(2, 5, 7, 3, dtype=torch.float64, requires_grad=True)
    torch.autograd.gradcheck(gram_matrix, (x,))
    weights = torch.randn(2, 5, 5, dtype=torch.float64)
    (gram_matrix(x) * weights).sum().backward()
    reference = x.detach().clone().requires_grad_(True)
    flat = reference.flatten(2)
    ((flat @ flat.transpose(1, 2) / flat.shape[-1]) * weights).sum().backward()
    torch.testing.assert_close(x.grad, reference.grad)
