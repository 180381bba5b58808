"""L2 regularization as a term of the objective: J_reg(θ) = J(θ) + λ·R(θ), R = Σ θ².

Its gradient adds 2λθ to each weight's. This differs from an optimizer's weight decay, which
changes the update rule instead of the objective (the two agree only for plain SGD).
"""

from __future__ import annotations

from .module import Module
from .normalization import BatchNorm1d, LayerNorm

_NORMALIZATION = (BatchNorm1d, LayerNorm)


def penalized_weights(model: Module):
    """The weight matrices of a model: parameters of 2 or more axes outside norm layers."""
    seen = set()
    for module in model.modules():
        if isinstance(module, _NORMALIZATION):
            continue
        for param in module.parameters(recurse=False):
            if param.ndim >= 2 and id(param) not in seen:
                seen.add(id(param))
                yield param


def l2_penalty(model: Module, lam: float, params=None):
    """λ·Σ θ² over the model's weights (not biases or norm parameters), or over `params`."""
    chosen = list(penalized_weights(model) if params is None else params)
    if not chosen:
        return 0.0 * lam
    total = None
    for param in chosen:
        squares = (param * param).sum()
        total = squares if total is None else total + squares
    assert total is not None  # chosen is not empty
    return lam * total
