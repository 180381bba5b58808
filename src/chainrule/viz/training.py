"""Training curves: loss and metrics (training vs validation), learning rate, gradient norms."""

from __future__ import annotations

import numpy as np

from .figure import VizError, finish, history_logs, integer_ticks, new_figure
from .steps import StepRecorder

__all__ = ["plot_gradient_norms", "plot_history", "plot_learning_rate"]

# Logged every epoch but not a training-vs-validation curve.
NOT_CURVES = ("lr", "grad_norm", "grad_norm_max", "time", "epoch")


def _curve_names(logs, metrics):
    if metrics is None:
        metrics = [n for n in logs if not n.startswith("val_") and n not in NOT_CURVES]
        metrics = sorted(metrics, key=lambda n: n != "loss")
    missing = [n for n in metrics if n not in logs]
    if missing or not metrics:
        raise VizError(f"plot_history: {missing or 'no curves'} not logged; logged: {sorted(logs)}")
    return metrics


def plot_history(history, metrics=None, path=None, title=None):
    """One panel per quantity (loss first, then each metric), training and validation."""
    logs, x, xlabel = history_logs(history)
    names = _curve_names(logs, metrics)
    fig, axes = new_figure(ncols=len(names), size=(4.5, 3.5))
    for ax, name in zip(axes, names):
        ax.plot(x, logs[name], marker="o", markersize=3, label="training")
        if f"val_{name}" in logs:
            ax.plot(x, logs[f"val_{name}"], marker="o", markersize=3, label="validation")
        ax.set(xlabel=xlabel, ylabel=name, title=name.replace("_", " "))
        ax.grid(alpha=0.3)
        ax.legend()
        integer_ticks(ax)
    if title:
        fig.suptitle(title)
    return finish(fig, path)


def plot_learning_rate(history_or_rates, path=None, title="learning rate"):
    """The learning rate per epoch (from a History) or per step (from a StepRecorder or a
    list of rates)."""
    if isinstance(history_or_rates, StepRecorder):
        rates = np.asarray(history_or_rates.lr, dtype=np.float64)
        x, xlabel = np.asarray(history_or_rates.step), "step"
    elif isinstance(history_or_rates, (list, tuple, np.ndarray)):
        rates = np.asarray(history_or_rates, dtype=np.float64)
        x, xlabel = np.arange(len(rates)), "step"
    else:
        logs, x, xlabel = history_logs(history_or_rates)
        if "lr" not in logs:
            raise VizError(f"plot_learning_rate: no 'lr' logged; logged: {sorted(logs)}")
        rates = logs["lr"]
    if rates.size == 0:
        raise VizError("plot_learning_rate: no learning rates to plot")
    fig, (ax,) = new_figure(size=(5.5, 3.5))
    ax.plot(x, rates, drawstyle="steps-post")
    ax.set(xlabel=xlabel, ylabel="learning rate", title=title)
    ax.grid(alpha=0.3)
    integer_ticks(ax)
    return finish(fig, path)


def _grad_record(source):
    """(param -> norms, x, x label) from a StepRecorder, a History (GradientMonitor's record)
    or a dict."""
    record = getattr(source, "grad_monitor", source)
    if isinstance(record, StepRecorder):
        record = {"grad_norm": record.grad_norm, "step": record.step}
    if isinstance(record, dict) and isinstance(record.get("grad_norm"), dict):
        norms = record["grad_norm"]
        steps = record.get("step") or record.get("epoch")
        xlabel = "step" if record.get("step") else "epoch"
    elif isinstance(record, dict):
        norms, steps, xlabel = record, None, "step"
    else:
        raise VizError(
            "plot_gradient_norms: no gradient record (train with "
            "cr.callbacks.GradientMonitor(), or pass {layer: [norms]})"
        )
    if not norms:
        raise VizError("plot_gradient_norms: the gradient record is empty")
    length = max(len(v) for v in norms.values())
    x = np.asarray(steps if steps is not None and len(steps) == length else range(length))
    return {k: np.asarray(v, dtype=np.float64) for k, v in norms.items()}, x, xlabel


def plot_gradient_norms(source, path=None, title="gradient norm per layer", weights_only=True):
    """Per-parameter gradient norms on a log scale, so vanishing and exploding show.

    source: a StepRecorder (per step), a History trained with GradientMonitor (per epoch),
    its `grad_monitor` record, or a dict {name: [norm per step]}. Biases are left out
    unless weights_only=False.
    """
    norms, x, xlabel = _grad_record(source)
    names = [n for n in norms if not (weights_only and n.endswith("bias"))] or list(norms)
    fig, (ax,) = new_figure(size=(6.0, 4.0))
    for name in names:
        values = norms[name]
        ax.plot(x[: len(values)], np.where(values > 0, values, np.nan), label=name)
    ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel="‖∂L/∂θ‖ (log scale)", title=title)
    ax.grid(alpha=0.3, which="both")
    integer_ticks(ax)
    ax.legend(fontsize="small")
    return finish(fig, path)
