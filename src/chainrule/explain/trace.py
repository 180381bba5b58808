"""The hand computation: forward pass, error signals δ(ℓ), gradients, one descent step.

Examples are columns, as in the texts: a(0) is features × examples. Everything is float64.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from ..engine.tensor import ChainruleError

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0.0, 1.0, 1.0, 0.0])

ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity", "softmax")
# name -> (what it is, its formula for one example with k outputs)
LOSSES = {
    "bce": ("binary cross-entropy", "L = −Σₖ [yₖ log ŷₖ + (1 − yₖ) log(1 − ŷₖ)]"),
    "ce": ("cross-entropy", "L = −Σₖ yₖ log ŷₖ"),
    "mse": ("mean squared error", "L = (1/k) Σₖ (ŷₖ − yₖ)²"),
    "mse_half": ("the texts' halved squared error", "L = ½ Σₖ (ŷₖ − yₖ)²"),
}
DEFAULT_OUTPUT = {"bce": "sigmoid", "ce": "softmax", "mse": "identity", "mse_half": "identity"}
EXACT_PAIRS = {("sigmoid", "bce"), ("softmax", "ce"), ("identity", "mse_half")}
CHECK_TOLERANCE = {"autodiff": (1e-10, 1e-8), "central differences": (1e-7, 1e-5)}


class ExplainError(ChainruleError, ValueError):
    """A network, loss or data that explain() cannot trace."""


@dataclass
class LayerTrace:
    """Everything about layer ℓ: parameters, forward values, error signal, gradients."""

    index: int
    activation: str
    W: np.ndarray
    b: np.ndarray
    z: np.ndarray
    a: np.ndarray
    delta: np.ndarray | None = None
    dW: np.ndarray | None = None
    db: np.ndarray | None = None
    W_new: np.ndarray | None = None
    b_new: np.ndarray | None = None


@dataclass
class Check:
    """Largest absolute difference between a hand-computed quantity and an oracle."""

    quantity: str
    oracle: str
    max_abs_error: float
    passed: bool


@dataclass
class Explanation:
    sizes: tuple
    hidden_activation: str
    output_activation: str
    loss: str
    x: np.ndarray  # a(0), features × examples
    y: np.ndarray  # targets, outputs × examples
    layers: list
    loss_value: float
    loss_after: float
    lr: float
    delta_rule: str
    delta_note: str
    pairing: str  # "exact" (δ(L) = ŷ − y), "scaled" (a constant times ŷ − y), "general"
    checks: list = field(default_factory=list)

    @property
    def m(self) -> int:
        return self.x.shape[1]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_dict(self) -> dict:
        from .render import to_dict

        return to_dict(self)

    def render(self, fmt: str = "text") -> str:
        """The trace as "text", "markdown" or "json"."""
        from .render import render

        return render(self, fmt)

    def __str__(self):
        return self.render("text")


# --- activations and losses on plain arrays (the hand computation) ---------------------------


def _activate(name, z):
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "softmax":
        e = np.exp(z - z.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)
    return z


def _derivative(name, z, a):
    """φ′(z) for an elementwise activation, from z and a = φ(z)."""
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "tanh":
        return 1.0 - a * a
    if name == "relu":
        return (z > 0).astype(z.dtype)
    return np.ones_like(z)


def _per_example_loss(loss, y_hat, y):
    if loss == "bce":
        return -(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat)).sum(axis=0)
    if loss == "ce":
        return -(y * np.log(y_hat)).sum(axis=0)
    if loss == "mse":
        return ((y_hat - y) ** 2).mean(axis=0)
    return 0.5 * ((y_hat - y) ** 2).sum(axis=0)


def _loss_gradient(loss, y_hat, y):
    """∂L/∂ŷ for one example (columns)."""
    if loss == "bce":
        return (y_hat - y) / (y_hat * (1 - y_hat))
    if loss == "ce":
        return -y / y_hat
    if loss == "mse":
        return 2.0 / y.shape[0] * (y_hat - y)
    return y_hat - y


def _forward(weights, biases, activations, a0):
    zs, acts = [], [a0]
    for W, b, name in zip(weights, biases, activations):
        zs.append(W @ acts[-1] + b)
        acts.append(_activate(name, zs[-1]))
    return zs, acts


def _objective(weights, biases, activations, a0, y, loss):
    return float(
        _per_example_loss(loss, _forward(weights, biases, activations, a0)[1][-1], y).mean()
    )


# --- the pairing of output activation and loss ---------------------------------------------


def _delta_rule(output, loss, k):
    """(formula of δ(L), a sentence about it, pairing kind)."""
    name = LOSSES[loss][0]
    if (output, loss) in EXACT_PAIRS:
        return (
            "δ(L) = ŷ − y",
            (f"{output} output with {name}: ∂L/∂ŷ and ψ′(z(L)) cancel, so δ(L) = ŷ − y exactly"),
            "exact",
        )
    factor = "2" if k == 1 else f"(2/{k})"
    if (output, loss) == ("identity", "mse"):
        return (
            f"δ(L) = {factor}(ŷ − y)",
            (
                f"identity output with the mean squared error: δ(L) = {factor}(ŷ − y), not ŷ − y; "
                "the factor 2/k comes from the mean of squares (with the texts' ½‖ŷ − y‖² loss "
                "it would be exactly ŷ − y)"
            ),
            "scaled",
        )
    grad = {
        "bce": "(ŷ − y) / (ŷ ⊙ (1 − ŷ))",
        "ce": "−y / ŷ",
        "mse": f"{factor}(ŷ − y)",
        "mse_half": "ŷ − y",
    }[loss]
    if output == "softmax":
        formula = f"δ(L) = ŷ ⊙ (g − ŷᵀg), g = ∂L/∂ŷ = {grad}"
    else:
        formula = f"δ(L) = ∂L/∂ŷ ⊙ ψ′(z(L)) = {grad} ⊙ {output}′(z(L))"
    return (
        formula,
        (
            f"{output} output with {name} is not a pairing where δ(L) = ŷ − y holds: "
            "the output activation's derivative does not cancel, so the general "
            "chain rule is used"
        ),
        "general",
    )


def _output_delta(output, loss, pairing, z, y_hat, y):
    if pairing == "exact":
        return y_hat - y
    g = _loss_gradient(loss, y_hat, y)
    if output == "softmax":
        return y_hat * (g - (g * y_hat).sum(axis=0, keepdims=True))
    return g * _derivative(output, z, y_hat)


# --- inputs --------------------------------------------------------------------------------


def _validate(sizes, activation, output, loss):
    if len(sizes) < 2 or any(int(n) < 1 for n in sizes):
        raise ExplainError(f"explain: sizes must be ≥ 2 positive layer widths, got {sizes}")
    if loss not in LOSSES:
        raise ExplainError(f"explain: unknown loss {loss!r}; choose from {sorted(LOSSES)}")
    for role, name in (("activation", activation), ("output activation", output)):
        if name not in ACTIVATIONS or (role == "activation" and name == "softmax"):
            raise ExplainError(f"explain: unknown {role} {name!r}; choose from {ACTIVATIONS}")
    if loss in ("bce", "ce") and output not in ("sigmoid", "softmax"):
        raise ExplainError(
            f"explain: {loss} needs outputs in (0, 1) (sigmoid or softmax "
            f"output), got a {output} output"
        )
    if output == "softmax" and sizes[-1] < 2:
        raise ExplainError("explain: a softmax output needs at least 2 output units")


def _targets(y, loss, k):
    """Targets as a k × m matrix (class labels become one-hot rows for ce)."""
    y = np.asarray(y)
    if loss == "ce" and y.ndim == 1:
        labels = y.astype(np.int64)
        if labels.min() < 0 or labels.max() >= k:
            raise ExplainError(f"explain: class labels must be in [0, {k}), got {y.tolist()}")
        return np.eye(k)[labels].T
    y = y.reshape(len(y), -1).astype(np.float64)
    if y.shape[1] != k:
        raise ExplainError(f"explain: targets have {y.shape[1]} columns, the network {k} outputs")
    return y.T


def _default_data(sizes, loss, rng):
    if sizes[0] == 2 and (sizes[-1] == 1 or loss == "ce"):
        labels = XOR_Y.astype(np.int64) if loss == "ce" else XOR_Y
        if loss != "ce" or sizes[-1] >= 2:
            return XOR_X, labels
    n, k = sizes[0], sizes[-1]
    X = rng.standard_normal((4, n))
    if loss == "ce":
        return X, rng.integers(0, k, size=4)
    if loss == "bce":
        return X, rng.integers(0, 2, size=(4, k)).astype(np.float64)
    return X, rng.standard_normal((4, k))


def _init_params(sizes, rng):
    """PyTorch's Linear default: W and b uniform in ±1/√fan_in."""
    weights, biases = [], []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = 1.0 / np.sqrt(fan_in)
        weights.append(rng.uniform(-bound, bound, (fan_out, fan_in)))
        biases.append(rng.uniform(-bound, bound, (fan_out, 1)))
    return weights, biases


