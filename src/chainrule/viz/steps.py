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
        # gradient's squared norm), one append a step. Turned into arrays when a checkpoint
        # asks (_Steps: the square roots of a run of steps together, the same numbers as one
        # np.sqrt per step), and into the lists when a list is read.
        self._pending: list = []
        self._arrays: list[_Steps] = []  # pending steps turned into arrays, in order

    # The lists, with the pending steps settled into them first.
    step = property(*_settled("_step"))
    lr = property(*_settled("_lr"))
    grad_norm = property(*_settled("_grad_norm"))

    def on_after_backward(self, state):
        # Here, just before optimizer.step(): the rate this step uses. The step is recorded
        # now (nothing between here and the step's end can fail without ending training).
        self._pending.append((state.step + 1, state.lr, state.params, state.gradient_squares()))

    def _to_arrays(self) -> list:
        """The steps not in the lists, as _Steps (the pending ones converted now)."""
        pending, self._pending = self._pending, []
        if pending:
            self._arrays.append(_Steps(pending))
        return self._arrays

    def _settle(self):
        steps, self._arrays = self._to_arrays(), []
        for chunk in steps:
            first_index = len(self._step)
            self._step += chunk.step.tolist()
            self._lr += chunk.lr.tolist()
            for name, norms in chunk.grad_norm.items():
                series = self._grad_norm.setdefault(name, [])
                # NaN for the steps before without its gradient (seen first now)
                series += [float("nan")] * (first_index - len(series))
                series += norms.tolist()
        for series in self._grad_norm.values():  # NaN at the last steps without a gradient
            series += [float("nan")] * (len(self._step) - len(series))

    def state_dict(self) -> dict:
        """Arrays of the lists and of the steps not yet in them (a checkpoint needs no lists:
        the steps of a run are turned into lists only when read)."""
        steps = self._to_arrays()
        total = len(self._step) + sum(len(chunk.step) for chunk in steps)
        names = [*self._grad_norm, *(n for c in steps for n in c.grad_norm)]
        grad_norm = {}
        for name in dict.fromkeys(names):
            parts = [np.asarray(self._grad_norm.get(name, []), dtype=np.float64)]
            parts[0] = _padded(parts[0], len(self._step))
            parts += [c.grad_norm.get(name, _nan(len(c.step))) for c in steps]
            grad_norm[name] = _padded(np.concatenate(parts), total)
        return {
            "step": np.concatenate(
                [np.asarray(self._step, dtype=np.int64), *(c.step for c in steps)]
            ),
            "lr": np.concatenate([np.asarray(self._lr, dtype=np.float64), *(c.lr for c in steps)]),
            "grad_norm": grad_norm,
        }

    def load_state_dict(self, state: dict) -> None:
        self.step = [int(v) for v in state["step"]]
        self.lr = [float(v) for v in state["lr"]]
        self.grad_norm = {
            name: [float(v) for v in values] for name, values in state["grad_norm"].items()
        }


class _Steps:
    """Pending steps as arrays: step numbers, rates, and each parameter's norms over these
    steps (NaN where it had no gradient)."""

    def __init__(self, pending):
        numbers, rates, _, _ = zip(*pending)
        self.step = np.array(numbers, dtype=np.int64)
        self.lr = np.array(rates, dtype=np.float64)
        self.grad_norm: dict[str, np.ndarray] = {}
        for first, run in _runs_of_one_kind(pending):
            params = run[0][2]
            roots = _square_roots([squares for _, _, _, squares in run])
            if roots is not None:  # one array op for the whole run
                for (name, _), column in zip(params, roots.T):
                    self._norms(name)[first : first + len(run)] = column
                continue
            for index, (_, _, params, squares) in enumerate(run, start=first):
                for (name, _), square in zip(params, squares):
                    if square is not None:
                        self._norms(name)[index] = float(np.sqrt(square))

    def _norms(self, name) -> np.ndarray:
        norms = self.grad_norm.get(name)
        if norms is None:
            norms = self.grad_norm[name] = _nan(len(self.step))
        return norms


def _nan(n: int) -> np.ndarray:
    return np.full(n, np.nan)


def _padded(values: np.ndarray, n: int) -> np.ndarray:
    """values with NaN appended up to length n."""
    return values if len(values) == n else np.concatenate([values, _nan(n - len(values))])


def _runs_of_one_kind(pending):
    """The pending steps in runs of consecutive steps over the same parameter list, each as
    (the index of its first step, its entries)."""
    if len({id(entry[2]) for entry in pending}) == 1:  # the usual case: one run
        return [(0, pending)]
    runs: list[tuple] = []
    runs_params = None
    for index, entry in enumerate(pending):
        params = entry[2]
        if params is runs_params:
            runs[-1][1].append(entry)
        else:
            runs.append((index, [entry]))
            runs_params = params
    return runs


def _square_roots(rows):
    """np.sqrt of a (steps, parameters) array of squared norms, when every square is there
    and of one type (Python floats, as gradient_squares gives them, or NumPy scalars of one
    dtype: so each root is the one np.sqrt gives that number); else None."""
    first = rows[0]
    kinds = {type(square) for square in first}
    kind = kinds.pop() if len(kinds) == 1 else None
    if kind is not float and (kind is None or not issubclass(kind, np.floating)):
        return None
    dtype = np.float64 if kind is float else first[0].dtype
    array = np.array(rows)
    if array.dtype != dtype or array.shape != (len(rows), len(first)):
        return None  # a None, a ragged row or another dtype in a later step
    return np.sqrt(array)
