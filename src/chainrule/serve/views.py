"""What the page shows of a model at one moment, computed from NumPy copies of its state.

A View is taken by the training thread between two steps; it keeps its own copies of the
weights, so the backprop panel and "save" read a consistent model while training goes on.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

__all__ = ["View", "losses", "take_view"]

MAX_CURVE_POINTS = 300


class View(dict):
    """The JSON the page receives (a dict), plus the weights it was drawn from."""

    state: dict  # the model's state_dict, copied


def take_view(
    model, problem, loss_fn, progress: dict, curve: list, grad_norms: dict, warnings: list
) -> View:
    """Decision heat map (or fitted curve), per-neuron maps, train and test loss, now."""
    with _evaluating(model):
        heat = None if problem.regression else _class_one_probability(model, problem.grid)
        fit = _prediction(model, problem.grid) if problem.regression else None
        neurons = _neuron_maps(model, problem.neuron_grid)
    train_loss, test_loss = losses(model, problem, loss_fn)
    view = View(
        progress,
        train_loss=train_loss,
        test_loss=test_loss,
        heat=heat,
        fit=fit,
        neurons=neurons,
        curve=_thinned(curve),
        grad_norms=grad_norms,
        warnings=list(warnings),
    )
    view.state = {name: array.copy() for name, array in model.state_dict().items()}
    return view


@contextmanager
def _evaluating(model):
    """Eval mode (no dropout) and no graph, then back to the mode the model was in."""
    import chainrule as cr

    was_training = model.training
    model.eval()
    try:
        with cr.no_grad():
            yield
    finally:
        model.train(was_training)


def losses(model, problem, loss_fn) -> tuple:
    """(train loss, test loss) of the model now (test None when there is no test part)."""
    with _evaluating(model):
        return (
            _loss(model, loss_fn, problem.X_train, problem.data.y_train),
            _loss(model, loss_fn, problem.X_test, problem.data.y_test),
        )


def _loss(model, loss_fn, X, y) -> float | None:
    import chainrule as cr

    from ..train.inference import to_target

    if not len(X):
        return None
    output = model(cr.tensor(X))
    return float(loss_fn(output, to_target(y, output)).data)  # as fit shapes the target


def _class_one_probability(model, grid) -> list:
    """P(class 1) on each grid cell, in hundredths (small JSON)."""
    import chainrule as cr

    logits = model(cr.tensor(grid)).data.astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    return np.round(p[:, 1] * 100).astype(int).tolist()


def _prediction(model, grid) -> list:
    """The regression output at each grid point along x."""
    import chainrule as cr

    return np.round(model(cr.tensor(grid)).data[:, 0].astype(np.float64), 4).tolist()


def _neuron_maps(model, grid) -> list:
    """For each hidden layer, each neuron's activation on the grid, scaled to -100..100."""
    import chainrule as cr

    from ..nn import ReLU, Sigmoid, Tanh

    maps, a = [], cr.tensor(grid)
    for layer in model:
        a = layer(a)
        if isinstance(layer, (ReLU, Sigmoid, Tanh)):
            values = a.data.astype(np.float64)
            scale = np.maximum(np.abs(values).max(axis=0), 1e-12)
            maps.append(np.round(values / scale * 100).astype(int).T.tolist())
    return maps


def _thinned(curve: list) -> list:
    """At most MAX_CURVE_POINTS (epoch, train, test) rows, always with the latest."""
    if len(curve) <= MAX_CURVE_POINTS:
        return list(curve)
    step = len(curve) / MAX_CURVE_POINTS
    return [curve[int(i * step)] for i in range(MAX_CURVE_POINTS - 1)] + [curve[-1]]
