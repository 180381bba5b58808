"""EarlyStopping: stop when the monitored quantity stops improving; keep the best weights."""

from __future__ import annotations

from .base import Callback
from .monitor import CallbackError, Monitor

__all__ = ["EarlyStopping"]


class EarlyStopping(Callback):
    """Stop training after `patience` epochs in a row without an improvement of more than
    min_delta (as Keras: patience=0 stops at the first epoch that does not improve).

    monitor: a key of the epoch logs (val_loss, loss, val_accuracy, ...); mode: "min",
    "max" or "auto". With restore_best_weights=True the model gets the weights of its best
    epoch back when training ends, whether or not this callback stopped the run.
    `stopped_epoch` is the epoch at which it stopped the run (None if it did not).
    """

    def __init__(
        self, monitor="val_loss", patience=0, min_delta=0.0, mode="auto", restore_best_weights=False
    ):
        if not isinstance(patience, int) or patience < 0:
            raise CallbackError(f"patience must be an integer >= 0, got {patience!r}")
        self.monitor = Monitor(monitor, mode, min_delta)
        self.patience = patience
        self.restore_best_weights = restore_best_weights
        self.wait = 0
        self.stopped_epoch = None
        self.best_weights = None

    def on_epoch_end(self, state):
        if self.monitor.update(state.logs, state.epoch):
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = {k: v.copy() for k, v in state.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= self.patience:
            state.stop_training = True
            self.stopped_epoch = state.epoch

    def on_train_end(self, state):
        if self.restore_best_weights and self.best_weights is not None:
            state.model.load_state_dict(self.best_weights)

    @property
    def best_epoch(self):
        return self.monitor.best_epoch

    def state_dict(self) -> dict:
        return {
            "monitor": self.monitor.state_dict(),
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
            "best_weights": self.best_weights,
        }

    def load_state_dict(self, state) -> None:
        self.monitor.load_state_dict(state["monitor"])
        self.wait, self.stopped_epoch = state["wait"], state["stopped_epoch"]
        self.best_weights = state["best_weights"]
