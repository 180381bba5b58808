"""TrainingState: the one object fit() hands to every callback hook."""

from __future__ import annotations

from ..engine.backend import is_device_array, module_of, to_host
from .distributed import OneProcess
from .history import History
from .inference import model_dtype
from .norms import square_sums

__all__ = ["TrainingState"]


def _on_host(squares: list) -> list:
    """The squares as Python floats: those on a GPU read back in one copy, not one each."""
    on_device = [s for s in squares if is_device_array(s)]
    values = iter(to_host(module_of(on_device[0]).stack(on_device)).tolist())
    return [None if s is None else next(values) if is_device_array(s) else float(s)
            for s in squares]  # fmt: skip


class TrainingState:
    """Everything a callback may read (and the few things it may set) during fit().

    Read: model, loss_fn, optimizer, params (list of (name, Parameter)), dtype, loader, epochs,
    epoch (0-based, the one running), batch (index of the batch within the epoch), step
    (optimizer steps taken so far), X_batch, y_batch, output (the model's output Tensor for
    the batch), loss (the batch loss as a float), grad_norm (the batch's total gradient
    norm, set after backward), gradient_squares() (each gradient's sum of squares, computed
    once per batch for every callback that asks), weights_before (the divergence guard's
    WeightsCopy of the weights, taken after each backward when the loss and gradients are
    finite: its .step says which step's; None before training begins), logs (the finished
    epoch's logs, at on_epoch_end), history,
    metrics ((name, function) pairs), validation_data, verbose, resumed, resumed_from, parallel
    (the data-parallel seam: .rank and .processes; X_batch, y_batch and output are this
    process's slice of the global batch, loss and gradients those of the global batch).

    Set: stop_training = True ends the run after the current batch (or epoch).
    """

    def __init__(
        self,
        *,
        model,
        loss_fn,
        optimizer,
        loader,
        epochs,
        metrics=(),
        validation_data=None,
        verbose=1,
    ):
        self.model = model
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.params = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
        self.dtype = model_dtype(model)  # inputs are cast to it
        self.loader = loader
        self.epochs = epochs
        self.metrics = list(metrics)
        self.validation_data = validation_data
        self.verbose = verbose
        self.history = History()
        self.parallel = OneProcess()  # fit sets a DataParallel under mpiexec -n N
        self.callbacks = None  # the CallbackList, set by fit (checkpoints save every callback)
        self.epoch = 0
        self.batch = -1
        self.step = 0
        self.X_batch = self.y_batch = self.output = None
        self.loss = float("nan")
        self.grad_norm = float("nan")
        self._gradient_squares = None  # gradient_squares() of this batch, once asked
        self._flat_grads = None  # the optimizer's FlatGroup whose buffer held the gradients
        self.weights_before = None  # set by the divergence guard
        self.logs: dict = {}
        self.stop_training = False
        self.epoch_finished = False  # set before on_epoch_end: a resume starts the next epoch
        self.resumed = False
        self.resumed_from = None  # the checkpoint file, once restored (never deleted)

    def gradient_squares(self) -> list:
        """Per trained parameter, the sum of its gradient's squares (a Python float, taken in
        float64 by train/norms.py: one call for the flat gradient buffer of a fused optimizer;
        on a GPU a dot in the gradient's dtype; None without a gradient). The divergence
        guard, the gradient monitor and the step recorder all start from it, so it is
        computed once per batch."""
        if self._gradient_squares is None:
            self._gradient_squares = self._squares()
        return self._gradient_squares

    def _squares(self) -> list:
        flat = self._flat_grads.current_grad() if self._flat_grads is not None else None
        if flat is None:  # first asked, or the optimizer made new buffers: look again
            params = [p for _, p in self.params]
            ask = getattr(self.optimizer, "flat_buffers", None)
            self._flat_grads = None if ask is None else ask(params)
            flat = None if self._flat_grads is None else self._flat_grads.current_grad()
        if flat is not None and not is_device_array(flat):
            return square_sums(flat, self._flat_grads.ends)
        grads = [p.grad for _, p in self.params]
        if any(map(is_device_array, grads)):  # a dot each, read back in one copy
            return _on_host([None if g is None else module_of(g).dot(g.ravel(), g.ravel())
                             for g in grads])  # fmt: skip
        return [None if g is None else square_sums(g.ravel(), (g.size,))[0] for g in grads]

    def gradients_changed(self) -> None:
        """Forget gradient_squares() (fit calls it after each backward)."""
        self._gradient_squares = None

    @property
    def lr(self) -> float:
        """The learning rate of the optimizer's first parameter group."""
        return float(self.optimizer.param_groups[0]["lr"])

    @property
    def batches_per_epoch(self) -> int:
        return len(self.loader)

    def state_dict(self) -> dict:
        """The loop's counters, for checkpoints (JSON-serialisable)."""
        return {
            "epoch": self.epoch,
            "batch": self.batch,
            "step": self.step,
            "stop_training": self.stop_training,
            "epoch_finished": self.epoch_finished,
        }

    def load_state_dict(self, state: dict) -> None:
        self.epoch = int(state["epoch"])
        self.batch = int(state["batch"])
        self.step = int(state["step"])
        self.stop_training = bool(state["stop_training"])
        self.epoch_finished = bool(state["epoch_finished"])
        self.resumed = True
