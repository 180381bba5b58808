"""Conv1d and Conv2d with PyTorch's arguments, parameter names, shapes and initialization."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..engine.backend import xp
from . import init
from .conv_functions import conv1d, conv2d, tuple_of
from .module import Module, Parameter
from .registry import Bool, Choice, FloatDType, OneOf, Shape, Size, register_layer


class _ConvNd(Module):
    """y = x ⋆ W + b: weight (out_channels, in_channels/groups, *kernel_size), bias
    (out_channels,); stride, padding (ints, 'same' or 'valid'), dilation and groups as torch.

    Initialized as PyTorch does: W ~ kaiming_uniform_(a=√5), i.e. U(−1/√fan_in, 1/√fan_in),
    and b ~ U(−1/√fan_in, 1/√fan_in), fan_in = in_channels/groups · prod(kernel_size).
    """

    dims = 0
    function: Callable[..., Any] | None = None  # the subclass's conv1d or conv2d

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=True,
        padding_mode="zeros",
        dtype=None,
    ):
        super().__init__()
        name = type(self).__name__
        if padding_mode != "zeros":
            raise NotImplementedError(
                f"{name}: padding_mode {padding_mode!r} is not supported (only 'zeros')"
            )
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels={in_channels} and out_channels="
                f"{out_channels} must be divisible by groups={groups}"
            )
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = tuple_of(kernel_size, self.dims, "kernel_size")
        self.stride = tuple_of(stride, self.dims, "stride")
        self.padding = (
            padding
            if isinstance(padding, str)
            else tuple_of(padding, self.dims, "padding", minimum=0)
        )
        if padding == "same" and self.stride != (1,) * self.dims:
            raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
        self.dilation = tuple_of(dilation, self.dims, "dilation")
        self.groups = int(groups)
        self.padding_mode = padding_mode
        dtype = xp.float32 if dtype is None else dtype
        shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.weight = Parameter(xp.empty(shape, dtype=dtype))
        self.bias = Parameter(xp.empty(self.out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        return type(self).function(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def spec_args(self) -> dict:
        padding = self.padding if isinstance(self.padding, str) else list(self.padding)
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": padding,
            "dilation": list(self.dilation),
            "groups": self.groups,
            "bias": self.bias is not None,
            "dtype": str(self.weight.dtype),
        }

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
            f"groups={self.groups}, bias={self.bias is not None}"
        )


def _conv_args():
    return {
        "in_channels": Size(),
        "out_channels": Size(),
        "kernel_size": Shape(),
        "stride": Shape(),
        "padding": OneOf(Shape(low=0), Choice(("same", "valid"))),
        "dilation": Shape(),
        "groups": Size(),
        "bias": Bool(),
        "dtype": FloatDType(),
    }


def _conv_size(dims):
    """Weights (out, in/groups, *kernel) and the bias, a kernel given as one size per axis or
    one size for all."""

    def size(a):
        kernel = a["kernel_size"] * dims if len(a["kernel_size"]) == 1 else a["kernel_size"]
        return a["out_channels"] * (a["in_channels"] // a["groups"] * math.prod(kernel) + a["bias"])

    return size


@register_layer(args=_conv_args(), state_size=_conv_size(1))
class Conv1d(_ConvNd):
    """1-D convolution over (N, C, L) or (C, L) input, as torch.nn.Conv1d."""

    dims = 1
    function = staticmethod(conv1d)


@register_layer(args=_conv_args(), state_size=_conv_size(2))
class Conv2d(_ConvNd):
    """2-D convolution over (N, C, H, W) or (C, H, W) input, as torch.nn.Conv2d."""

    dims = 2
    function = staticmethod(conv2d)
