"""LearningRateScheduler: step a learning-rate schedule once per epoch or once per step."""

from __future__ import annotations

from ...optim.plateau import ReduceLROnPlateau
from .base import Callback
from .monitor import CallbackError

__all__ = ["LearningRateScheduler"]


def _is_plateau(scheduler) -> bool:
    return isinstance(scheduler, ReduceLROnPlateau)


class LearningRateScheduler(Callback):
    """Step `scheduler` at the end of every epoch (per="epoch") or every step (per="step").

    scheduler: a cr.optim.lr_scheduler object (ReduceLROnPlateau is stepped with the
    monitored value: val_loss when logged, else loss; per step, the batch loss), or a
    function of the epoch (or step) count returning the learning rate for every group.
    """

    def __init__(self, scheduler, per="epoch", monitor="val_loss"):
        if per not in ("epoch", "step"):
            raise CallbackError(f"per must be 'epoch' or 'step', got {per!r}")
        if not (hasattr(scheduler, "step") or callable(scheduler)):
            raise CallbackError(
                "scheduler must be an lr_scheduler object or a function "
                f"of the epoch returning the learning rate, got {scheduler!r}"
            )
        self.scheduler, self.per, self.monitor = scheduler, per, monitor
        self.count = 0

    def _advance(self, state, metric):
        self.count += 1
        if not hasattr(self.scheduler, "step"):
            lr = float(self.scheduler(self.count))
            for group in state.optimizer.param_groups:
                group["lr"] = lr
        elif _is_plateau(self.scheduler):
            self.scheduler.step(metric)
        else:
            self.scheduler.step()

    def uses_hook(self, name: str) -> bool:
        return name != "on_batch_end" or self.per == "step"

    def on_batch_end(self, state):
        if self.per == "step":
            self._advance(state, state.loss)

    def on_epoch_end(self, state):
        if self.per == "epoch":
            logs = state.logs
            self._advance(state, logs.get(self.monitor, logs.get("loss")))

    def state_dict(self) -> dict:
        state = {"count": self.count}
        if hasattr(self.scheduler, "state_dict"):
            state["scheduler"] = self.scheduler.state_dict()
        return state

    def load_state_dict(self, state) -> None:
        self.count = state["count"]
        if "scheduler" in state:
            self.scheduler.load_state_dict(state["scheduler"])
