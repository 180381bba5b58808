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
        self._grad_norm: dict[str, list[float]] = {}
        # Per step not yet in _grad_norm: (step index, names, each gradient's squared norm);
        # their square roots are taken together when grad_norm is read (the same numbers as
        # one np.sqrt per step, for a fraction of the calls).
        self._pending: list = []

    @property
    def grad_norm(self) -> dict[str, list[float]]:
        self._settle()
        return self._grad_norm

    @grad_norm.setter
    def grad_norm(self, value: dict[str, list[float]]) -> None:
        self._grad_norm, self._pending = value, []

    def on_after_backward(self, state):
        # Here, just before optimizer.step(): the rate this step uses. The step is recorded
        # now (nothing between here and the step's end can fail without ending training).
        self.step.append(state.step + 1)
        self.lr.append(state.lr)
        self._pending.append((len(self.step) - 1, state.params, state.gradient_squares()))

    def _settle(self):
        by_name: dict[str, tuple[list, list]] = {}
        for index, params, squares in self._pending:
            for (name, _), square in zip(params, squares):
                if square is not None:
                    indices, values = by_name.setdefault(name, ([], []))
                    indices.append(index)
                    values.append(square)
        self._pending = []
        for name, (indices, values) in by_name.items():
            series = self._grad_norm.get(name)
            if series is None:  # a parameter seen first now: NaN for the steps before
                series = self._grad_norm[name] = [float("nan")] * indices[0]
            series += _square_roots(values)

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


def _square_roots(squares) -> list[float]:
    """[float(np.sqrt(s)) for s in squares], in one call when they share a dtype."""
    array = np.array(squares)
    if any(type(s) is not type(squares[0]) for s in squares) or array.dtype.kind != "f":
        return [float(np.sqrt(s)) for s in squares]
    return np.sqrt(array).tolist()
