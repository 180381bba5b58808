"""Optimizer paths over a 2-D surface: every optimizer starts from one point."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..optim import registry
from ..optim.optimizer import OptimizerError
from ..optim.registry import OPTIMIZERS
from .surfaces import LandscapeError

__all__ = ["OPTIMIZERS", "Path", "make_optimizer", "optimizer_paths"]


@dataclass
class Path:
    """Where one optimizer went: points (steps + 1, 2), the loss at each, and whether it
    stopped early because the loss stopped being finite."""

    name: str
    lr: float
    points: np.ndarray
    losses: np.ndarray
    diverged: bool = False


def make_optimizer(name, params, lr, **overrides):
    """chainrule.optim.registry's optimizer by name; LandscapeError for an unknown name."""
    try:
        registry.optimizer_class(name)
    except OptimizerError as error:
        raise LandscapeError(f"landscape: {error}") from None
    return registry.make_optimizer(name, params, lr, **overrides)


def _run(surface, name, start, lr, steps):
    """chainrule.optim.minimize's trajectory, cut before the loss stops being finite."""
    from ..optim import minimize

    with np.errstate(over="ignore", invalid="ignore"):  # a diverging path is a result
        found = minimize(
            surface.fn, start, lambda params: make_optimizer(name, params, lr), steps=steps
        )
    finite = np.isfinite(found.losses) & np.isfinite(found.points).all(axis=1)
    keep = len(finite) if finite.all() else int(np.argmin(finite))
    return Path(name, lr, found.points[:keep], found.losses[:keep], keep < len(finite))


def optimizer_paths(
    surface,
    optimizers=("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"),
    lr=None,
    steps=100,
    start=None,
) -> dict:
    """{name: Path} for each optimizer run `steps` steps on `surface` from `start`.

    lr: one rate for all, a dict {name: rate}, or None for the surface's own (which suits
    plain SGD there). start: the surface's default start when None.
    """
    if steps < 1:
        raise LandscapeError(f"landscape: steps must be ≥ 1, got {steps}")
    start = surface.start if start is None else tuple(float(v) for v in start)
    if len(start) != 2:
        raise LandscapeError(f"landscape: start must be a point (x, y), got {start}")
    rates = lr if isinstance(lr, dict) else dict.fromkeys(optimizers, lr)
    paths = {}
    for name in optimizers:
        rate = rates.get(name)
        rate = surface.lr if rate is None else float(rate)
        if not rate > 0:
            raise LandscapeError(f"landscape: learning rate must be > 0, got {rate} for {name}")
        paths[name] = _run(surface, name, start, rate, int(steps))
    return paths
