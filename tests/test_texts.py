"""The texts' hand-derived gradients (primer-worked-backprop-equations), computed by hand.

The texts' shapes are column-major: X is (n, m), one column per example; y and ŷ are (1, m);
a weight maps n features with shape (k, n). 1⃗ sums over the m examples. Each formula is
written in NumPy exactly as printed and compared with the engine's backward().
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

M, N, K = 7, 3, 4  # examples, features, hidden units
RTOL = 1e-10


def params(**arrays):
    return {name: cr.tensor(value, requires_grad=True) for name, value in arrays.items()}


def mse(y_hat, y):
    """L = (1/m) ||ŷ − y||²."""
    return ((y_hat - y) ** 2).sum() / y.shape[1]


def sigma(z):
    return 1 / (1 + np.exp(-z))


def assert_grads(p, expected):
    for name, grad in expected.items():
        assert p[name].grad.shape == p[name].shape, name
        np.testing.assert_allclose(p[name].grad, grad, rtol=RTOL, err_msg=f"dL/d{name}")


@pytest.fixture
def data(rng):
    return rng.standard_normal((N, M)), rng.standard_normal((1, M))


def test_univariate_linear_regression(rng):
    x, y = rng.standard_normal((1, M)), rng.standard_normal((1, M))
    w, b = rng.standard_normal(), rng.standard_normal()
    p = params(w=np.float64(w), b=np.float64(b))
    mse(p["w"] * x + p["b"], y).backward()
    y_hat = w * x + b
    ones = np.ones((M, 1))
    assert_grads(p, {"w": ((2 / M) * (y_hat - y) @ x.T).item(),   # (2/m)(ŷ − y)xᵀ
                     "b": ((2 / M) * (y_hat - y) @ ones).item()})  # (2/m)(ŷ − y)1⃗


def test_multivariate_linear_regression(data, rng):
    X, y = data
    w, b = rng.standard_normal((1, N)), rng.standard_normal()
    p = params(w=w, b=np.float64(b))
    mse(p["w"] @ X + p["b"], y).backward()
    y_hat = w @ X + b
    ones = np.ones((M, 1))
    assert_grads(p, {"w": (2 / M) * (y_hat - y) @ X.T,           # (2/m)(ŷ − y)Xᵀ
                     "b": ((2 / M) * (y_hat - y) @ ones).item()})


def test_two_layer_linear_network(data, rng):
    X, y = data
    W1, b1 = rng.standard_normal((K, N)), rng.standard_normal((K, 1))
    w2, b2 = rng.standard_normal((1, K)), rng.standard_normal()
    p = params(W1=W1, b1=b1, w2=w2, b2=np.float64(b2))
    Z_t = p["W1"] @ X + p["b1"]
    mse(p["w2"] @ Z_t + p["b2"], y).backward()
    Z = W1 @ X + b1
    delta = (2 / M) * (w2 @ Z + b2 - y)  # (2/m)(ŷ − y)
    ones = np.ones((M, 1))
    assert_grads(p, {"W1": w2.T @ delta @ X.T,     # w2ᵀ(2/m)(ŷ − y)Xᵀ
                     "b1": w2.T @ delta @ ones,    # w2ᵀ(2/m)(ŷ − y)1⃗
                     "w2": delta @ Z.T,            # (2/m)(ŷ − y)Zᵀ
                     "b2": (delta @ ones).item()})


def test_two_layer_sigmoid_network(data, rng):
    X, y = data
    W1, b1 = rng.standard_normal((K, N)), rng.standard_normal((K, 1))
    w2, b2 = rng.standard_normal((1, K)), rng.standard_normal()
    p = params(W1=W1, b1=b1, w2=w2, b2=np.float64(b2))
    A_t = (p["W1"] @ X + p["b1"]).sigmoid()
    mse(p["w2"] @ A_t + p["b2"], y).backward()
    A = sigma(W1 @ X + b1)
    delta = (2 / M) * (w2 @ A + b2 - y)
    hidden = (w2.T @ delta) * A * (1 - A)  # (w2ᵀ(2/m)(ŷ − y)) ⊙ A ⊙ (1 − A)
    ones = np.ones((M, 1))
    assert_grads(p, {"W1": hidden @ X.T, "b1": hidden @ ones,
                     "w2": delta @ A.T, "b2": (delta @ ones).item()})


def test_gradient_descent_with_engine_and_hand_gradients_agrees(data, rng):
    """Twenty steps of the texts' update θ ← θ − α ∂L/∂θ on the sigmoid network, both ways."""
    X, y = data
    hand = {"W1": rng.standard_normal((K, N)), "b1": np.zeros((K, 1)),
            "w2": rng.standard_normal((1, K)), "b2": 0.0}
    p = params(**{k: np.array(v, dtype=np.float64) for k, v in hand.items()})
    alpha, losses = 0.5, []
    for _ in range(20):
        loss = mse(p["w2"] @ (p["W1"] @ X + p["b1"]).sigmoid() + p["b2"], y)
        loss.backward()
        losses.append(loss.item())
        for t in p.values():
            t.data = t.data - alpha * t.grad
            t.grad = None
        A = sigma(hand["W1"] @ X + hand["b1"])
        delta = (2 / M) * (hand["w2"] @ A + hand["b2"] - y)
        hidden = (hand["w2"].T @ delta) * A * (1 - A)
        hand = {"W1": hand["W1"] - alpha * hidden @ X.T,
                "b1": hand["b1"] - alpha * hidden.sum(axis=1, keepdims=True),
                "w2": hand["w2"] - alpha * delta @ A.T, "b2": hand["b2"] - alpha * delta.sum()}
    assert losses[-1] < losses[0]
    for name, value in hand.items():
        np.testing.assert_allclose(p[name].data, value, rtol=1e-9, err_msg=name)
