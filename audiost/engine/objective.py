"""A weighted sum of loss terms over a feature network's activations."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..features.base import FeatureNetwork


@dataclass
class Term:
    """One weighted loss, applied to a named layer or, if ``layer`` is None, to the canvas."""

    name: str
    loss: nn.Module
    weight: float
    layer: str | None = None


class Objective(nn.Module):
    """``canvas -> (total, {term name: unweighted value})``.

    Runs the network once per evaluation for exactly the layers the terms use.
    """

    def __init__(self, network: FeatureNetwork, terms: list[Term]):
        super().__init__()
        self.network = network
        self.terms = [t for t in terms if t.weight != 0]
        self.losses = nn.ModuleList(t.loss for t in self.terms)
        self.layers = sorted({t.layer for t in self.terms if t.layer is not None})
        network.check_layers(self.layers)

    def forward(
        self, canvas: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        features = self.network(canvas, self.layers) if self.layers else {}
        parts = {
            t.name: t.loss(canvas if t.layer is None else features[t.layer])
            for t in self.terms
        }
        total = sum(t.weight * parts[t.name] for t in self.terms)
        return total, parts
