"""Seeded train/validation/test splits, stratified by class for classification."""

from __future__ import annotations

import numpy as np

from .errors import DataError
from .validate import check_fraction

__all__ = ["split_indices", "train_test_split"]


def _cut(indices: np.ndarray, fractions) -> list[np.ndarray]:
    """Cut an (already shuffled) index array into len(fractions) + 1 parts; the first part
    (training) gets what the fractions leave."""
    sizes = [round(f * len(indices)) for f in fractions]
    bounds = np.cumsum([len(indices) - sum(sizes), *sizes])[:-1]
    return np.split(indices, bounds)


def split_indices(n: int, fractions, seed=0, labels=None) -> list[np.ndarray]:
    """Row indices of a training part and one part per fraction (e.g. [val, test]).

    The rows are drawn with np.random.default_rng(seed); with `labels`, each class is split
    on its own so every part keeps the class proportions (stratified). Every part is in a
    seeded random order. The fractions must leave at least one training row.
    """
    fractions = [check_fraction(f, "split fraction") for f in fractions]
    if sum(fractions) >= 1:
        raise DataError(f"the split fractions {fractions} leave no rows for training")
    rng = np.random.default_rng(seed)
    groups = [n] if labels is None else [np.flatnonzero(labels == c) for c in np.unique(labels)]
    parts: list[list[np.ndarray]] = [[] for _ in range(len(fractions) + 1)]
    for group in groups:  # permutation(n) is permutation(arange(n)), without the arange
        for part, piece in zip(parts, _cut(rng.permutation(group), fractions)):
            part.append(piece)
    # one group: its pieces are disjoint views of one permutation, shuffled where they lie
    result = [part[0] if len(part) == 1 else np.concatenate(part) for part in parts]
    for indices in result:
        rng.shuffle(indices)  # what permutation does, on the array itself (no copy)
    if len(result[0]) == 0:
        raise DataError(
            f"{n} rows are too few to split with fractions {fractions}: "
            "no rows are left for training"
        )
    return result


def train_test_split(X, y, test_size=0.2, seed=0, stratify=True):
    """(X_train, y_train, X_test, y_test); stratified by y when stratify is true."""
    train, test = split_indices(len(X), [test_size], seed, y if stratify else None)
    return X[train], y[train], X[test], y[test]
