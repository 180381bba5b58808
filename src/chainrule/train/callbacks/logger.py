"""EpochLogger: fit()'s own first callback; it turns batches into one History row per epoch.

Per batch it sums the loss (weighted by batch size), the gradient norm, and keeps the
outputs when training metrics are asked for (with data-parallel processes, those of the
whole global batch). At the end of the epoch it computes the epoch's logs — loss, each
metric, val_loss and val_<metric> (validation loss always logged, apart from the validation
metrics), lr, grad_norm (mean over batches), grad_norm_max and time — puts them in
state.logs and appends them to state.history.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ...distributed import gather_rows
from ...engine.backend import to_host
from ..inference import evaluate_arrays
from .base import Callback

__all__ = ["EpochLogger"]


class EpochLogger(Callback):
    order = -100

    def __init__(self, validation_batch_size=None):
        self.validation_batch_size = validation_batch_size
        self._reset()

    def _reset(self):
        self.loss_sum = 0.0
        self.examples = 0
        self.grad_norm_sum = 0.0
        self.grad_norm_max = 0.0
        self.batches = 0
        self.outputs, self.targets = [], []
        self._started = time.perf_counter()

    def on_epoch_begin(self, state):
        self._started = time.perf_counter()

    def on_batch_end(self, state):
        n = state.loader.batch_rows(state.batch)  # the global batch's rows
        self.loss_sum += state.loss * n
        self.examples += n
        self.batches += 1
        self.grad_norm_sum += state.grad_norm
        self.grad_norm_max = max(self.grad_norm_max, state.grad_norm)
        if state.metrics:  # the global batch's rows, in order, from every process's slice
            self.outputs.append(gather_rows(to_host(state.output.data)))
            self.targets.append(gather_rows(to_host(state.y_batch)))

    def on_epoch_end(self, state):
        logs = {"loss": self.loss_sum / self.examples if self.examples else math.nan}
        if state.metrics and self.outputs:
            outputs, targets = np.concatenate(self.outputs), np.concatenate(self.targets)
            logs.update({name: fn(targets, outputs) for name, fn in state.metrics})
        if state.validation_data is not None:
            X_val, y_val = state.validation_data
            size = self.validation_batch_size or len(X_val)
            val_loss, val_metrics = evaluate_arrays(
                state.model, state.loss_fn, X_val, y_val, state.metrics, size
            )
            logs["val_loss"] = val_loss
            logs.update({"val_" + name: value for name, value in val_metrics.items()})
        logs["lr"] = state.lr
        logs["grad_norm"] = self.grad_norm_sum / self.batches if self.batches else math.nan
        logs["grad_norm_max"] = self.grad_norm_max if self.batches else math.nan
        logs["time"] = time.perf_counter() - self._started
        state.logs = logs
        state.history.record(state.epoch, logs)
        self._reset()

    def state_dict(self) -> dict:
        """The running sums of an unfinished epoch (a resume continues them)."""
        state = {
            "loss_sum": self.loss_sum,
            "examples": self.examples,
            "grad_norm_sum": self.grad_norm_sum,
            "grad_norm_max": self.grad_norm_max,
            "batches": self.batches,
        }
        if self.outputs:
            state["outputs"] = np.concatenate(self.outputs)
            state["targets"] = np.concatenate(self.targets)
        return state

    def load_state_dict(self, state: dict) -> None:
        self._reset()
        for key in ("loss_sum", "examples", "grad_norm_sum", "grad_norm_max", "batches"):
            setattr(self, key, state[key])
        if "outputs" in state:
            self.outputs, self.targets = [state["outputs"]], [state["targets"]]
