"""Checks of arrays and training arguments, shared by fit, predict, the loaders and the CLI.

Each check either returns the (converted) value or raises DataError naming what was wrong:
the argument, its shape, the offending index and value.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..engine.tensor import Tensor
from .errors import DataError

__all__ = [
    "as_array",
    "check_arrays",
    "check_batch_size",
    "check_epochs",
    "check_finite",
    "check_fraction",
    "check_labels",
    "check_lr",
    "check_n_features",
]


def as_array(data, name: str = "X") -> np.ndarray:
    """An ndarray of numbers from an array, a Tensor or nested lists."""
    if isinstance(data, Tensor):
        data = data.data
    try:
        array = np.asarray(data)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise DataError(f"{name} is not a rectangular array of numbers ({exc})") from None
    if array.dtype.kind not in "fiub":
        raise DataError(f"{name} must hold numbers, got dtype {array.dtype}")
    if array.ndim == 0:
        raise DataError(f"{name} must have one row per example, got a scalar")
    return array


def _index_text(name: str, index) -> str:
    return f"{name}[{', '.join(str(int(i)) for i in index)}]"


def check_finite(array: np.ndarray, name: str = "X") -> np.ndarray:
    """Raise DataError at the first NaN or infinite entry."""
    if array.dtype.kind != "f" or np.isfinite(array).all():
        return array
    index = np.argwhere(~np.isfinite(array))[0]
    value = array[tuple(index)]
    kind = "NaN" if np.isnan(value) else "an infinite value"
    raise DataError(
        f"{name} has {kind} at {_index_text(name, index)} ({value}); "
        "remove or fill non-finite values before training"
    )


def check_n_features(X: np.ndarray, n_features: int, name: str = "X") -> np.ndarray:
    """Raise DataError unless X is 2-D with n_features columns."""
    if X.ndim != 2:
        raise DataError(f"{name} must be 2-D (examples, features), got shape {X.shape}")
    if X.shape[1] != n_features:
        raise DataError(
            f"{name} has {X.shape[1]} features but the model expects {n_features} (shape {X.shape})"
        )
    return X


def check_arrays(X, y=None, *, n_features=None, finite=True, names=("X", "y")):
    """Validate a data set: ndarrays, at least one example, as many labels as examples,
    finite values (unless finite=False) and, if given, the number of features.

    Returns (X, y) as ndarrays (y is None when not given).
    """
    x_name, y_name = names
    X = as_array(X, x_name)
    if len(X) == 0:
        raise DataError(f"{x_name} has no examples (shape {X.shape})")
    if n_features is not None:
        check_n_features(X, n_features, x_name)
    if finite:
        check_finite(X, x_name)
    if y is None:
        return X, None
    y = as_array(y, y_name)
    if len(y) != len(X):
        raise DataError(
            f"{x_name} and {y_name} have different lengths: {x_name} has "
            f"{len(X)} rows (shape {X.shape}), {y_name} has {len(y)} "
            f"(shape {y.shape})"
        )
    if finite:
        check_finite(y, y_name)
    return X, y


def check_labels(y, n_classes: int, name: str = "y") -> np.ndarray:
    """Class labels as int64, each in 0..n_classes-1 (n_classes: the model's outputs)."""
    y = as_array(y, name)
    if y.dtype.kind == "f":
        check_finite(y, name)
        if not np.array_equal(y, np.round(y)):
            index = np.argwhere(y != np.round(y))[0]
            raise DataError(
                f"{name} must hold integer class labels, got {y[tuple(index)]} "
                f"at {_index_text(name, index)}"
            )
    labels = y.astype(np.int64)
    bad = (labels < 0) | (labels >= n_classes)
    if bad.any():
        index = np.argwhere(bad)[0]
        raise DataError(
            f"label {labels[tuple(index)]} at {_index_text(name, index)} is out "
            f"of range for a model with {n_classes} classes (labels must be "
            f"0..{n_classes - 1})"
        )
    return labels


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_batch_size(batch_size, n_examples=None):
    """An int > 0; None means the whole data set (batch gradient descent) when n is known."""
    if batch_size is None and n_examples is not None:
        return int(n_examples)
    if not _is_int(batch_size) or batch_size <= 0:
        raise DataError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def check_epochs(epochs) -> int:
    if not _is_int(epochs) or epochs < 0:
        raise DataError(f"epochs must be an integer >= 0, got {epochs!r}")
    return int(epochs)


def check_lr(lr) -> float:
    """A learning rate: a finite number > 0."""
    # The ignores here and in check_fraction: typeshed gives the numbers ABCs no arithmetic.
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not np.isfinite(lr) or lr <= 0:  # type: ignore[call-overload]
        raise DataError(f"lr (learning rate) must be a finite number > 0, got {lr!r}")
    return float(lr)


def check_fraction(value, name: str) -> float:
    """A split fraction in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:  # type: ignore[operator]
        raise DataError(f"{name} must be a fraction in [0, 1), got {value!r}")
    return float(value)
