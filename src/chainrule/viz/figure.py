"""Figures without pyplot: an Agg canvas per figure, PNG bytes, atomic saving.

pyplot is never imported, so plotting changes no global backend or state and figures are
freed when dropped. matplotlib itself is imported only when a figure is made.
"""

from __future__ import annotations

import io

import numpy as np

from ..engine.tensor import ChainruleError

__all__ = ["VizError", "figure_to_png", "history_logs", "new_figure", "save_figure"]


class VizError(ChainruleError, ValueError):
    """Data that cannot be plotted (empty, wrong shape, missing a logged name)."""


def new_figure(ncols=1, nrows=1, size=(5.0, 4.0), **subplot_kw):
    """(figure, axes array) with an Agg canvas; size is per panel, in inches."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, subplot_kw=subplot_kw or None)
    return fig, axes.ravel()


def figure_to_png(fig, dpi=100) -> bytes:
    """The figure rendered as PNG bytes (what report.html embeds)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def save_figure(fig, path, dpi=100):
    """Write the figure as a PNG to `path` atomically; returns the figure."""
    from ..atomic import atomic_write_bytes

    atomic_write_bytes(path, figure_to_png(fig, dpi))
    return fig


def integer_ticks(ax):
    """Epochs and steps are whole numbers."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def finish(fig, path):
    """Save when a path is given; every plotting function ends here."""
    return save_figure(fig, path) if path is not None else fig


def history_logs(history) -> tuple[dict, np.ndarray, str]:
    """(name -> values, x values, x label) from a History, its state_dict, or a plain dict."""
    logs = getattr(history, "history", history)
    if isinstance(logs, dict) and isinstance(logs.get("history"), dict):
        history, logs = logs, logs["history"]
    if not isinstance(logs, dict) or not logs:
        raise VizError(
            "plot: expected a History or a dict of logged lists, got "
            f"{type(history).__name__} with nothing logged"
        )
    length = max(len(v) for v in logs.values())
    epochs = getattr(history, "epoch", None)
    if epochs is None and isinstance(history, dict):
        epochs = history.get("epoch")
    x = np.asarray(epochs if epochs is not None and len(epochs) == length else range(length))
    return {k: np.asarray(v, dtype=np.float64) for k, v in logs.items()}, x, "epoch"
