"""Callbacks: hooks over one TrainingState that do everything fit()'s loop does not."""

from .base import HOOKS, Callback, CallbackList
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .gradient_monitor import GradientMonitor, GradientWarning
from .logger import EpochLogger
from .lr_scheduler import LearningRateScheduler
from .model_checkpoint import ModelCheckpoint
from .monitor import CallbackError
from .progress import ProgressBar

__all__ = [
    "HOOKS",
    "CSVLogger",
    "Callback",
    "CallbackError",
    "CallbackList",
    "EarlyStopping",
    "EpochLogger",
    "GradientMonitor",
    "GradientWarning",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ProgressBar",
]
