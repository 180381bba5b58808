"""The plots of a training run, written as PNG into the run folder (and kept for the report)."""

from __future__ import annotations

import os

import numpy as np

__all__ = ["draw_plots"]


def _evaluation_split(data):
    """(name, X, y): the test rows, else validation, else training rows."""
    for name, X, y in (
        ("test", data.X_test, data.y_test),
        ("validation", data.X_val, data.y_val),
        ("training", data.X_train, data.y_train),
    ):
        if len(X):
            return name, X, y
    raise AssertionError("no rows in any split")  # load_csv and the datasets never allow it


def _training_plans(history, steps):
    """The curves of the epochs and steps run (none for --epochs 0)."""
    from .. import viz

    plans = []
    if history.epoch:
        plans.append(
            (
                "loss and metrics per epoch",
                "curves.png",
                lambda path: viz.plot_history(history, path=path),
            )
        )
    if steps.step:
        plans += [
            (
                "learning rate per step",
                "learning_rate.png",
                lambda path: viz.plot_learning_rate(steps, path=path),
            ),
            (
                "gradient norm per layer and step (log scale)",
                "gradient_norms.png",
                lambda path: viz.plot_gradient_norms(steps, path=path),
            ),
        ]
    return plans


def _plans(model, history, steps, data):
    """(caption, file name, function drawing the figure to a path) for each plot."""
    from .. import viz
    from ..train import predict

    plans = _training_plans(history, steps)
    split, X, y = _evaluation_split(data)
    outputs = predict(model, X)
    if data.task == "classification":
        classes = data.preprocessor.classes
        plans.append(
            (
                f"confusion matrix ({split} rows)",
                "confusion_matrix.png",
                lambda path: viz.plot_confusion_matrix(
                    y, np.argmax(outputs, axis=1), classes=classes, path=path
                ),
            )
        )
        if data.X_train.shape[1] == 2:
            plans.append(
                (
                    "decision boundary (training rows, standardized)",
                    "decision_boundary.png",
                    lambda path: viz.plot_decision_boundary(
                        model,
                        data.X_train,
                        data.y_train,
                        path=path,
                        class_names=[str(c) for c in classes],
                    ),
                )
            )
    else:
        plans.append(
            (
                f"predicted vs actual ({split} rows)",
                "predicted_vs_actual.png",
                lambda path: viz.plot_predicted_vs_actual(y, outputs, path=path),
            )
        )
    return plans


def draw_plots(out: str, model, history, steps, data) -> dict:
    """{caption: (file name, PNG bytes)} of every plot written to `out`; steps: the run's
    StepRecorder."""
    drawn = {}
    for caption, name, draw in _plans(model, history, steps, data):
        path = os.path.join(out, name)
        draw(path)
        with open(path, "rb") as handle:
            drawn[caption] = (name, handle.read())
    return drawn
