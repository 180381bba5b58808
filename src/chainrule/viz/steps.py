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


def _settled(name: str):
    """The getter and setter of a StepRecorder list kept in attribute `name`."""

    def get(recorder):
        recorder._settle()
        return getattr(recorder, name)

    def set_(recorder, value):
        recorder._settle()
        setattr(recorder, name, value)

    return get, set_


class StepRecorder(Callback):
    """A fit() callback keeping, per optimizer step, the learning rate the step used and the
    gradient norm of each parameter (before clipping, so exploding gradients show).

    `step` (1-based step numbers), `lr` and `grad_norm` ({parameter name: norms}) are lists;
    its state rides in fit's checkpoints, so a resumed run keeps the earlier steps.
    """

    def __init__(self):
        self._step: list[int] = []
        self._lr: list[float] = []
        self._grad_norm: dict[str, list[float]] = {}
        # Per step not yet in the lists: (step number, learning rate, state.params, each
        # gradient's squared norm), one append a step; settled when a list is read, the square
        # roots of a run of steps together (the same numbers as one np.sqrt per step).
        self._pending: list = []

    # The lists, with the pending steps settled into them first.
    step = property(*_settled("_step"))
    lr = property(*_settled("_lr"))
    grad_norm = property(*_settled("_grad_norm"))

    def on_after_backward(self, state):
        # Here, just before optimizer.step(): the rate this step uses. The step is recorded
        # now (nothing between here and the step's end can fail without ending training).
        self._pending.append((state.step + 1, state.lr, state.params, state.gradient_squares()))

    def _settle(self):
        pending, self._pending = self._pending, []
        if not pending:
            return
        first_index = len(self._step)
        numbers, rates, _, _ = zip(*pending)
        self._step += numbers
        self._lr += rates
        for first, run in _runs_of_one_kind(pending, first_index):
            params = run[0][2]
            roots = _square_roots([squares for _, _, _, squares in run])
            if roots is not None:  # one array op for the whole run
                for (name, _), column in zip(params, roots.T.tolist()):
                    self._extend(name, first, column)
                continue
            for index, (_, _, params, squares) in enumerate(run, start=first):
                for (name, _), square in zip(params, squares):
                    if square is not None:
                        self._extend(name, index, [float(np.sqrt(square))])
        for series in self._grad_norm.values():  # NaN at the last steps without a gradient
            series += [float("nan")] * (len(self._step) - len(series))

    def _extend(self, name, index, norms):
        series = self._grad_norm.setdefault(name, [])
        # NaN for the steps before without its gradient (seen first now, or frozen a while)
        series += [float("nan")] * (index - len(series))
        series += norms

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


def _runs_of_one_kind(pending, first_index):
    """The pending steps in runs of consecutive steps over the same parameter list, each as
    (the index of its first step in the lists, its entries)."""
    if len({id(entry[2]) for entry in pending}) == 1:  # the usual case: one run
        return [(first_index, pending)]
    runs: list[tuple] = []
    runs_params = None
    for index, entry in enumerate(pending, start=first_index):
        params = entry[2]
        if params is runs_params:
            runs[-1][1].append(entry)
        else:
            runs.append((index, [entry]))
            runs_params = params
    return runs


def _square_roots(rows):
    """np.sqrt of a (steps, parameters) array of squared norms, when every square is there
    and of one dtype (so each root is the one np.sqrt gives that scalar); else None."""
    first = rows[0]
    kinds = {type(square) for square in first}
    if len(kinds) != 1 or not issubclass(kinds.pop(), np.floating):
        return None
    array = np.array(rows)
    if array.dtype != first[0].dtype or array.shape != (len(rows), len(first)):
        return None  # a None, a ragged row or another dtype in a later step
    return np.sqrt(array)
