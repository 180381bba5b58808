"""Two-parameter loss surfaces f(x, y) to watch optimizers on.

Each function is written with operators and Tensor/NumPy methods only, so the same code
evaluates a grid of NumPy arrays (for contours) and a pair of Tensors (for gradients).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import random as _random
from ..tensor import ChainruleError

__all__ = ["LandscapeError", "Surface", "SURFACES", "get_surface"]


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


def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def bowl(x, y):
    return 0.5 * x * x + 2.5 * y * y


def two_minima(x, y):
    return (x * x - 1) ** 2 + 0.3 * x + 0.5 * y * y


def saddle(x, y):
    return x * x - y * y + 0.25 * y ** 4


def _two_minima_x():
    """Critical points of (x² − 1)² + 0.3x in x: the roots of 4x³ − 4x + 0.3."""
    roots = np.sort(np.roots([4.0, 0.0, -4.0, 0.3]).real)
    return roots[0], roots[2]  # global (left) and local (right) minima; the middle is a peak


def linear_regression(n=100, seed=None):
    """MSE of ŷ = w x + b over (w, b), on data y = 2x + 1 + noise drawn from chainrule's
    generator (seeded with `seed` unless None)."""
    rng = _random.manual_seed(seed) if seed is not None else _random.generator()
    x = rng.standard_normal(n)
    y = 2.0 * x + 1.0 + 0.5 * rng.standard_normal(n)
    w_star, b_star = (float(v) for v in np.polyfit(x, y, 1))
    # MSE(w, b) = mean((w x + b − y)²) expanded in the data's moments, so a grid costs no loop.
    sxx, sx, sxy, sy, syy = (x * x).mean(), x.mean(), (x * y).mean(), y.mean(), (y * y).mean()

    def mse(w, b):
        return w * w * sxx + 2 * w * b * sx + b * b - 2 * w * sxy - 2 * b * sy + syy

    return Surface("linear_regression", mse, ((w_star - 4, w_star + 4), (b_star - 4, b_star + 4)),
                   (w_star - 3.0, b_star + 3.0), ((w_star, b_star),), 0.1,
                   "MSE(w, b) = (1/n) Σᵢ (w xᵢ + b − yᵢ)²", ("w", "b"), {"x": x, "y": y})


def _builtins():
    left, right = _two_minima_x()
    return {
        "rosenbrock": Surface("rosenbrock", rosenbrock, ((-2.0, 2.0), (-1.0, 3.0)), (-1.5, 2.0),
                              ((1.0, 1.0),), 1e-3, "(1 − x)² + 100 (y − x²)²"),
        "bowl": Surface("bowl", bowl, ((-5.0, 5.0), (-5.0, 5.0)), (-4.5, 3.0), ((0.0, 0.0),),
                        0.1, "½x² + 2.5y² (convex)"),
        "two_minima": Surface("two_minima", two_minima, ((-2.0, 2.0), (-1.5, 1.5)), (1.8, 1.2),
                              ((float(left), 0.0), (float(right), 0.0)), 0.02,
                              "(x² − 1)² + 0.3x + ½y² (a global and a local minimum)"),
        "saddle": Surface("saddle", saddle, ((-2.0, 2.0), (-2.0, 2.0)), (-1.8, 0.01),
                          ((0.0, float(np.sqrt(2.0))), (0.0, -float(np.sqrt(2.0)))), 0.05,
                          "x² − y² + ¼y⁴ (a saddle point at the origin)"),
    }


SURFACES = ("rosenbrock", "bowl", "two_minima", "saddle", "linear_regression")


def get_surface(name, seed=None) -> Surface:
    """A built-in surface by name (see SURFACES); linear_regression draws its data."""
    if name == "linear_regression":
        return linear_regression(seed=seed)
    surfaces = _builtins()
    if name not in surfaces:
        raise LandscapeError(f"landscape: unknown surface {name!r}; choose from {SURFACES}")
    return surfaces[name]