def _given_params(params, sizes):
    """[(W, b), ...] with W (out, in) and b (out,) as in Linear.weight and Linear.bias."""
    weights = [np.array(W, dtype=np.float64) for W, _ in params]
    biases = [np.array(b, dtype=np.float64).reshape(-1, 1) for _, b in params]
    for i, (W, b) in enumerate(zip(weights, biases)):
        if W.shape != (sizes[i + 1], sizes[i]) or b.shape != (sizes[i + 1], 1):
            raise ExplainError(
                f"explain: layer {i + 1} needs W {(sizes[i + 1], sizes[i])} and b "
                f"({sizes[i + 1]},), got {W.shape} and {b.shape[:1]}"
            )
    return weights, biases


# --- backpropagation by hand ---------------------------------------------------------------


def forward_layers(weights, biases, activations, a0):
    """One LayerTrace per layer with W, b, z(ℓ) and a(ℓ) filled in."""
    zs, acts = _forward(weights, biases, activations, a0)
    return [
        LayerTrace(i + 1, name, W, b, z, a)
        for i, (W, b, name, z, a) in enumerate(zip(weights, biases, activations, zs, acts[1:]))
    ]


def backward_layers(layers, a0, y, loss, pairing):
    """Fill in δ(ℓ), ∂J/∂W(ℓ) = (1/m) δ(ℓ) a(ℓ−1)ᵀ and ∂J/∂b(ℓ) = (1/m) Σᵢ δ(ℓ)ᵢ."""
    m = a0.shape[1]
    out = layers[-1]
    out.delta = _output_delta(out.activation, loss, pairing, out.z, out.a, y)
    for layer, after in zip(reversed(layers[:-1]), reversed(layers[1:])):
        layer.delta = (after.W.T @ after.delta) * _derivative(layer.activation, layer.z, layer.a)
    inputs = [a0] + [layer.a for layer in layers[:-1]]
    for layer, a_prev in zip(layers, inputs):
        layer.dW = layer.delta @ a_prev.T / m
        layer.db = layer.delta.sum(axis=1, keepdims=True) / m


def descend(layers, lr):
    """One gradient-descent step: θ ← θ − η ∂J/∂θ."""
    for layer in layers:
        layer.W_new = layer.W - lr * layer.dW
        layer.b_new = layer.b - lr * layer.db
