"""Loss landscapes: optimizers' paths over 2-D surfaces, and the loss around a model.

surface = cr.landscape.get_surface("rosenbrock")
paths = cr.landscape.optimizer_paths(surface, ["sgd", "momentum", "adam"], lr=1e-3, steps=500)
cr.viz.plot_optimizer_paths(surface, paths, path="paths.png")

recorder = cr.landscape.TrajectoryRecorder()
cr.fit(model, loss_fn, opt, X, y, epochs=20, callbacks=[recorder])
around = cr.landscape.model_landscape(model, loss_fn, X, y)            # random directions
along = cr.landscape.model_landscape(model, loss_fn, X, y, trajectory=recorder.snapshots)
"""

from .paths import OPTIMIZERS, Path, make_optimizer, optimizer_paths
from .surfaces import SURFACES, LandscapeError, Surface, get_surface

__all__ = [
    "OPTIMIZERS",
    "SURFACES",
    "LandscapeError",
    "ModelLandscape",
    "Path",
    "Surface",
    "TrajectoryRecorder",
    "filter_normalized_direction",
    "get_surface",
    "make_optimizer",
    "model_landscape",
    "optimizer_paths",
    "trajectory_pca",
]

_MODEL_NAMES = (
    "ModelLandscape",
    "TrajectoryRecorder",
    "filter_normalized_direction",
    "model_landscape",
    "trajectory_pca",
)


def __getattr__(name):
    # The model half needs nn/train; the surfaces and paths do not.
    if name in _MODEL_NAMES:
        from . import model

        return getattr(model, name)
    raise AttributeError(f"module 'chainrule.landscape' has no attribute {name!r}")
