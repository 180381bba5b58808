"""The `curve` data set: a 1-D regression curve, y = sin(1.5 x) + x / 3 plus noise."""

from __future__ import annotations

import numpy as np

from .datasets import Dataset, _check_count
from .split import split_indices

__all__ = ["curve"]


def curve(n_samples: int = 200, noise: float = 0.1, test_size: float = 0.2, seed: int = 0):
    """x uniform in [−3, 3], y = sin(1.5 x) + x / 3 + Gaussian noise of standard deviation
    `noise`: a line cannot fit it, a few tanh units can. X has shape (n, 1), y (n,), both
    float32; the split is random (not stratified)."""
    n_samples = _check_count(n_samples, "n_samples", 2)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3.0, 3.0, n_samples)
    y = np.sin(1.5 * x) + x / 3 + noise * rng.standard_normal(n_samples)
    X, y = x[:, None].astype(np.float32), y.astype(np.float32)
    train, test = split_indices(n_samples, [test_size], seed)
    return Dataset(X[train], y[train], X[test], y[test], "regression", None, ["x"], "curve")
