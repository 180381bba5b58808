"""How a trained model does: decision boundary, confusion matrix, predicted vs actual."""

from __future__ import annotations

import numpy as np

from .figure import VizError, finish, new_figure

__all__ = [
    "confusion_matrix",
    "plot_confusion_matrix",
    "plot_decision_boundary",
    "plot_predicted_vs_actual",
]


def _predict_values(model, X):
    """Outputs of a chainrule Module (via cr.predict), an estimator's predict(), or a
    function of an array."""
    from ..nn import Module

    if isinstance(model, Module):
        from ..train import predict

        return np.asarray(predict(model, X))
    return np.asarray(model.predict(X) if hasattr(model, "predict") else model(X))


def _predict_classes(model, X):
    """Class indices from a chainrule Module (logits or probabilities) or a function of an
    array; an estimator's predict() gives its labels as they are."""
    from ..nn import Module

    out = _predict_values(model, X)
    if hasattr(model, "predict") and not isinstance(model, Module):
        return out
    if out.ndim == 2 and out.shape[1] > 1:
        return out.argmax(axis=1)
    out = out.reshape(-1)
    # One output: a probability when it stays in [0, 1], else a logit.
    threshold = 0.5 if out.min() >= 0 and out.max() <= 1 else 0.0
    return (out > threshold).astype(np.int64)


def plot_decision_boundary(
    model, X, y, path=None, resolution=200, title="decision boundary", class_names=None
):
    """The model's predicted class over the plane of two features, with the data on top."""
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise VizError(f"plot_decision_boundary: needs 2 features, got X of shape {X.shape}")
    margin = 0.1 * (X.max(axis=0) - X.min(axis=0)) + 1e-9
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    u, v = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([u.ravel(), v.ravel()])
    labels, codes = np.unique(y, return_inverse=True)
    predicted = _predict_classes(model, grid)
    if predicted.dtype.kind not in "iu":  # an estimator returning label names
        predicted = np.searchsorted(labels, predicted)
    k = max(len(labels), int(predicted.max()) + 1)
    fig, (ax,) = new_figure(size=(5.5, 4.5))
    cmap, top = ("tab10", 10) if k <= 10 else ("tab20", 20)
    colors = dict(cmap=cmap, vmin=-0.5, vmax=top - 0.5)  # class i gets the colormap's i-th colour
    ax.contourf(
        u, v, predicted.reshape(u.shape), levels=np.arange(k + 1) - 0.5, alpha=0.35, **colors
    )
    ax.scatter(X[:, 0], X[:, 1], c=codes, edgecolors="k", linewidths=0.4, s=18, **colors)
    names = class_names if class_names is not None else labels
    handles = [ax.scatter([], [], color=_color(cmap, i), label=str(n)) for i, n in enumerate(names)]
    ax.legend(handles=handles, fontsize="small", loc="best")
    ax.set(xlabel="x₁", ylabel="x₂", title=title)
    return finish(fig, path)


def _color(cmap, i):
    from matplotlib import colormaps

    return colormaps[cmap](i)


def _class_indices(y, classes):
    """Indices into `classes` of labels that are indices already or members of `classes`."""
    if y.dtype.kind in "iu":
        if y.min() < 0 or y.max() >= len(classes):
            raise VizError(
                f"confusion matrix: label {int(y.max())} outside the {len(classes)} classes"
            )
        return y.astype(np.int64)
    position = {str(c): i for i, c in enumerate(classes)}
    unknown = sorted({str(v) for v in y} - set(position))
    if unknown:
        raise VizError(f"confusion matrix: labels {unknown} are not among classes {classes}")
    return np.array([position[str(v)] for v in y], dtype=np.int64)


def confusion_matrix(y_true, y_pred, classes=None) -> tuple[np.ndarray, list]:
    """(counts with rows = true class, columns = predicted class, class names).

    With `classes`, labels are indices into it or its members; else the sorted labels seen.
    """
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise VizError(
            f"confusion matrix: y_true {y_true.shape} and y_pred {y_pred.shape} "
            "must be non-empty and of one length"
        )
    if classes is None:
        classes = np.unique(np.concatenate([y_true, y_pred])).tolist()
    rows, cols = _class_indices(y_true, classes), _class_indices(y_pred, classes)
    counts = np.zeros((len(classes), len(classes)), dtype=np.int64)
    np.add.at(counts, (rows, cols), 1)
    return counts, [str(c) for c in classes]


def _uses_model(model, X, y_pred, caller) -> bool:
    """True for model= and X=, False for y_pred; an error for any other mix."""
    if (model is None) == (y_pred is None) or (model is None) != (X is None):
        raise VizError(f"{caller}: give either y_pred, or model= and X=")
    return model is not None


def plot_confusion_matrix(
    y_true,
    y_pred=None,
    classes=None,
    path=None,
    normalize=False,
    title="confusion matrix",
    *,
    model=None,
    X=None,
):
    """Counts (or row fractions with normalize=True) of true against predicted class.

    The predictions are y_pred, or those of `model` (a chainrule Module, an estimator or a
    function giving class scores) for the rows X."""
    if _uses_model(model, X, y_pred, "plot_confusion_matrix"):
        y_pred = _predict_classes(model, np.asarray(X))
    counts, names = confusion_matrix(y_true, y_pred, classes)
    values = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1) if normalize else counts
    k = len(names)
    fig, (ax,) = new_figure(size=(max(4.0, 0.5 * k + 2.5), max(3.5, 0.5 * k + 2.0)))
    image = ax.imshow(values, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax, shrink=0.8)
    if k <= 20:
        for (i, j), v in np.ndenumerate(values):
            text = f"{v:.2f}" if normalize else str(int(v))
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize="small",
                color="white" if v > 0.6 * values.max() else "black",
            )
    ax.set_xticks(range(k), names, rotation=45 if k > 5 else 0)
    ax.set_yticks(range(k), names)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    return finish(fig, path)


def plot_predicted_vs_actual(
    y_true, y_pred=None, path=None, title="predicted vs actual", *, model=None, X=None
):
    """Regression: each prediction against its target, with the line y = x and R².

    The predictions are y_pred, or those of `model` (a chainrule Module, an estimator or a
    function) for the rows X."""
    if _uses_model(model, X, y_pred, "plot_predicted_vs_actual"):
        y_pred = _predict_values(model, np.asarray(X))
    y_true = np.asarray(y_true, dtype=np.float64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.float64).ravel()
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise VizError(
            f"plot_predicted_vs_actual: y_true {y_true.shape} and y_pred "
            f"{y_pred.shape} must be non-empty and of one length"
        )
    residual = np.sum((y_true - y_pred) ** 2)
    total = np.sum((y_true - y_true.mean()) ** 2)
    r2 = 1.0 - residual / total if total > 0 else float("nan")
    fig, (ax,) = new_figure(size=(4.8, 4.5))
    ax.scatter(y_true, y_pred, s=12, alpha=0.7)
    lo, hi = min(y_true.min(), y_pred.min()), max(y_true.max(), y_pred.max())
    ax.plot([lo, hi], [lo, hi], color="k", linestyle="--", linewidth=1, label="y = x")
    ax.set(xlabel="actual", ylabel="predicted", title=f"{title} (R² = {r2:.3f})")
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(alpha=0.3)
    ax.legend()
    return finish(fig, path)
