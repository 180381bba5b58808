"""The divergence guard: stop at the first NaN or Inf loss or gradient, and say what to do.

It runs as fit()'s first callback after every backward. It also measures the batch's total
gradient norm (state.grad_norm): one dot product per parameter, summed exactly, so the number
does not depend on where the gradients live (a compiled step's flat buffer or arrays of their
own). Before each step it keeps a copy of the weights (they produced a finite loss and finite
gradients), so that when training diverges the model goes back to its last finite weights
before DivergenceError is raised (weights_copy.WeightsCopy: one copy over the optimizer's
flat buffer when the weights are its views). The copy is state.weights_before: the gradient
monitor measures a step's update from it rather than copying the weights again.
"""

from __future__ import annotations

import math

import numpy as np

from ..engine.tensor import ChainruleError
from .callbacks.base import Callback
from .weights_copy import WeightsCopy

__all__ = ["DivergenceError", "DivergenceGuard"]


class DivergenceError(ChainruleError, FloatingPointError):
    """Training produced a NaN or infinite loss or gradient.

    Attributes: epoch and step (0-based) and parameter (the name of the first parameter, in
    backpropagation order, whose gradient is not finite; None if only the loss was).
    """

    def __init__(self, message, *, epoch, step, parameter):
        super().__init__(message)
        self.epoch, self.step, self.parameter = epoch, step, parameter


def squared_norms(state):
    """Each gradient's squared L2 norm (0.0 where a parameter has no gradient)."""
    return [0.0 if square is None else float(square) for square in state.gradient_squares()]


def first_nonfinite_gradient(params):
    """(name, how many are non-finite): the parameter nearest the output whose gradient has
    a NaN or Inf, since a non-finite value spreads from there towards the input."""
    bad = [name for name, p in params if p.grad is not None and not np.isfinite(p.grad).all()]
    return (bad[-1] if bad else None), len(bad)


class DivergenceGuard(Callback):
    order = -200

    def __init__(self):
        self._last_finite = WeightsCopy()

    def on_train_begin(self, state):
        self._last_finite.take(state)
        state.weights_before = self._last_finite

    def _total_squared_norm(self, state):
        # Per parameter, then summed exactly: the same number whether the gradients are views
        # of an optimizer's flat buffer (a compiled step) or arrays of their own (eager).
        return math.fsum(squared_norms(state))

    def on_after_backward(self, state):
        total = self._total_squared_norm(state)
        if math.isfinite(state.loss) and math.isfinite(total):
            state.grad_norm = math.sqrt(total)
            self._last_finite.take(state)
            return
        parameter, count = first_nonfinite_gradient(state.params)
        if math.isfinite(state.loss) and parameter is None:
            # Squares overflowed float32 though every gradient is finite: recompute in float64.
            state.grad_norm = math.sqrt(
                math.fsum(
                    float(np.sum(np.square(p.grad, dtype=np.float64)))
                    for _, p in state.params
                    if p.grad is not None
                )
            )
            self._last_finite.take(state)
            return
        self._restore_last_finite(state)
        raise DivergenceError(
            self._message(state, parameter, count),
            epoch=state.epoch,
            step=state.step,
            parameter=parameter,
        )

    def _restore_last_finite(self, state):
        weights_finite = all(np.isfinite(p.data).all() for _, p in state.params)
        if not weights_finite:  # else the weights that produced this loss are the last finite
            self._last_finite.restore([p for _, p in state.params])

    @staticmethod
    def _message(state, parameter, count):
        where = (
            f"epoch {state.epoch + 1} of {state.epochs}, step {state.step + 1} "
            f"(batch {state.batch + 1} of {state.batches_per_epoch})"
        )
        if parameter is None:
            what = f"the loss is {state.loss} but every gradient is finite"
        else:
            what = (
                f"the loss is {state.loss}; the gradient of {parameter!r} is the first "
                f"(from the output back) that is not finite ({count} of "
                f"{len(state.params)} parameters have NaN or Inf gradients)"
            )
        scale = float(np.max(np.abs(state.X_batch))) if state.X_batch.size else 0.0
        return (
            f"training diverged at {where}: {what}. The model was restored to its last "
            f"finite weights. Try: lower the learning rate (now {state.lr:g}; try "
            f"{state.lr / 10:g}); clip gradients (fit(..., clip_grad_norm=1.0)); "
            f"standardize the inputs (zero mean, unit variance per feature; this batch's "
            f"inputs reach |x| = {scale:.3g})."
        )
