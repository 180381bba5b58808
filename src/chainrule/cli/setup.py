"""From a train configuration to the objects fit() takes: model, optimizer, schedule."""

from __future__ import annotations

import math

__all__ = ["build_model", "build_optimizer", "build_scheduler"]

ACTIVATION_LAYERS = {"relu": "ReLU", "leaky_relu": "LeakyReLU", "tanh": "Tanh",
                     "sigmoid": "Sigmoid", "gelu": "GELU"}


def build_model(n_features: int, n_outputs: int, config: dict):
    """An MLP: [Linear, (BatchNorm1d), activation, (Dropout)] per hidden layer, then Linear."""
    from .. import nn

    layers, width = [], n_features
    for hidden in config["hidden"]:
        layers.append(nn.Linear(width, hidden))
        if config["batchnorm"]:
            layers.append(nn.BatchNorm1d(hidden))
        layers.append(getattr(nn, ACTIVATION_LAYERS[config["activation"]])())
        if config["dropout"]:
            layers.append(nn.Dropout(config["dropout"]))
        width = hidden
    layers.append(nn.Linear(width, n_outputs))
    return nn.Sequential(*layers)


def build_optimizer(config: dict, params):
    """--optimizer by name (chainrule.optim.registry), with --momentum and --weight-decay."""
    from ..optim.registry import make_optimizer

    options = {name: config[name] for name in ("momentum", "weight_decay")
               if config[name] is not None}
    return make_optimizer(config["optimizer"], params, config["lr"], **options)


def build_scheduler(config: dict, optimizer):
    """The --schedule, stepped once per epoch by fit (None for 'none')."""
    name, epochs = config["schedule"], max(config["epochs"], 1)
    if name == "none":
        return None
    from ..optim import lr_scheduler as schedules

    if name == "step":
        return schedules.StepLR(optimizer, step_size=max(epochs // 3, 1), gamma=0.1)
    if name == "exp":
        # lr falls by 100x over the run
        return schedules.ExponentialLR(optimizer, gamma=math.exp(math.log(0.01) / epochs))
    if name == "cosine":
        return schedules.CosineAnnealingLR(optimizer, T_max=epochs)
    if name == "warmup-cosine":
        warmup = max(epochs // 10, 1)
        return schedules.SequentialLR(optimizer, [
            schedules.LinearLR(optimizer, start_factor=0.1, total_iters=warmup),
            schedules.CosineAnnealingLR(optimizer, T_max=max(epochs - warmup, 1)),
        ], milestones=[warmup])
    return schedules.ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=3)
