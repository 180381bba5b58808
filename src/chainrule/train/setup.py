"""Everything fit() does before its loop: check the arguments, split off validation data,
build the data loader, the training state and the callback list."""

from __future__ import annotations

import numbers

import numpy as np

from ..data import DataError, DataLoader
from ..data.validate import (
    check_arrays,
    check_batch_size,
    check_epochs,
    check_fraction,
    check_labels,
    check_lr,
)
from ..engine.tensor import no_grad
from .callbacks.base import CallbackList
from .callbacks.logger import EpochLogger
from .distributed import data_parallel
from .divergence import DivergenceGuard
from .inference import model_dtype, n_input_features, to_input
from .metrics import get_metric
from .state import TrainingState

__all__ = ["build_state", "check_options"]


def output_width(model, X) -> int:
    """Number of output columns of the model, from one example in eval mode under no_grad."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            out = model(to_input(X[:1], model_dtype(model))).data
    finally:
        model.train(was_training)
    return 1 if out.ndim == 1 else int(np.prod(out.shape[1:]))


def check_data(model, X, y, name="") -> tuple[np.ndarray, np.ndarray]:
    """X and y validated against each other and the model: lengths, finiteness, number of
    features, and class labels within the model's output width."""
    X, y = check_arrays(X, y, n_features=n_input_features(model), names=(f"{name}X", f"{name}y"))
    _check_fits(X, model_dtype(model), f"{name}X")
    width = output_width(model, X)
    if width > 1 and y.ndim == 1:
        y = check_labels(y, width, name=f"{name}y")
    return X, y


def _check_fits(X: np.ndarray, dtype, name: str) -> None:
    """Inputs are cast to the model's dtype: refuse values that would become infinite."""
    largest = np.finfo(dtype).max
    if X.dtype.kind != "f" or np.finfo(X.dtype).max <= largest:
        return
    too_big = np.abs(X) > largest
    if too_big.any():
        index = tuple(int(i) for i in np.argwhere(too_big)[0])
        raise DataError(
            f"{name}[{', '.join(map(str, index))}] = {X[index]:g} does not fit the "
            f"model's {np.dtype(dtype)} (largest {largest:g}); scale the inputs "
            "or train in float64 (model.double())"
        )


def split_validation(X, y, fraction):
    """The last `fraction` of the rows becomes validation data (before any shuffling)."""
    n_val = round(len(X) * fraction)
    if n_val == 0 or n_val == len(X):
        raise DataError(
            f"validation_split={fraction} leaves {len(X) - n_val} training and "
            f"{n_val} validation examples out of {len(X)}; both must be > 0"
        )
    return (X[:-n_val], y[:-n_val]), (X[-n_val:], y[-n_val:])


def _check_positive(value, name, allow_zero=False):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise DataError(f"{name} must be a finite number {bound}, got {value!r}")
    return float(value)


def check_options(clip_grad_norm, l2, verbose):
    if clip_grad_norm is not None:
        clip_grad_norm = _check_positive(clip_grad_norm, "clip_grad_norm")
    l2 = _check_positive(l2, "l2", allow_zero=True)
    if verbose not in (0, 1, 2):
        raise DataError(
            f"verbose must be 0 (silent), 1 (progress bar) or 2 (one line per "
            f"epoch), got {verbose!r}"
        )
    return clip_grad_norm, l2


def check_learning_rates(optimizer) -> None:
    """Every parameter group's learning rate > 0, as the optimizer was built ("initial_lr",
    which a scheduler records, so that a warm-up schedule starting at 0 is not refused)."""
    for i, group in enumerate(getattr(optimizer, "param_groups", ())):
        lr = group.get("initial_lr", group.get("lr"))
        if lr is None:
            continue
        try:
            check_lr(lr)
        except DataError as exc:
            raise DataError(f"optimizer param_groups[{i}]: {exc}") from None


def _callbacks(user_callbacks, scheduler, verbose, rank):
    from .callbacks import LearningRateScheduler, ProgressBar

    extra = [LearningRateScheduler(scheduler, per="epoch")] if scheduler is not None else []
    if verbose:
        extra.append(ProgressBar(compact=True if verbose == 2 else None))
    return CallbackList([DivergenceGuard(), EpochLogger(), *user_callbacks, *extra], rank=rank)


def build_state(
    model,
    loss_fn,
    optimizer,
    X,
    y,
    *,
    epochs,
    batch_size,
    shuffle,
    validation_data,
    validation_split,
    callbacks,
    metrics,
    scheduler,
    seed,
    verbose,
    distributed=None,
) -> TrainingState:
    """The TrainingState of a fresh run, every argument checked at this public boundary."""
    epochs = check_epochs(epochs)
    check_learning_rates(optimizer)
    X, y = check_data(model, X, y)
    fraction = check_fraction(validation_split, "validation_split")
    if validation_data is not None:
        if len(validation_data) != 2:
            raise DataError("validation_data must be a pair (X_val, y_val)")
        X_val, y_val = validation_data
        validation_data = check_data(model, X_val, y_val, name="val_")
    elif fraction > 0:
        (X, y), validation_data = split_validation(X, y, fraction)
    loader = DataLoader(
        X, y, batch_size=check_batch_size(batch_size, len(X)), shuffle=shuffle, seed=seed
    )
    state = TrainingState(
        model=model,
        loss_fn=loss_fn,
        optimizer=optimizer,
        loader=loader,
        epochs=epochs,
        metrics=[get_metric(m) for m in metrics],
        validation_data=validation_data,
        verbose=verbose,
    )
    state.parallel = data_parallel(distributed, model, loader)
    state.callbacks = _callbacks(list(callbacks), scheduler, verbose, state.parallel.rank)
    return state
