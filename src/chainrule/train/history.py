"""History: what fit() recorded, one value per epoch for each logged quantity."""

from __future__ import annotations

import csv
import io
import math

from ..atomic import atomic_write_text

__all__ = ["History"]


class History:
    """Per-epoch logs of a training run, as Keras's History.

    `history` maps a name (loss, val_loss, each metric and val_<metric>, lr, grad_norm,
    grad_norm_max, time) to a list with one value per epoch; `epoch` lists the epoch numbers
    (0-based). `grad_monitor` holds GradientMonitor's record when that callback ran.
    """

    def __init__(self):
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []
        self.grad_monitor: dict | None = None

    def record(self, epoch: int, logs: dict) -> None:
        """Append one epoch's logs; a name first seen late is padded with NaN before."""
        for name in logs:
            if name not in self.history:
                self.history[name] = [math.nan] * len(self.epoch)
        for name, values in self.history.items():
            values.append(logs.get(name, math.nan))
        self.epoch.append(int(epoch))

    @property
    def monitor(self) -> str:
        """The quantity best_epoch minimises: val_loss when validation ran, else loss."""
        return "val_loss" if "val_loss" in self.history else "loss"

    @property
    def best_epoch(self) -> int | None:
        """The epoch with the lowest val_loss (loss without validation); None before any."""
        values = self.history.get(self.monitor, [])
        finite = [(v, i) for i, v in enumerate(values) if not math.isnan(v)]
        return self.epoch[min(finite)[1]] if finite else None

    def __len__(self):
        return len(self.epoch)

    def __repr__(self):
        names = ", ".join(self.history)
        return f"History(epochs={len(self.epoch)}, logged=[{names}], best_epoch={self.best_epoch})"

    def to_csv(self, path) -> None:
        """Write one row per epoch (columns: epoch, then each logged name), atomically."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        names = list(self.history)
        writer.writerow(["epoch", *names])
        for row, epoch in enumerate(self.epoch):
            writer.writerow([epoch, *(repr(self.history[n][row]) for n in names)])
        atomic_write_text(path, buffer.getvalue())

    def state_dict(self) -> dict:
        """JSON-serialisable content, for checkpoints."""
        return {"history": self.history, "epoch": self.epoch, "grad_monitor": self.grad_monitor}

    def load_state_dict(self, state: dict) -> None:
        self.history = {name: list(values) for name, values in state["history"].items()}
        self.epoch = list(state["epoch"])
        self.grad_monitor = state.get("grad_monitor")
