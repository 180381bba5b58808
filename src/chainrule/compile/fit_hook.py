"""When fit() may run its steps from a tape: the model and loss are supported and nothing in
the run needs the eager step's graph or forward calls."""

from __future__ import annotations

from .step import CompiledStep


def _graph_free_callbacks():
    """Callbacks known to read only the loss, the output's values and the gradients.

    GradientMonitor is not among them: it observes activations through wrapped forwards,
    which a tape never calls. A user's own callback might do the same, so it keeps the run
    eager too."""
    from ..train import callbacks as cb
    from ..train.divergence import DivergenceGuard

    return (DivergenceGuard, cb.EpochLogger, cb.EarlyStopping, cb.ModelCheckpoint,
            cb.LearningRateScheduler, cb.ProgressBar, cb.CSVLogger)


def step_for_fit(state, *, l2, compile):
    """The CompiledStep fit() should use for this run, or None for the eager step: when
    compile is off, l2 > 0 (a penalty term in the graph), a callback is not known to be
    graph-free, the optimizer is not one of chainrule's (the tape rewrites the same .grad
    arrays every step, and a user's optimizer may keep a reference to one), or the tape
    does not support the model or loss."""
    from ..optim import Optimizer

    if not compile or l2 > 0 or not isinstance(state.optimizer, Optimizer):
        return None
    safe = _graph_free_callbacks()
    if any(type(callback) not in safe for callback in state.callbacks):
        return None
    step = CompiledStep(state.model, state.loss_fn, state.optimizer)
    return step if step.compiled else None
