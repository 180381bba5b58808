"""Dropout: inverted dropout during training, the identity in eval mode."""

from __future__ import annotations

from . import functional as F
from .module import Module
from .registry import Float, register_layer


@register_layer(args={"p": Float(0.0, 1.0)})
class Dropout(Module):
    """Zero each element with probability p and scale the kept ones by 1/(1 − p).

    The mask is drawn from the generator `cr.manual_seed` seeds; eval() turns dropout off.
    """

    def __init__(self, p=0.5):
        super().__init__()
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def spec_args(self) -> dict:
        return {"p": self.p}
