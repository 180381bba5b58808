"""From a train configuration to the objects fit() takes: model, optimizer, schedule."""

from __future__ import annotations

import math

from .options import OptionError

__all__ = ["build_cnn", "build_model", "build_optimizer", "build_scheduler"]

ACTIVATION_LAYERS = {
    "relu": "ReLU",
    "leaky_relu": "LeakyReLU",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "gelu": "GELU",
}


def build_model(n_features: int, n_outputs: int, config: dict):
    """An MLP: [Linear, (BatchNorm1d), activation, (Dropout)] per hidden layer, then Linear;
    with --model cnn, a small convolutional network (build_cnn)."""
    from .. import nn

    if config.get("model") == "cnn":
        return build_cnn(n_features, n_outputs, config)
    layers: list[nn.Module] = []
    width = n_features
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


def build_cnn(n_features: int, n_outputs: int, config: dict):
    """A CNN over each row of features, read as an s x s image when n_features = s² (s >= 4:
    two 3x3 Conv2d layers of 16 and 32 channels, each followed by 2x2 max pooling) and
    otherwise as a 1-D signal (Greydanus's ConvBase: three Conv1d layers of 25 channels,
    kernels 5/3/3, stride 2, padding 1). Then --dropout and a Linear layer;
    --batchnorm adds BatchNorm after each convolution."""
    from .. import nn

    side = math.isqrt(n_features)
    image = side >= 4 and side * side == n_features
    if not image and n_features < 7:
        raise OptionError(
            f"--model cnn needs at least 7 features (a signal) or an s x s "
            f"image with s >= 4, got {n_features} features"
        )
    activation = getattr(nn, ACTIVATION_LAYERS[config["activation"]])
    shape: tuple[int, ...]
    conv: type[nn.Conv1d] | type[nn.Conv2d]
    norm: type[nn.BatchNorm1d]
    if image:
        same = {"kernel_size": 3, "padding": 1}
        convs, shape = [(1, 16, same), (16, 32, same)], (1, side, side)
        conv, norm, width = nn.Conv2d, nn.BatchNorm2d, 32 * (side // 4) ** 2
    else:
        first = {"kernel_size": 5, "stride": 2, "padding": 1}
        later = {"kernel_size": 3, "stride": 2, "padding": 1}
        convs, shape = [(1, 25, first), (25, 25, later), (25, 25, later)], (1, n_features)
        conv, norm, length = nn.Conv1d, nn.BatchNorm1d, n_features
        for _, _, options in convs:
            length = (length + 2 * options["padding"] - options["kernel_size"]) // 2 + 1
        width = 25 * length
    layers: list[nn.Module] = [nn.Unflatten(1, shape)]
    for c_in, c_out, options in convs:
        layers += [conv(c_in, c_out, **options)] + ([norm(c_out)] if config["batchnorm"] else [])
        layers += [activation()] + ([nn.MaxPool2d(2)] if image else [])
    layers += [nn.Flatten()] + ([nn.Dropout(config["dropout"])] if config["dropout"] else [])
    return nn.Sequential(*layers, nn.Linear(width, n_outputs))


def build_optimizer(config: dict, params):
    """--optimizer by name (chainrule.optim.registry), with --momentum and --weight-decay."""
    from ..optim.registry import make_optimizer

    options = {
        name: config[name] for name in ("momentum", "weight_decay") if config[name] is not None
    }
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
        return schedules.SequentialLR(
            optimizer,
            [
                schedules.LinearLR(optimizer, start_factor=0.1, total_iters=warmup),
                schedules.CosineAnnealingLR(optimizer, T_max=max(epochs - warmup, 1)),
            ],
            milestones=[warmup],
        )
    return schedules.ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=3)
