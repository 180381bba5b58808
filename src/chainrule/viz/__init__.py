"""Plots of training runs, models and loss landscapes (matplotlib, Agg canvas, no pyplot).

Every function returns the matplotlib Figure and, given `path`, also writes it as a PNG
atomically. matplotlib is imported only when a figure is made.

    history = cr.fit(...)
    cr.viz.plot_history(history, path="curves.png")
    cr.viz.plot_decision_boundary(model, X, y, path="boundary.png")
    cr.viz.plot_confusion_matrix(y, model=model, X=X, path="confusion.png")

    steps = cr.viz.StepRecorder()           # a fit() callback: lr and gradient norms per step
    cr.fit(..., callbacks=[steps])
    cr.viz.plot_gradient_norms(steps, path="grad_norms.png")
"""

from .evaluation import (
    confusion_matrix,
    plot_confusion_matrix,
    plot_decision_boundary,
    plot_predicted_vs_actual,
)
from .figure import VizError, figure_to_png, new_figure, save_figure
from .landscape import animate_optimizer_paths, plot_model_landscape, plot_optimizer_paths
from .steps import StepRecorder
from .training import plot_gradient_norms, plot_history, plot_learning_rate

__all__ = [
    "StepRecorder",
    "VizError",
    "animate_optimizer_paths",
    "confusion_matrix",
    "figure_to_png",
    "new_figure",
    "plot_confusion_matrix",
    "plot_decision_boundary",
    "plot_gradient_norms",
    "plot_history",
    "plot_learning_rate",
    "plot_model_landscape",
    "plot_optimizer_paths",
    "plot_predicted_vs_actual",
    "save_figure",
]
