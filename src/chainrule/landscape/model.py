"""The loss around a trained model's weights (Li et al., 2018, "Visualizing the Loss
Landscape of Neural Nets").

Random directions are filter-normalized: each filter (a row of Linear.weight, one output
unit) of a Gaussian direction is rescaled to the norm of the same filter of the weights, so
that the plot does not depend on the weights' scale. Biases and other 1-D parameters get a
zero direction, as in the paper. A training trajectory (weight snapshots) is shown on the
plane of its first two principal components, centred on the final weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine import random as _random
from ..engine.backend import host_copy
from ..train.callbacks.base import Callback
from .surfaces import LandscapeError

__all__ = [
    "ModelLandscape",
    "TrajectoryRecorder",
    "filter_normalized_direction",
    "model_landscape",
    "trajectory_pca",
]


@dataclass
class ModelLandscape:
    """loss[i, j] is the loss at θ* + alphas[j] d₁ + betas[i] d₂ (rows follow β)."""

    kind: str  # "filter-normalized random directions" or "PCA of the trajectory"
    alphas: np.ndarray
    betas: np.ndarray
    loss: np.ndarray
    directions: tuple  # (d₁, d₂), each a list of arrays shaped like the parameters
    path: np.ndarray | None = None  # trajectory coordinates (n, 2) on this plane, when given
    path_loss: np.ndarray | None = None
    explained_variance: np.ndarray | None = None  # of the two PCA components


def filter_normalized_direction(weights, rng=None, include_1d=False):
    """A Gaussian direction with each filter scaled to the norm of the weights' filter.

    A filter is a slice along the first axis (an output unit's incoming weights). 1-D
    parameters (biases, normalization scales) get zeros unless include_1d, then they are
    scaled as one filter.
    """
    rng = rng or _random.generator()
    direction = []
    for w in weights:
        w = np.asarray(w, dtype=np.float64)
        d = rng.standard_normal(w.shape)
        if w.ndim <= 1:
            d = (
                d * (np.linalg.norm(w) / max(np.linalg.norm(d), 1e-30))
                if include_1d
                else np.zeros_like(w)
            )
        else:
            axes = tuple(range(1, w.ndim))
            scale = np.sqrt((w * w).sum(axis=axes, keepdims=True)) / np.maximum(
                np.sqrt((d * d).sum(axis=axes, keepdims=True)), 1e-30
            )
            d = d * scale
        direction.append(d)
    return direction


def _flatten(arrays):
    return np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays])


def _unflatten(vector, like):
    out, start = [], 0
    for a in like:
        out.append(vector[start : start + np.size(a)].reshape(np.shape(a)))
        start += np.size(a)
    return out


def trajectory_pca(snapshots, center=None):
    """(d₁, d₂, coordinates (n, 2), explained variance ratio of the two).

    snapshots: a list of weight lists (one per epoch, say). The plane passes through
    `center` (default the last snapshot), spanned by the top two principal directions of
    θᵢ − center; coordinates are each snapshot's projection onto it.
    """
    if len(snapshots) < 3:
        raise LandscapeError(f"landscape: a trajectory needs ≥ 3 snapshots, got {len(snapshots)}")
    like = snapshots[-1]
    flat = np.stack([_flatten(s) for s in snapshots])
    origin = _flatten(center if center is not None else like)
    offsets = flat - origin
    _, singular, components = np.linalg.svd(offsets - offsets.mean(axis=0), full_matrices=False)
    basis = components[:2]
    variance = singular**2
    explained = variance[:2] / max(variance.sum(), 1e-300)
    return (_unflatten(basis[0], like), _unflatten(basis[1], like), offsets @ basis.T, explained)


def _losses(model, loss_fn, X, y, weight_lists):
    """The loss (eval mode, no graph) at each list of parameter values; the model's own
    parameters and training mode are restored afterwards."""
    from ..engine.tensor import Tensor, no_grad

    params = list(model.parameters())
    origin, was_training = [p.data for p in params], model.training
    X, y = Tensor(np.asarray(X, dtype=origin[0].dtype)), Tensor(np.asarray(y))
    losses = []
    model.eval()
    try:
        with no_grad(), np.errstate(over="ignore", invalid="ignore"):
            for weights in weight_lists:
                for p, w, o in zip(params, weights, origin):
                    p.data = np.asarray(w, dtype=o.dtype)
                losses.append(float(loss_fn(model(X), y).item()))
    finally:
        for p, o in zip(params, origin):
            p.data = o
        model.train(was_training)
    return np.array(losses)


def _plane_losses(model, loss_fn, X, y, d1, d2, alphas, betas):
    origin = [p.data for p in model.parameters()]
    points = ([w + a * u + b * v for w, u, v in zip(origin, d1, d2)] for b in betas for a in alphas)
    return _losses(model, loss_fn, X, y, points).reshape(len(betas), len(alphas))


def model_landscape(
    model, loss_fn, X, y, trajectory=None, resolution=21, span=1.0, seed=None
) -> ModelLandscape:
    """The loss on a plane through the model's weights.

    Without a trajectory: along two filter-normalized random directions, α, β ∈ [−span, span].
    With one (weight snapshots, last = the model's weights): on the trajectory's PCA plane,
    over the path's extent plus a margin, with the path's coordinates and losses.
    """
    params = [p.data for p in model.parameters()]
    if trajectory is None:
        rng = _random.generator_for(seed)
        d1, d2 = (filter_normalized_direction(params, rng) for _ in range(2))
        grid = np.linspace(-span, span, resolution)
        loss = _plane_losses(model, loss_fn, X, y, d1, d2, grid, grid)
        return ModelLandscape("filter-normalized random directions", grid, grid, loss, (d1, d2))
    snapshots = [[np.asarray(a) for a in s] for s in trajectory]
    d1, d2, path, explained = trajectory_pca(snapshots, center=params)
    low, high = path.min(axis=0), path.max(axis=0)
    margin = 0.25 * np.maximum(high - low, 1e-3)
    alphas = np.linspace(low[0] - margin[0], high[0] + margin[0], resolution)
    betas = np.linspace(low[1] - margin[1], high[1] + margin[1], resolution)
    loss = _plane_losses(model, loss_fn, X, y, d1, d2, alphas, betas)
    return ModelLandscape(
        "PCA of the trajectory",
        alphas,
        betas,
        loss,
        (d1, d2),
        path,
        _losses(model, loss_fn, X, y, snapshots),
        explained,
    )


class TrajectoryRecorder(Callback):
    """A fit() callback that copies the weights at the start and after every
    `every_n_epochs` epochs into `.snapshots` (a list of weight lists), for model_landscape."""

    def __init__(self, every_n_epochs=1):
        self.every_n_epochs = int(every_n_epochs)
        self.snapshots = []
        self._params: list = []  # the model's parameters, listed when training begins

    def _take(self, state):
        self.snapshots.append([host_copy(p.data) for p in self._params])

    def on_train_begin(self, state):
        self._params = list(state.model.parameters())
        self._take(state)

    def on_epoch_end(self, state):
        if (state.epoch + 1) % self.every_n_epochs == 0:
            self._take(state)
