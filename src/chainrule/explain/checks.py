"""The two oracles for the hand computation: the engine's autodiff and central differences."""

from __future__ import annotations

import numpy as np

from ..engine.tensor import Tensor
from .trace import CHECK_TOLERANCE, Check, _activate, _forward, _per_example_loss


def objective_symbol(m: int) -> str:
    """L for one example; J = (1/m) Σᵢ L for a batch."""
    return "L" if m == 1 else "J"


def _tensor_activate(name, z):
    if name == "identity":
        return z
    if name == "softmax":
        return z.softmax(axis=0)
    return getattr(z, name)()


def _tensor_objective(loss, y_hat, y):
    if loss == "bce":
        per_example = -(y * y_hat.log() + (1.0 - y) * (1.0 - y_hat).log()).sum(axis=0)
    elif loss == "ce":
        per_example = -(y * y_hat.log()).sum(axis=0)
    elif loss == "mse":
        per_example = ((y_hat - y) * (y_hat - y)).mean(axis=0)
    else:
        per_example = 0.5 * ((y_hat - y) * (y_hat - y)).sum(axis=0)
    return per_example.mean()


def autodiff(layers, a0, y, loss, use_new=False):
    """The same network through the engine: z, a, ∂J/∂z (via retain_grad), ∂J/∂W, ∂J/∂b, J."""
    weights = [
        Tensor((lay.W_new if use_new else lay.W).copy(), requires_grad=True) for lay in layers
    ]
    biases = [
        Tensor((lay.b_new if use_new else lay.b).copy(), requires_grad=True) for lay in layers
    ]
    a = Tensor(a0)
    zs, acts = [], []
    for W, b, layer in zip(weights, biases, layers):
        z = (W @ a + b).retain_grad()
        a = _tensor_activate(layer.activation, z)
        zs.append(z)
        acts.append(a)
    J = _tensor_objective(loss, a, Tensor(y))
    J.backward()
    return {
        "z": [z.data for z in zs],
        "a": [a.data for a in acts],
        "dz": [z.grad for z in zs],
        "dW": [W.grad for W in weights],
        "db": [b.grad for b in biases],
        "J": J.item(),
    }


def _central(f, array, eps):
    """∂f/∂array by (f(x + ε) − f(x − ε)) / 2ε, one element at a time (array restored)."""
    grad = np.empty_like(array)
    for idx in np.ndindex(array.shape):
        old = array[idx]
        array[idx] = old + eps
        up = f()
        array[idx] = old - eps
        down = f()
        array[idx] = old
        grad[idx] = (up - down) / (2 * eps)
    return grad


def _objective_from(layers, start, z, y, loss):
    """J as a function of z(start + 1), the rest of the network run forward from there."""
    a = _activate(layers[start].activation, z)
    rest = layers[start + 1 :]
    _, acts = _forward(
        [lay.W for lay in rest], [lay.b for lay in rest], [lay.activation for lay in rest], a
    )
    return float(_per_example_loss(loss, acts[-1], y).mean())


def central_differences(layers, a0, y, loss, eps):
    """Numerical ∂J/∂z(ℓ), ∂J/∂W(ℓ) and ∂J/∂b(ℓ) for every layer, in float64."""
    weights = [lay.W.copy() for lay in layers]
    biases = [lay.b.copy() for lay in layers]
    names = [lay.activation for lay in layers]

    def objective():
        _, acts = _forward(weights, biases, names, a0)
        return float(_per_example_loss(loss, acts[-1], y).mean())

    dz = []
    for i, layer in enumerate(layers):
        z = layer.z.copy()
        dz.append(_central(lambda i=i, z=z: _objective_from(layers, i, z, y, loss), z, eps))
    return {
        "dz": dz,
        "dW": [_central(objective, W, eps) for W in weights],
        "db": [_central(objective, b, eps) for b in biases],
    }


def _compare(quantity, oracle, ours, theirs):
    atol, rtol = CHECK_TOLERANCE[oracle]
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    error = np.abs(ours - theirs)
    passed = bool(ours.shape == theirs.shape and np.all(error <= atol + rtol * np.abs(theirs)))
    return Check(quantity, oracle, float(error.max(initial=0.0)), passed)


def run_checks(explanation, eps=1e-6):
    """Every z, a, δ, gradient and loss of the trace against autodiff and central differences."""
    e = explanation
    m, s = e.m, objective_symbol(e.m)
    engine = autodiff(e.layers, e.x, e.y, e.loss)
    numeric = central_differences(e.layers, e.x, e.y, e.loss, eps)
    checks = [_compare(s, "autodiff", e.loss_value, engine["J"])]
    for i, layer in enumerate(e.layers):
        n = layer.index
        checks += [
            _compare(f"z({n})", "autodiff", layer.z, engine["z"][i]),
            _compare(f"a({n})", "autodiff", layer.a, engine["a"][i]),
        ]
        # autodiff and differences give ∂J/∂z(ℓ) = δ(ℓ)/m for the batch mean J.
        for oracle, source in (("autodiff", engine), ("central differences", numeric)):
            checks += [
                _compare(f"δ({n})", oracle, layer.delta, m * source["dz"][i]),
                _compare(f"∂{s}/∂W({n})", oracle, layer.dW, source["dW"][i]),
                _compare(f"∂{s}/∂b({n})", oracle, layer.db, source["db"][i]),
            ]
    after = autodiff(e.layers, e.x, e.y, e.loss, use_new=True)
    checks.append(_compare(f"{s} after the step", "autodiff", e.loss_after, after["J"]))
    return checks
