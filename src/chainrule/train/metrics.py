"""Metrics as plain functions of (y_true, y_pred) arrays, scikit-learn's formulas.

`y_pred` may be class labels, probabilities or logits, as a model emits them:

- one column per class (n, k): the predicted class is the argmax (logits or probabilities);
- one output (n,) or (n, 1) of floats: a probability of class 1 when every value lies in
  [0, 1], otherwise a logit (class 1 when above 0);
- integer labels (n,): compared as they are.

Every function returns a Python float.
"""

from __future__ import annotations

import numpy as np

from ..engine.tensor import ChainruleError

__all__ = ["METRICS", "accuracy", "get_metric", "log_loss", "mae", "mse", "r2", "top_k_accuracy"]


class MetricError(ChainruleError, ValueError):
    """A metric was given arrays it cannot compare."""


def _as_arrays(y_true, y_pred):
    y_true = np.asarray(getattr(y_true, "data", y_true))
    y_pred = np.asarray(getattr(y_pred, "data", y_pred))
    if len(y_true) != len(y_pred):
        raise MetricError(
            f"y_true has {len(y_true)} rows but y_pred has {len(y_pred)}; they must match"
        )
    if len(y_true) == 0:
        raise MetricError("metrics need at least one row, got 0")
    return y_true, y_pred


def _single_output(y_pred):
    return y_pred.ndim == 1 or (y_pred.ndim == 2 and y_pred.shape[1] == 1)


def predicted_classes(y_pred) -> np.ndarray:
    """Class labels from labels, probabilities or logits (see the module docstring)."""
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2 and y_pred.shape[1] > 1:
        return y_pred.argmax(axis=1)
    y_pred = y_pred.reshape(-1)
    if y_pred.dtype.kind in "iub":
        return y_pred
    if y_pred.min() >= 0.0 and y_pred.max() <= 1.0:
        return (y_pred > 0.5).astype(np.int64)
    return (y_pred > 0.0).astype(np.int64)


def accuracy(y_true, y_pred) -> float:
    """Fraction of rows whose predicted class equals the true one."""
    y_true, y_pred = _as_arrays(y_true, y_pred)
    return float(np.mean(predicted_classes(y_pred) == y_true.reshape(-1)))


def top_k_accuracy(y_true, y_pred, k: int = 5) -> float:
    """Fraction of rows whose true class is among the k highest scores (ties: lowest index)."""
    y_true, y_pred = _as_arrays(y_true, y_pred)
    if y_pred.ndim != 2:
        raise MetricError(f"top_k_accuracy needs scores of shape (n, classes), got {y_pred.shape}")
    k = min(int(k), y_pred.shape[1])
    top = np.argsort(-y_pred, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(top == y_true.reshape(-1, 1), axis=1)))


def _regression_arrays(y_true, y_pred):
    y_true, y_pred = _as_arrays(y_true, y_pred)
    y_true = y_true.astype(np.float64).reshape(len(y_true), -1)
    y_pred = y_pred.astype(np.float64).reshape(len(y_pred), -1)
    if y_true.shape != y_pred.shape:
        raise MetricError(f"y_true of shape {y_true.shape} and y_pred of {y_pred.shape} differ")
    return y_true, y_pred


def mse(y_true, y_pred) -> float:
    """Mean squared error."""
    y_true, y_pred = _regression_arrays(y_true, y_pred)
    return float(np.mean((y_true - y_pred) ** 2))


def mae(y_true, y_pred) -> float:
    """Mean absolute error."""
    y_true, y_pred = _regression_arrays(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))


def r2(y_true, y_pred) -> float:
    """Coefficient of determination, averaged uniformly over outputs (scikit-learn's r2_score).

    An output whose true values are constant scores 1.0 if predicted exactly, else 0.0.
    """
    y_true, y_pred = _regression_arrays(y_true, y_pred)
    residual = np.sum((y_true - y_pred) ** 2, axis=0)
    total = np.sum((y_true - y_true.mean(axis=0)) ** 2, axis=0)
    constant = total == 0
    scores = np.where(constant, 0.0, 1.0 - residual / np.where(constant, 1.0, total))
    scores[constant & (residual == 0)] = 1.0
    return float(np.mean(scores))


def _probabilities(y_pred):
    """Rows of class probabilities from probabilities or logits."""
    if _single_output(y_pred):
        p = y_pred.astype(np.float64).reshape(-1)
        if p.min() < 0.0 or p.max() > 1.0:
            p = 0.5 * (1.0 + np.tanh(0.5 * p))  # logistic sigmoid without overflow
        return np.stack([1.0 - p, p], axis=1)
    scores = y_pred.astype(np.float64)
    rows_are_probabilities = scores.min() >= 0.0 and np.allclose(
        scores.sum(axis=1), 1.0, rtol=0.0, atol=1e-6
    )
    if rows_are_probabilities:
        return scores
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def log_loss(y_true, y_pred, eps: float | None = None) -> float:
    """Mean negative log-likelihood of the true class (cross-entropy).

    Probabilities are clipped to [eps, 1 - eps] (eps defaults to the float64 machine epsilon,
    as in scikit-learn); logits are turned into probabilities first.
    """
    y_true, y_pred = _as_arrays(y_true, y_pred)
    probabilities = _probabilities(y_pred)
    labels = y_true.reshape(-1).astype(np.int64)
    if labels.min() < 0 or labels.max() >= probabilities.shape[1]:
        raise MetricError(
            f"log_loss: labels range over [{labels.min()}, {labels.max()}] but y_pred has "
            f"{probabilities.shape[1]} classes"
        )
    eps = np.finfo(np.float64).eps if eps is None else eps
    chosen = np.clip(probabilities[np.arange(len(labels)), labels], eps, 1.0 - eps)
    return float(-np.mean(np.log(chosen)))


METRICS = {
    "accuracy": accuracy,
    "acc": accuracy,
    "top_k_accuracy": top_k_accuracy,
    "mse": mse,
    "mae": mae,
    "r2": r2,
    "log_loss": log_loss,
}


def get_metric(metric):
    """(name, function) for a metric name or a callable (named by its __name__)."""
    if callable(metric):
        return getattr(metric, "__name__", type(metric).__name__), metric
    function = METRICS.get(metric)
    if function is None:
        raise MetricError(f"unknown metric {metric!r}; known: {', '.join(sorted(METRICS))}")
    return function.__name__, function
