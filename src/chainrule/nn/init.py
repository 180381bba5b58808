"""Weight initialization with PyTorch's names and formulas (torch.nn.init).

Every draw comes from `chainrule.engine.random.generator()`, so `cr.manual_seed` makes it
reproducible. Each function fills its tensor in place (keeping its dtype) and returns it.

    xavier (Glorot):  std = gain * sqrt(2 / (fan_in + fan_out))
    kaiming (He):     std = gain / sqrt(fan),  fan = fan_in or fan_out
    uniform bounds:   a = sqrt(3) * std  (a uniform on [-a, a] has that std)
"""

from __future__ import annotations

import math
import numbers

from ..engine import random
from ..engine.backend import xp
from ..engine.tensor import ChainruleError, Tensor

_LINEAR_GAINS = {
    "linear": 1.0,
    "conv1d": 1.0,
    "conv2d": 1.0,
    "conv3d": 1.0,
    "conv_transpose1d": 1.0,
    "conv_transpose2d": 1.0,
    "conv_transpose3d": 1.0,
    "sigmoid": 1.0,
}


class InitError(ChainruleError, ValueError):
    """An initializer was given an unsupported argument or tensor shape."""


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The gain that keeps activations' variance steady through `nonlinearity` (PyTorch's)."""
    if nonlinearity in _LINEAR_GAINS:
        return _LINEAR_GAINS[nonlinearity]
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise InitError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    raise InitError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def calculate_fan_in_and_fan_out(tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *receptive_field)."""
    shape = xp.shape(_array(tensor))
    if len(shape) < 2:
        raise InitError(
            f"fan in and fan out need a tensor of at least 2 dimensions, got shape {shape}"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _array(tensor):
    return tensor.data if isinstance(tensor, Tensor) else tensor


def _fill(tensor, values):
    array = _array(tensor)
    array[...] = values
    return tensor


def _fan(tensor, mode):
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    raise InitError(f"kaiming init: mode {mode!r} is not 'fan_in' or 'fan_out'")


def uniform_(tensor, a=0.0, b=1.0):
    """Fill with draws from U(a, b)."""
    return _fill(tensor, random.generator().uniform(a, b, size=xp.shape(_array(tensor))))


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with draws from N(mean, std²)."""
    return _fill(tensor, random.generator().normal(mean, std, size=xp.shape(_array(tensor))))


def constant_(tensor, val):
    return _fill(tensor, val)


def zeros_(tensor):
    return _fill(tensor, 0)


def ones_(tensor):
    return _fill(tensor, 1)


def xavier_uniform_(tensor, gain=1.0):
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    if _array(tensor).size == 0:
        return tensor  # as PyTorch: nothing to fill, and no fan to divide by
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    if _array(tensor).size == 0:
        return tensor  # as PyTorch: nothing to fill, and no fan to divide by
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std)
