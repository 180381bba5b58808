"""Two-parameter loss surfaces f(x, y) to watch optimizers on.

rosenbrock, bowl, two_minima and saddle are chainrule.optim's test landscapes; the fifth is
linear regression's MSE over (w, b) on generated data. Each evaluates NumPy grids (for
contours) and Tensors (for gradients) alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..engine import random as _random
from ..engine.tensor import ChainruleError

__all__ = ["SURFACES", "LandscapeError", "Surface", "get_surface"]


class LandscapeError(ChainruleError, ValueError):
    """An unknown surface or optimizer, or a bad landscape setting."""


@dataclass(frozen=True)
class Surface:
    name: str
    fn: Callable  # f(x, y) on NumPy arrays or on Tensors
    bounds: tuple  # ((x_min, x_max), (y_min, y_max))
    start: tuple  # where the optimizers start by default
    minima: tuple  # ((x, y), ...), the global minimum first
    lr: float  # a learning rate that suits plain SGD here
    formula: str
    labels: tuple = ("x", "y")
    notes: dict = field(default_factory=dict)

    def __call__(self, x, y):
        return self.fn(x, y)

    def grid(self, resolution=200):
        """(X, Y, Z): the surface over its bounds, resolution × resolution points."""
        (x0, x1), (y0, y1) = self.bounds
        X, Y = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
        return X, Y, np.asarray(self.fn(X, Y), dtype=np.float64)


def linear_regression(n=100, seed=None):
    """MSE of ŷ = w x + b over (w, b), on data y = 2x + 1 + noise drawn from a generator of
    its own seeded with `seed` (chainrule's generator when seed is None)."""
    rng = _random.generator_for(seed)
    x = rng.standard_normal(n)
    y = 2.0 * x + 1.0 + 0.5 * rng.standard_normal(n)
    w_star, b_star = (float(v) for v in np.polyfit(x, y, 1))
    # MSE(w, b) = mean((w x + b − y)²) expanded in the data's moments, so a grid costs no loop.
    sxx, sx, sxy, sy, syy = (x * x).mean(), x.mean(), (x * y).mean(), y.mean(), (y * y).mean()

    def mse(w, b):
        return w * w * sxx + 2 * w * b * sx + b * b - 2 * w * sxy - 2 * b * sy + syy

    return Surface(
        "linear_regression",
        mse,
        ((w_star - 4, w_star + 4), (b_star - 4, b_star + 4)),
        (w_star - 3.0, b_star + 3.0),
        ((w_star, b_star),),
        0.1,
        "MSE(w, b) = (1/n) Σᵢ (w xᵢ + b − yᵢ)²",
        ("w", "b"),
        {"x": x, "y": y},
    )


def _from_optim(name):
    """One of chainrule.optim's test landscapes, which also state their formula and the
    learning rate that suits plain SGD on them."""
    from ..optim.landscapes import LANDSCAPES

    f = LANDSCAPES[name]
    minima = tuple((float(x), float(y)) for x, y in f.minima)
    return Surface(name, f.fn, f.bounds, f.start, minima, f.sgd_lr, f.formula)


SURFACES = ("rosenbrock", "bowl", "two_minima", "saddle", "linear_regression")


def get_surface(name, seed=None) -> Surface:
    """A built-in surface by name (see SURFACES); linear_regression draws its data."""
    if name == "linear_regression":
        return linear_regression(seed=seed)
    if name not in SURFACES:
        raise LandscapeError(f"landscape: unknown surface {name!r}; choose from {SURFACES}")
    return _from_optim(name)
