"""Gradient descent: optimizers, learning-rate schedules and gradient clipping.

Names, arguments, defaults and update formulas are torch.optim's, so code ports as it is
and a trajectory can be compared with PyTorch's step for step.
"""

from . import lr_scheduler, schedules
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .clip import NonFiniteGradientWarning, NonFiniteNormError, clip_grad_norm, clip_grad_value
from .landscapes import LANDSCAPES, Landscape, Trajectory, minimize
from .optimizer import Optimizer, OptimizerError
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "LANDSCAPES",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Landscape",
    "NonFiniteGradientWarning",
    "NonFiniteNormError",
    "Optimizer",
    "OptimizerError",
    "RMSprop",
    "Trajectory",
    "clip_grad_norm",
    "clip_grad_value",
    "lr_scheduler",
    "minimize",
    "schedules",
]
