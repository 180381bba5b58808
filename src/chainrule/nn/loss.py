"""Loss modules: the functions of loss_functions.py with their options fixed at construction."""

from __future__ import annotations

from . import loss_functions as L
from .module import Module


class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        if reduction not in L._REDUCTIONS:
            raise L.LossError(
                f"{type(self).__name__}: reduction must be one of "
                f"{L._REDUCTIONS}, got {reduction!r}"
            )
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


def _optional_buffer(module, name, array):
    """Class weights are buffers, as in PyTorch: saved in the state dict, never trained."""
    module.register_buffer(name, None if array is None else L._data(array))


class MSELoss(_Loss):
    def forward(self, input, target):
        return L.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    def forward(self, input, target):
        return L.l1_loss(input, target, self.reduction)


class HuberLoss(_Loss):
    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        self.delta = float(delta)

    def forward(self, input, target):
        return L.huber_loss(input, target, self.reduction, self.delta)


class SmoothL1Loss(_Loss):
    def __init__(self, reduction="mean", beta=1.0):
        super().__init__(reduction)
        self.beta = float(beta)

    def forward(self, input, target):
        return L.smooth_l1_loss(input, target, self.reduction, self.beta)


class KLDivLoss(Module):
    """KL divergence of target from input (log-probabilities); reduction may be 'batchmean'."""

    def __init__(self, reduction="mean", log_target=False):
        super().__init__()
        if reduction not in (*L._REDUCTIONS, "batchmean"):
            raise L.LossError(
                f"KLDivLoss: reduction must be one of {L._REDUCTIONS} or "
                f"'batchmean', got {reduction!r}"
            )
        self.reduction, self.log_target = reduction, bool(log_target)

    def forward(self, input, target):
        return L.kl_div(input, target, self.reduction, self.log_target)


class BCELoss(_Loss):
    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        _optional_buffer(self, "weight", weight)

    def forward(self, input, target):
        return L.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        _optional_buffer(self, "weight", weight)
        _optional_buffer(self, "pos_weight", pos_weight)

    def forward(self, input, target):
        return L.binary_cross_entropy_with_logits(
            input, target, self.weight, self.reduction, self.pos_weight
        )


class NLLLoss(_Loss):
    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        _optional_buffer(self, "weight", weight)
        self.ignore_index = int(ignore_index)

    def forward(self, input, target):
        return L.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class CrossEntropyLoss(NLLLoss):
    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(weight, ignore_index, reduction)
        self.label_smoothing = float(label_smoothing)

    def forward(self, input, target):
        return L.cross_entropy(
            input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing
        )


# name -> class of every loss module above (PyTorch's names): a new loss class is listed here
# by being defined in this module.
LOSSES: dict[str, type] = {
    cls.__name__: cls
    for cls in list(globals().values())
    if isinstance(cls, type)
    and issubclass(cls, Module)
    and cls.__module__ == __name__
    and cls is not _Loss
}
# The loss each task trains with: `chainrule train` and the scikit-learn estimators ask here.
TASK_LOSSES = {"classification": "CrossEntropyLoss", "regression": "MSELoss"}


def loss_for_task(task: str) -> Module:
    """The loss module a classification or regression model trains with."""
    if task not in TASK_LOSSES:
        raise L.LossError(f"unknown task {task!r}; choose from {sorted(TASK_LOSSES)}")
    return LOSSES[TASK_LOSSES[task]]()
