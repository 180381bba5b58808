"""predict() and evaluate(): the model in eval mode under no_grad, batch by batch.

Both take arrays (the model's inputs, as they are) or a raw table, a pandas DataFrame or a
table file, which goes through the preprocessing cr.load attached (data/modeltable.py).
The conversions of a batch they share with fit() live in chainrule.data.batches (re-exported
here).
"""

from __future__ import annotations

import numpy as np

from ..data.batches import target_array, to_input, to_target
from ..data.errors import DataError
from ..data.modeltable import is_table, table_arrays
from ..data.validate import check_arrays, check_batch_size
from ..engine.backend import device_of, to_device, to_host
from ..engine.tensor import Tensor, no_grad

__all__ = [
    "evaluate",
    "evaluate_arrays",
    "model_device",
    "model_dtype",
    "n_input_features",
    "predict",
    "target_array",
    "to_input",
    "to_target",
]


def model_dtype(model):
    """The floating dtype of the model's first parameter (float32 for a model without any)."""
    for p in model.parameters():
        if p.data.dtype.kind == "f":
            return p.data.dtype
    return np.dtype(np.float32)


def model_device(model) -> str:
    """'cuda' when the model's parameters are on the GPU, else 'cpu'."""
    return next((device_of(p.data) for p in model.parameters()), "cpu")


def n_input_features(model):
    """in_features of the model's first layer that declares it, or None (also when a
    convolution comes first: its input is not a row of features)."""
    for module in model.modules():
        n = getattr(module, "in_features", None)
        if isinstance(n, int):
            return n
        if hasattr(module, "in_channels"):
            return None
    return None


def _outputs(model, X, batch_size):
    """The model's outputs for X in eval mode under no_grad; the training mode is restored."""
    dtype, device = model_dtype(model), model_device(model)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            chunks = [
                to_host(model(to_input(to_device(X[i : i + batch_size], device), dtype)).data)
                for i in range(0, len(X), batch_size)
            ]
    finally:
        model.train(was_training)
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)


def predict(model, X, batch_size=None) -> np.ndarray:
    """The model's outputs for X, computed in eval mode under no_grad.

    X: an ndarray of the model's inputs; or a raw table (a pandas DataFrame, or the path of
    a CSV/TSV/Parquet/JSON-lines file) with the training columns, for a model that cr.load
    read from a `chainrule train` file: its preprocessing (model.preprocessor) is applied
    first, as `chainrule predict` does. batch_size=None runs all of X at once; a number
    bounds the memory used.
    """
    if is_table(X):
        X, _ = table_arrays(model, X)
    X, _ = check_arrays(X, n_features=n_input_features(model))
    return _outputs(model, X, check_batch_size(batch_size, len(X)))


def evaluate(model, loss_fn, X, y=None, metrics=(), batch_size=None) -> tuple[float, dict]:
    """(loss, {metric name: value}) of the model on (X, y), in eval mode under no_grad.

    `metrics` is a sequence of (name, function) pairs (see metrics.get_metric). X a raw table
    as for predict: y then holds the original labels (or values), or names their column;
    None means the training target's column of X.
    """
    if is_table(X):
        X, y = table_arrays(model, X, y, with_target=True)
    if y is None:
        raise DataError("evaluate needs y, the targets of X's rows")
    X, y = check_arrays(X, y, n_features=n_input_features(model))
    return evaluate_arrays(model, loss_fn, X, y, metrics, check_batch_size(batch_size, len(X)))


def evaluate_arrays(model, loss_fn, X, y, metrics, batch_size) -> tuple[float, dict]:
    """evaluate() on arrays already validated (fit's validation data, every epoch)."""
    outputs = _outputs(model, X, batch_size)
    output = Tensor(outputs)
    with no_grad():
        loss = float(loss_fn(output, to_target(y, output)).data)
    return loss, {name: fn(y, outputs) for name, fn in metrics}
