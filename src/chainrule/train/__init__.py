"""Training: fit() and predict(), History, callbacks, metrics, checkpoints.

    history = cr.fit(model, loss_fn, optimizer, X, y, epochs=20, batch_size=32)

batch_size=None is batch gradient descent, 1 stochastic gradient descent, and anything in
between mini-batch gradient descent.
"""

from . import callbacks, metrics
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .divergence import DivergenceError
from .fit import fit
from .history import History
from .inference import evaluate, predict
from .state import TrainingState

__all__ = [
    "CheckpointError",
    "DivergenceError",
    "History",
    "TrainingState",
    "callbacks",
    "evaluate",
    "fit",
    "load_checkpoint",
    "metrics",
    "predict",
    "save_checkpoint",
]
