"""fit(): the training loop, and nothing else.

Each step: forward, loss (+ an L2 penalty), backward, the data-parallel seam (gradients and
loss averaged over MPI processes; nothing with one process, see distributed.py), optional
gradient clipping, the optimizer step. History, progress, validation, early stopping,
checkpoints, learning-rate schedules and the divergence guard are callbacks that observe one
TrainingState through a handful of hooks.
"""

from __future__ import annotations

import warnings

from ..engine.backend import to_device
from .checkpoint import restore_checkpoint
from .history import History
from .inference import model_device, model_dtype, to_input, to_target
from .setup import build_state, check_options

__all__ = ["fit"]


def fit(
    model,
    loss_fn,
    optimizer,
    X,
    y,
    *,
    epochs,
    batch_size=32,
    shuffle=True,
    validation_data=None,
    validation_split=0.0,
    callbacks=(),
    metrics=(),
    scheduler=None,
    clip_grad_norm=None,
    l2=0.0,
    seed=None,
    verbose=1,
    resume_from=None,
    compile=True,
    distributed=None,
    device=None,
) -> History:
    """Train `model` on (X, y) by gradient descent; return the History.

    The texts' three modes of gradient descent are chosen by batch_size:
    batch_size=None (or len(X)) is **batch gradient descent** (one step per epoch, on the
    whole data set); batch_size=1 is **stochastic gradient descent** (one step per example);
    any m in between is **mini-batch gradient descent**.

    loss_fn(output, target) returns a scalar Tensor (e.g. cr.nn.CrossEntropyLoss()); integer
    labels stay integers for a model with several outputs, other targets take the output's
    dtype and shape. metrics are names ("accuracy", "mse", ...) or functions of (y_true,
    y_pred). validation_data=(X_val, y_val), or validation_split=f to hold out the last
    fraction f of X. scheduler is stepped once per epoch (ReduceLROnPlateau on val_loss, or
    on loss without validation); use LearningRateScheduler(s, per="step") for every step.
    clip_grad_norm clips the total gradient norm; l2 adds l2 * cr.nn.l2_penalty(model).
    seed fixes the shuffling order (dropout draws from chainrule's generator: cr.manual_seed).
    verbose: 0 silent, 1 progress bar, 2 one line per epoch. resume_from: a checkpoint
    written by ModelCheckpoint; the run continues exactly where that checkpoint was taken.
    compile: replay each step from a recorded tape (chainrule.compile) when the model, loss and
    callbacks allow it (the same numbers, less overhead); False always runs the eager step.
    distributed: None trains data-parallel when the process was started by `mpiexec -n N`
    with N > 1 (True insists, False declines): batch_size is the global batch, each process
    computes its slice, and the N processes reproduce the one-process run; only rank 0
    prints and writes checkpoints (docs/distributed.md).
    device: 'cuda' moves the model to the GPU first (model.to(device): do it before the
    optimizer's first step) and each batch as it is drawn; the data stay on the host.

    A NaN or infinite loss or gradient raises cr.train.DivergenceError after putting back the
    last finite weights.
    """
    clip_grad_norm, l2 = check_options(clip_grad_norm, l2, verbose)
    if device is not None:
        model.to(device)
    state = build_state(
        model,
        loss_fn,
        optimizer,
        X,
        y,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=shuffle,
        validation_data=validation_data,
        validation_split=validation_split,
        callbacks=callbacks,
        metrics=metrics,
        scheduler=scheduler,
        seed=seed,
        verbose=verbose,
        distributed=distributed,
    )
    if resume_from is not None:
        restore_checkpoint(state, resume_from)
    try:
        with state.parallel.running():
            _run(state, clip_grad_norm, l2, compile)
    except BaseException as error:
        _close(state.callbacks, error)
        raise
    _close(state.callbacks, None)
    return state.history


def _close(callbacks, error):
    """Close every callback, each even when one before it failed; the first failure is
    raised after all are closed, unless training already failed: then every failure in
    closing (e.g. a checkpoint write) is a warning, so that it does not hide the training's
    error."""
    first = None
    for callback in callbacks:
        try:
            callback.close()
        except Exception as close_error:
            if error is None and first is None:
                first = close_error
                continue
            warnings.warn(
                f"{type(callback).__name__} failed to close after "
                f"{type(error or first).__name__}: {close_error!r}",
                RuntimeWarning,
                stacklevel=3,
            )
    if first is not None:
        raise first


def _first_epoch(state) -> int:
    if not state.epoch_finished:
        return state.epoch  # a fresh run, or a resume in the middle of an epoch
    return state.epochs if state.stop_training else state.epoch + 1


def _compiled_step(state, l2, compile):
    """The compiled step for this run, or None for the eager one: when compile is off, a
    callback needs the graph, or the optimizer is not one of chainrule's (the compiled step
    rewrites the same .grad arrays every step, and a user's optimizer may keep one)."""
    from .. import nn, optim
    from ..compile import CompiledStep

    if not compile or not isinstance(state.optimizer, optim.Optimizer):
        return None
    if any(getattr(callback, "needs_graph", False) for callback in state.callbacks):
        return None
    penalty = None if l2 <= 0 else (lambda model: nn.l2_penalty(model, l2))
    return CompiledStep(state.model, state.loss_fn, state.optimizer, penalty=penalty)


def _run(state, clip_grad_norm, l2, compile):
    callbacks = state.callbacks
    state.model.train()
    callbacks.on_train_begin(state)
    step = _compiled_step(state, l2, compile)
    for epoch in range(_first_epoch(state), state.epochs):
        if epoch != state.epoch or state.epoch_finished:
            state.epoch, state.batch, state.epoch_finished = epoch, -1, False
        callbacks.on_epoch_begin(state)
        if not state.stop_training and state.batch + 1 < len(state.loader):
            _train_epoch(state, clip_grad_norm, l2, step)
        state.epoch_finished = True
        callbacks.on_epoch_end(state)
        if state.stop_training:
            break
    callbacks.on_train_end(state)


def _train_epoch(state, clip_grad_norm, l2, step=None):
    from .. import nn, optim

    model, loss_fn, optimizer, callbacks = (
        state.model,
        state.loss_fn,
        state.optimizer,
        state.callbacks,
    )
    params = [p for _, p in state.params]
    parallel = state.parallel
    on_device = model_device(model) != "cpu"
    for X_batch, y_batch in state.loader:
        if on_device:
            X_batch, y_batch = to_device(X_batch, "cuda"), to_device(y_batch, "cuda")
        state.batch += 1
        state.X_batch, state.y_batch = X_batch, y_batch
        callbacks.on_batch_begin(state)
        if step is not None:  # the compiled step: gradients written in place, no graph
            state.loss, state.output = step.forward_backward(X_batch, y_batch)
        else:
            optimizer.zero_grad()
            # the model's dtype now: a callback may have cast it (layers refuse another dtype)
            output = model(to_input(X_batch, model_dtype(model)))
            loss = loss_fn(output, to_target(y_batch, output))
            if l2 > 0:
                loss = loss + nn.l2_penalty(model, l2)
            loss.backward()
            state.output, state.loss = output, float(loss.data)
        parallel.synchronize(state)
        state.gradients_changed()
        callbacks.on_after_backward(state)
        if clip_grad_norm is not None:
            optim.clip_grad_norm(params, clip_grad_norm)
        if step is not None:
            step.optimizer_step()
        else:
            optimizer.step()
        state.step += 1
        callbacks.on_batch_end(state)
        if state.stop_training:
            break
