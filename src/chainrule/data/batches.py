"""A batch as a model takes it: inputs in the model's dtype, targets in the form its loss
expects. fit(), predict(), evaluate() and the compiled step share these conversions."""

from __future__ import annotations

from ..engine.tensor import Tensor


def to_input(X_batch, dtype) -> Tensor:
    return Tensor(X_batch if X_batch.dtype == dtype else X_batch.astype(dtype))


def to_target(y_batch, output) -> Tensor:
    """Targets shaped for the loss: class labels stay integers for a model with several
    outputs; otherwise targets take the output's dtype, and (n,) becomes (n, 1) for a model
    with a single output column (binary classification, univariate regression)."""
    return Tensor(target_array(y_batch, output.data))


def target_array(y, out):
    """to_target on arrays: y converted for the model's output array `out`."""
    if y.dtype.kind in "iub" and out.ndim == 2 and out.shape[1] > 1 and y.ndim == 1:
        return y
    if y.dtype != out.dtype:
        y = y.astype(out.dtype)
    if y.ndim == 1 and out.ndim == 2 and out.shape[1] == 1:
        y = y.reshape(-1, 1)
    return y
