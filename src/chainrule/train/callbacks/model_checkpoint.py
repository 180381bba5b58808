"""ModelCheckpoint: write training checkpoints that fit(resume_from=...) continues exactly."""

from __future__ import annotations

import contextlib
import os
import re
import string
from time import monotonic

from ...atomic import BackgroundWriter
from .. import checkpoint
from .base import Callback
from .monitor import CallbackError, Monitor

__all__ = ["ModelCheckpoint"]


class ModelCheckpoint(Callback):
    """Save the whole training state (see chainrule.train.checkpoint) as training goes.

    path may hold the fields {epoch} (1-based) and {step}, e.g. "ckpt-{epoch:03d}.safetensors";
    then keep_last is how many of the newest files stay (older ones are deleted after the new
    one is complete); it deletes only files its own path names, never the file the run
    resumed from. Saves every `every_n_epochs` epochs, and also every `every_n_steps`
    optimizer steps when given. save_best_only saves at an epoch end only when `monitor`
    improves. every_n_seconds skips a periodic save (not an improvement of save_best_only)
    until that many seconds have passed since the last one, except at the epoch that ends
    training: a run of short epochs then pays for a few checkpoints, not one per epoch, and
    a crash loses at most that much work.
    Each file is written atomically: a crash never damages the last complete one. The state
    is copied at the hook; the file is encoded, written and fsynced on `writer`'s thread while
    training goes on (default: a writer of the callback's own, waited for when fit returns;
    a writer given is its owner's to wait for). Runs after every other callback, so the
    checkpoint holds their state after the hook.
    """

    order = 100
    rank_zero_only = True  # writes files: rank 0 alone, when MPI processes train

    def __init__(
        self,
        path,
        every_n_epochs=1,
        save_best_only=False,
        keep_last=1,
        every_n_steps=None,
        monitor="val_loss",
        mode="auto",
        every_n_seconds=None,
        writer=None,
    ):
        for name, value in (("every_n_epochs", every_n_epochs), ("keep_last", keep_last)):
            if not isinstance(value, int) or value < 1:
                raise CallbackError(f"{name} must be an integer >= 1, got {value!r}")
        if every_n_steps is not None and (not isinstance(every_n_steps, int) or every_n_steps < 1):
            raise CallbackError(f"every_n_steps must be an integer >= 1, got {every_n_steps!r}")
        if every_n_seconds is not None and not (
            isinstance(every_n_seconds, (int, float))
            and not isinstance(every_n_seconds, bool)
            and every_n_seconds >= 0
        ):
            raise CallbackError(f"every_n_seconds must be a number >= 0, got {every_n_seconds!r}")
        self.path = os.fspath(path)
        self.every_n_epochs, self.every_n_steps = every_n_epochs, every_n_steps
        self.every_n_seconds = every_n_seconds
        self.save_best_only, self.keep_last = save_best_only, keep_last
        self.monitor = Monitor(monitor, mode) if save_best_only else None
        self.saved: list[str] = []
        self._owns_writer = writer is None
        self.writer = writer  # None: its own, made when training begins, closed by close()
        self._last_save = 0.0  # monotonic() of the last save (or of the start)
        try:
            self._own_files = _pattern(self.path)
        except ValueError as error:  # e.g. an unclosed "{"
            raise CallbackError(f"path {self.path!r} is not a valid pattern: {error}") from None

    def uses_hook(self, name: str) -> bool:
        return name != "on_batch_end" or self.every_n_steps is not None

    def on_train_begin(self, state):
        self._writer()  # its thread started now, not by the first save (in training)
        self._last_save = monotonic()  # every_n_seconds counts from the start

    def on_batch_end(self, state):
        every = self.every_n_steps
        if every is not None and state.step % every == 0 and self._due():
            self._save(state)

    def on_epoch_end(self, state):
        if (state.epoch + 1) % self.every_n_epochs:
            return
        if self.monitor is not None:  # an improvement is saved at once, whatever the time
            if self.monitor.update(state.logs, state.epoch):
                self._save(state)
        elif self._due() or state.stop_training or state.epoch + 1 == state.epochs:
            self._save(state)

    def _due(self) -> bool:
        """Whether every_n_seconds allows a periodic save now."""
        if self.every_n_seconds is None:
            return True
        return monotonic() - self._last_save >= self.every_n_seconds

    def _writer(self) -> BackgroundWriter:
        """The writer given, or the callback's own (made when first needed)."""
        if self.writer is None:
            self.writer = BackgroundWriter()
        return self.writer

    def _save(self, state):
        writer = self._writer()
        writer.wait()  # a failed write is reported before this one changes `saved`
        self._last_save = monotonic()
        path = self.path.format(epoch=state.epoch + 1, step=state.step)
        if path in self.saved:
            self.saved.remove(path)
        self.saved.append(path)  # before saving, so the file lists itself
        snapshot = checkpoint.snapshot(state)
        stale = self.saved[: -self.keep_last]
        del self.saved[: -self.keep_last]
        if state.resumed_from is not None:
            stale = [old for old in stale if not _same_file(old, state.resumed_from)]
        writer.submit(lambda: _write_then_remove(path, snapshot, stale))

    def close(self) -> None:
        if self._owns_writer and self.writer is not None:
            self.writer, writer = None, self.writer
            writer.close()

    def state_dict(self) -> dict:
        state = {"saved": list(self.saved)}
        if self.monitor is not None:
            state["monitor"] = self.monitor.state_dict()
        return state

    def load_state_dict(self, state) -> None:
        # A checkpoint written with another path lists files this callback must not touch.
        self.saved = [path for path in state["saved"] if self._own_files.fullmatch(path)]
        if self.monitor is not None and "monitor" in state:
            self.monitor.load_state_dict(state["monitor"])


def _pattern(template: str) -> re.Pattern:
    """The names `template` formats to: its text, with any file-name characters per field."""
    parts = []
    for text, field, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(text))
        if field is not None:
            parts.append(r"[^/\\]+")
    return re.compile("".join(parts))


def _write_then_remove(path: str, snapshot: tuple, stale: list[str]) -> None:
    """Write the new checkpoint; only once it is complete delete the ones it replaces."""
    checkpoint.write_checkpoint(path, checkpoint.file_bytes(*snapshot))
    for old in stale:
        with contextlib.suppress(FileNotFoundError):
            os.remove(old)


def _same_file(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)
