"""ProgressBar: a tqdm bar per epoch on a terminal, one compact line per epoch otherwise."""

from __future__ import annotations

import sys

from .base import Callback

__all__ = ["ProgressBar", "format_logs"]


def format_logs(logs: dict) -> str:
    """'loss 0.1234  accuracy 0.9876  val_loss ...  lr 0.001' (time and norms left out)."""
    shown = [(k, v) for k, v in logs.items() if k not in ("time", "grad_norm", "grad_norm_max")]
    return "  ".join(f"{k} {v:.4g}" for k, v in shown)


class ProgressBar(Callback):
    """Show progress: epochs and batches, loss, metrics, learning rate, batches per second.

    On a terminal each epoch gets a tqdm bar. When the output is not a terminal (a log file,
    a notebook capture, CI) or compact=True, each epoch prints a single line instead.
    fit(verbose=1) adds one; verbose=2 adds a compact one; verbose=0 none.
    """

    order = 50
    rank_zero_only = True  # prints: rank 0 alone, when MPI processes train
    in_checkpoint = False  # `chainrule train` then `--resume -q` (or the reverse) may resume

    def __init__(self, compact=None, file=None):
        self.compact = compact
        self.file = file
        self._bar = None
        self._loss_sum = 0.0
        self._seen = 0

    def on_train_begin(self, state):
        self._stream = self.file or sys.stdout
        if self.compact is None:
            isatty = getattr(self._stream, "isatty", None)
            self.compact = not (isatty and isatty())

    def on_epoch_begin(self, state):
        self._loss_sum, self._seen = 0.0, 0
        if self.compact:
            return
        from tqdm import tqdm

        width = len(str(state.epochs))
        self._bar = tqdm(
            total=state.batches_per_epoch,
            initial=state.batch + 1,
            desc=f"epoch {state.epoch + 1:>{width}}/{state.epochs}",
            unit="batch",
            file=self._stream,
            leave=True,
            dynamic_ncols=True,
        )

    def on_batch_end(self, state):
        if self._bar is None:
            return
        self._loss_sum += state.loss
        self._seen += 1
        self._bar.update(1)
        if self._bar.n == self._bar.total or self._seen % 10 == 1:
            self._bar.set_postfix_str(
                f"loss {self._loss_sum / self._seen:.4g}  lr {state.lr:.3g}", refresh=False
            )

    def on_epoch_end(self, state):
        logs = state.logs
        if self._bar is not None:
            self._bar.set_postfix_str(format_logs(logs), refresh=False)
            self._bar.close()
            self._bar = None
            return
        seconds = logs.get("time", 0.0)
        rate = state.batches_per_epoch / seconds if seconds > 0 else float("inf")
        width = len(str(state.epochs))
        print(
            f"epoch {state.epoch + 1:>{width}}/{state.epochs}  {seconds:.2f}s "
            f"({rate:.0f} batch/s)  {format_logs(logs)}",
            file=self._stream,
            flush=True,
        )

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
