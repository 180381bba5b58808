"""Monitor: which logged quantity a callback watches, and whether a new value improves on it."""

from __future__ import annotations

import math

from ...engine.tensor import ChainruleError

__all__ = ["CallbackError", "Monitor"]

_MAXIMISED = ("acc", "accuracy", "r2")


class CallbackError(ChainruleError, ValueError):
    """A callback was configured wrongly or cannot find what it monitors."""


class Monitor:
    """Track the best value of `name` in the epoch logs.

    mode "min" or "max"; "auto" maximises accuracies and r2 and minimises everything else.
    A value improves on the best when it beats it by more than min_delta.
    """

    def __init__(self, name="val_loss", mode="auto", min_delta=0.0):
        if mode not in ("auto", "min", "max"):
            raise CallbackError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            bare = name[4:] if name.startswith("val_") else name
            mode = "max" if bare in _MAXIMISED or bare.endswith("accuracy") else "min"
        self.name, self.mode, self.min_delta = name, mode, abs(float(min_delta))
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = None

    def value(self, logs) -> float:
        if self.name not in logs:
            raise CallbackError(
                f"cannot monitor {self.name!r}: the epoch logs hold {sorted(logs)}"
                + (
                    "; pass validation_data or validation_split to fit"
                    if self.name.startswith("val_")
                    else ""
                )
            )
        return float(logs[self.name])

    def improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def update(self, logs, epoch) -> bool:
        """Record the epoch's value; True when it is a new best."""
        value = self.value(logs)
        if not self.improved(value):
            return False
        self.best, self.best_epoch = value, epoch
        return True

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state) -> None:
        self.best, self.best_epoch = state["best"], state["best_epoch"]
