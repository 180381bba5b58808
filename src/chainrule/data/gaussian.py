"""The `gaussian` data set: two Gaussian clouds, one per class (TensorFlow Playground's)."""

from __future__ import annotations

import numpy as np

from .datasets import _check_count, make_classification_dataset

__all__ = ["gaussian"]


def gaussian(n_samples: int = 500, noise: float = 0.2, test_size: float = 0.2, seed: int = 0):
    """Two classes of n_samples // 2 points each (the first gets one more when n_samples is
    odd), drawn around (1, 1) and (−1, −1) with standard deviation 0.3 + 2·noise: the clouds
    overlap more as the noise grows (at noise 0 they hardly touch)."""
    n_samples = _check_count(n_samples, "n_samples", 2)
    rng = np.random.default_rng(seed)
    labels = np.arange(n_samples) % 2
    centres = np.where(labels[:, None] == 0, 1.0, -1.0) * np.ones((1, 2))
    X = centres + (0.3 + 2 * noise) * rng.standard_normal((n_samples, 2))
    return make_classification_dataset("gaussian", X, labels, test_size, seed, classes=[0, 1])
