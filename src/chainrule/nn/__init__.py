"""chainrule.nn: Module, Parameter, layers, activations, initialization and losses.

model = cr.nn.Sequential(cr.nn.Linear(64, 128), cr.nn.ReLU(), cr.nn.Linear(128, 10))
loss = cr.nn.functional.cross_entropy(model(x), labels)
"""

from . import functional, init, utils
from . import functional as F
from .activation import (
    ELU,
    GELU,
    LeakyReLU,
    LogSoftmax,
    Mish,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from .container import Flatten, Identity, ModuleList, Residual, Sequential, Unflatten
from .conv import Conv1d, Conv2d
from .dropout import Dropout
from .keyed import ModuleDict, ParameterList
from .linear import Linear
from .loss import (
    LOSSES,
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
    loss_for_task,
)
from .loss_functions import LossError
from .module import Module, Parameter, StateDictError
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
)
from .register import register
from .regularization import l2_penalty
from .spec import LAYERS, SpecError, from_spec, to_spec

__all__ = [
    "ELU",
    "GELU",
    "LAYERS",
    "LOSSES",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv1d",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "F",
    "Flatten",
    "HuberLoss",
    "Identity",
    "KLDivLoss",
    "L1Loss",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "LossError",
    "MSELoss",
    "MaxPool1d",
    "MaxPool2d",
    "Mish",
    "Module",
    "ModuleDict",
    "ModuleList",
    "NLLLoss",
    "Parameter",
    "ParameterList",
    "ReLU",
    "Residual",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "SmoothL1Loss",
    "Softmax",
    "Softplus",
    "SpecError",
    "StateDictError",
    "Tanh",
    "Unflatten",
    "from_spec",
    "functional",
    "init",
    "l2_penalty",
    "loss_for_task",
    "register",
    "to_spec",
    "utils",
]
