"""The "one backprop step" panel: `chainrule explain` on the session's model and one point.

The model's Linear layers become explain's (W, b) pairs; the point is standardized as the
network sees it; the loss is the one trained: cross-entropy over the classes or the squared
error of their softmax probabilities (softmax output), or for the regression curve the mean
squared error (identity output; PyTorch's MSELoss).
Dropout is left out: the trace is of the network as it predicts.
"""

from __future__ import annotations

import numpy as np

from .settings import SettingsError
from .turns import ENGINE

__all__ = ["backprop_step"]


def backprop_step(session, part: str, index: int) -> dict:
    """explain's JSON trace (and its text) for point `index` of the `part` ("train"/"test")."""
    from ..explain import explain, to_dict

    problem, view = session.problem, session.view
    X = {"train": problem.X_train, "test": problem.X_test}.get(part)
    if X is None:
        raise SettingsError(f"part must be 'train' or 'test', got {part!r}")
    if not 0 <= index < len(X):
        raise SettingsError(f"point {index} does not exist: the {part} part has {len(X)} points")
    y = {"train": problem.data.y_train, "test": problem.data.y_test}[part]
    params = _linear_params(view.state, len(session.settings.hidden) + 1)
    output, loss = problem.explain_loss
    if loss == "mse" and not problem.regression:  # the squared error against one-hot rows
        y = np.eye(len(problem.data.classes))[y]
    with ENGINE:  # explain checks itself with autodiff
        result = explain(
            sizes=problem.sizes,
            activation=session.settings.activation,
            output=output,
            loss=loss,
            X=X[index : index + 1],
            y=y[index : index + 1],
            examples=[0],
            lr=session.settings.lr,
            params=params,
            seed=None,
        )
    return {
        "part": part,
        "index": index,
        "step": view["step"],
        "text": result.render("text"),
        "trace": to_dict(result),
    }


def _linear_params(state: dict, n_layers: int) -> list:
    """[(W, b), ...] of the Linear layers in order (their names end in weight/bias)."""
    weights = [name for name in state if name.endswith("weight")]
    if len(weights) != n_layers:
        raise SettingsError(f"the model has {len(weights)} weight matrices, expected {n_layers}")
    return [
        (
            np.asarray(state[w], dtype=np.float64),
            np.asarray(state[w[: -len("weight")] + "bias"], dtype=np.float64),
        )
        for w in weights
    ]
