"""Backpropagation traced in the texts' notation, every number checked twice.

For a small fully connected network (by default the 2-2-1 sigmoid network on XOR) and one
example or a small batch, `explain()` computes by hand, in float64, with examples as columns:

    forward   a(0) = x,  z(ℓ) = W(ℓ) a(ℓ−1) + b(ℓ),  a(ℓ) = φ(z(ℓ)),  ŷ = a(L)
    backward  δ(L) = ∂L/∂z(L)   (= ŷ − y for sigmoid + BCE, softmax + CE, identity + ½‖ŷ − y‖²)
              δ(ℓ) = (W(ℓ+1)ᵀ δ(ℓ+1)) ⊙ φ′(z(ℓ))
              ∂L/∂W(ℓ) = δ(ℓ) a(ℓ−1)ᵀ,  ∂L/∂b(ℓ) = δ(ℓ)

then checks each z, a, δ, gradient and loss against the engine's autodiff (retain_grad on
every z) and against central differences, and takes one gradient-descent step. For a batch of
m examples the objective is J = (1/m) Σᵢ L(ŷᵢ, yᵢ), so ∂J/∂W(ℓ) = (1/m) δ(ℓ) a(ℓ−1)ᵀ.

    >>> result = cr.explain.explain()            # 2-2-1 sigmoid network, XOR, BCE
    >>> print(result.render("markdown"))         # or "text", "json"
"""

from __future__ import annotations

import numpy as np

from ..engine import random as _random
from .checks import run_checks
from .render import render, to_dict
from .trace import (
    ACTIVATIONS,
    DEFAULT_OUTPUT,
    LOSSES,
    XOR_X,
    XOR_Y,
    Check,
    ExplainError,
    Explanation,
    LayerTrace,
    _default_data,
    _delta_rule,
    _given_params,
    _init_params,
    _objective,
    _targets,
    _validate,
    backward_layers,
    descend,
    forward_layers,
)

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "XOR_X",
    "XOR_Y",
    "Check",
    "ExplainError",
    "Explanation",
    "LayerTrace",
    "explain",
    "render",
    "to_dict",
]


def _select(X, y, examples, default_data):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or len(X) != len(y):
        raise ExplainError(
            f"explain: X must be 2-D with one row per target; got X {X.shape} and y {y.shape}"
        )
    if examples is None:
        examples = (2,) if default_data else range(len(X))
    rows = np.asarray(list(examples), dtype=np.int64)
    if rows.size == 0 or rows.min() < -len(X) or rows.max() >= len(X):
        raise ExplainError(
            f"explain: example indices {rows.tolist()} out of range for {len(X)} rows"
        )
    return X[rows], y[rows]


def explain(
    sizes=(2, 2, 1),
    activation="sigmoid",
    output=None,
    loss="bce",
    X=None,
    y=None,
    examples=None,
    lr=0.5,
    seed=0,
    params=None,
    eps=1e-6,
) -> Explanation:
    """Trace one forward pass, backward pass and gradient-descent step, checked twice.

    sizes: layer widths from input to output. activation: hidden φ (sigmoid, tanh, relu,
    identity). output: output ψ (default by loss: sigmoid for "bce", softmax for "ce",
    identity for "mse" and "mse_half"). loss: "bce", "ce" (y as class labels or one-hot),
    "mse" (mean over outputs, PyTorch's) or "mse_half" (½ Σ (ŷ − y)², the texts').
    X, y: rows of examples (default: XOR when the input width is 2, else random data).
    examples: row indices to trace (default: XOR's x = (1, 0) alone, or every given row).
    params: [(W, b), ...] with W (out, in) as in Linear.weight; else drawn as PyTorch's Linear
    init from chainrule's generator, seeded with `seed` unless seed is None.
    """
    sizes = tuple(int(n) for n in sizes)
    output = output or DEFAULT_OUTPUT.get(loss, "identity")
    _validate(sizes, activation, output, loss)
    rng = _random.generator_for(seed)
    weights, biases = _given_params(params, sizes) if params else _init_params(sizes, rng)
    default_data = X is None
    if default_data:
        X, y = _default_data(sizes, loss, rng)
    elif y is None:
        raise ExplainError("explain: X was given without y")
    X, y = _select(X, y, examples, default_data)
    if X.shape[1] != sizes[0]:
        raise ExplainError(f"explain: X has {X.shape[1]} features, the network {sizes[0]} inputs")
    a0, targets = X.T.copy(), _targets(y, loss, sizes[-1])
    activations = [activation] * (len(sizes) - 2) + [output]
    rule, note, pairing = _delta_rule(output, loss, sizes[-1])
    layers = forward_layers(weights, biases, activations, a0)
    backward_layers(layers, a0, targets, loss, pairing)
    descend(layers, lr)
    result = Explanation(
        sizes,
        activation,
        output,
        loss,
        a0,
        targets,
        layers,
        _objective(weights, biases, activations, a0, targets, loss),
        _objective(
            [lay.W_new for lay in layers],
            [lay.b_new for lay in layers],
            activations,
            a0,
            targets,
            loss,
        ),
        float(lr),
        rule,
        note,
        pairing,
    )
    result.checks = run_checks(result, eps)
    return result
