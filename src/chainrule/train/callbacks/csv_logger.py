"""CSVLogger: the history as a CSV file, one row per epoch, rewritten atomically each epoch."""

from __future__ import annotations

import os

from .base import Callback

__all__ = ["CSVLogger"]


class CSVLogger(Callback):
    """Keep `path` equal to History.to_csv after every epoch.

    The file is replaced atomically, so it is never half-written; after a resume it holds
    the epochs before the checkpoint too.
    """

    rank_zero_only = True  # writes a file: rank 0 alone, when MPI processes train

    def __init__(self, path):
        self.path = os.fspath(path)

    def on_epoch_end(self, state):
        state.history.to_csv(self.path)
