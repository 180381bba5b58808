"""StepRecorder: the learning rate and each parameter's gradient norm at every optimizer step,
for plot_learning_rate and plot_gradient_norms over steps rather than epochs.

    steps = cr.viz.StepRecorder()
    cr.fit(model, loss_fn, opt, X, y, epochs=20, callbacks=[steps], scheduler=...)
    cr.viz.plot_learning_rate(steps, path="lr.png")
    cr.viz.plot_gradient_norms(steps, path="grad_norms.png")
"""

from __future__ import annotations

import numpy as np

from ..train.callbacks.base import Callback

__all__ = ["StepRecorder"]


class StepRecorder(Callback):
    """A fit() callback keeping, per optimizer step, the learning rate the step used and the
    gradient norm of each parameter (before clipping, so exploding gradients show).

    `step` (1-based step numbers), `lr` and `grad_norm` ({parameter name: norms}) are lists;
    its state rides in fit's checkpoints, so a resumed run keeps the earlier steps.
    """

    def __init__(self):
        self.step: list[int] = []
        self.lr: list[float] = []
        self.grad_norm: dict[str, list[float]] = {}
        self._norms: dict[str, float] = {}
        self._lr = float("nan")

    def on_after_backward(self, state):
        # Read here, just before optimizer.step(): the rate this step uses.
        self._lr = state.lr
        self._norms = {
            name: float(np.sqrt(np.dot(p.grad.ravel(), p.grad.ravel())))
            for name, p in state.params
            if p.grad is not None
        }

    def on_batch_end(self, state):
        self.step.append(state.step)
        self.lr.append(self._lr)
        seen = len(self.step) - 1
        for name, norm in self._norms.items():
            self.grad_norm.setdefault(name, [float("nan")] * seen).append(norm)

    def state_dict(self) -> dict:
        return {
            "step": np.asarray(self.step, dtype=np.int64),
            "lr": np.asarray(self.lr, dtype=np.float64),
            "grad_norm": {
                name: np.asarray(v, dtype=np.float64) for name, v in self.grad_norm.items()
            },
        }

    def load_state_dict(self, state: dict) -> None:
        self.step = [int(v) for v in state["step"]]
        self.lr = [float(v) for v in state["lr"]]
        self.grad_norm = {
            name: [float(v) for v in values] for name, values in state["grad_norm"].items()
        }
