"""The optimizers by short name: the one table that `chainrule train`, `chainrule landscape`,
chainrule.landscape and the scikit-learn estimators ask.

A short name is a class of chainrule.optim with arguments beyond torch.optim's defaults
(momentum is SGD with momentum=0.9), and the learning rate a training run takes when none is
given. Adding an optimizer: its class in its own module, exported from chainrule.optim, and
one line here.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

from .optimizer import Optimizer, OptimizerError

__all__ = [
    "OPTIMIZERS",
    "OptimizerKind",
    "default_lr",
    "make_optimizer",
    "optimizer_class",
    "takes_momentum",
]


@dataclass(frozen=True)
class OptimizerKind:
    class_name: str  # in chainrule.optim
    lr: float  # the learning rate of a training run when none is given
    defaults: dict = field(default_factory=dict)  # beyond the class's (torch.optim's) defaults


OPTIMIZERS = {
    "sgd": OptimizerKind("SGD", 0.1),
    "momentum": OptimizerKind("SGD", 0.05, {"momentum": 0.9}),
    "nesterov": OptimizerKind("SGD", 0.05, {"momentum": 0.9, "nesterov": True}),
    "adagrad": OptimizerKind("Adagrad", 0.05),
    "rmsprop": OptimizerKind("RMSprop", 1e-3),
    "adam": OptimizerKind("Adam", 1e-3),
    "adamw": OptimizerKind("AdamW", 1e-3),
}


def _kind(name) -> OptimizerKind:
    """The short name's entry, or a class name of chainrule.optim (SGD, Adam, ...) as is."""
    from .. import optim

    if name in OPTIMIZERS:
        return OPTIMIZERS[name]
    found = getattr(optim, str(name), None)
    if isinstance(found, type) and issubclass(found, Optimizer) and found is not Optimizer:
        return OptimizerKind(found.__name__, inspect.signature(found).parameters["lr"].default)
    raise OptimizerError(
        f"unknown optimizer {name!r}; choose from {sorted(OPTIMIZERS)} or a "
        "chainrule.optim class name"
    )


def optimizer_class(name) -> type:
    """The chainrule.optim class behind a short name (or a class name); OptimizerError if
    there is none."""
    from .. import optim

    return getattr(optim, _kind(name).class_name)


def default_lr(name) -> float:
    """The learning rate a training run with this optimizer takes when none is given."""
    return _kind(name).lr


def takes_momentum(name) -> bool:
    """Whether the optimizer has a momentum argument (SGD, RMSprop)."""
    return "momentum" in inspect.signature(optimizer_class(name)).parameters


def make_optimizer(name, params, lr, **overrides) -> Optimizer:
    """An optimizer by short name (sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw) or
    by class name in chainrule.optim (SGD, Adam, ...); `overrides` win over its defaults."""
    return optimizer_class(name)(params, lr=lr, **{**_kind(name).defaults, **overrides})
