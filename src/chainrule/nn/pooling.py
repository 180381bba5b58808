"""Pooling layers with PyTorch's arguments: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import conv_functions as F
from .module import Module
from .registry import MAX_SIZE, Bool, Int, OneOf, Shape, Size, register_layer


class _OptionalSize:
    """A size, or None."""

    def check(self, value):
        return None if value is None else Size().check(value)


# A size for every axis, or a list of them (kept as given, so a model file rebuilds the layer
# exactly as it was made).
_SIZES, _PADDING = OneOf(Size(), Shape()), OneOf(Int(0, MAX_SIZE), Shape(low=0))
_STRIDE = OneOf(Size(), Shape(optional=True))


class _OutputSize:
    """An adaptive pool's output size: a size, or a list of sizes or None (the input's)."""

    def check(self, value):
        if isinstance(value, list) and 1 <= len(value) <= 3:
            return tuple(None if v is None else Size().check(v) for v in value)
        return Size().check(value)


_MAX_POOL = {
    "kernel_size": _SIZES,
    "stride": _STRIDE,
    "padding": _PADDING,
    "dilation": _SIZES,
    "ceil_mode": Bool(),
}
_AVG_POOL = {
    "kernel_size": _SIZES,
    "stride": _STRIDE,
    "padding": _PADDING,
    "ceil_mode": Bool(),
    "count_include_pad": Bool(),
}


def _listed(value):
    return list(value) if isinstance(value, tuple) else value


class _MaxPoolNd(Module):
    function: Callable[..., Any] | None = None  # the subclass's max_pool1d or max_pool2d

    def __init__(
        self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False
    ):
        super().__init__()
        if return_indices:
            raise NotImplementedError(
                f"{type(self).__name__}: return_indices=True is not supported"
            )
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.ceil_mode = dilation, bool(ceil_mode)

    def forward(self, x):
        return type(self).function(
            x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode
        )

    def spec_args(self) -> dict:
        return {
            "kernel_size": _listed(self.kernel_size),
            "stride": _listed(self.stride),
            "padding": _listed(self.padding),
            "dilation": _listed(self.dilation),
            "ceil_mode": self.ceil_mode,
        }


@register_layer(args=_MAX_POOL)
class MaxPool1d(_MaxPoolNd):
    """The maximum over each window of (N, C, L) input, as torch.nn.MaxPool1d."""

    function = staticmethod(F.max_pool1d)


@register_layer(args=_MAX_POOL)
class MaxPool2d(_MaxPoolNd):
    """The maximum over each window of (N, C, H, W) input, as torch.nn.MaxPool2d."""

    function = staticmethod(F.max_pool2d)


@register_layer(args=_AVG_POOL)
class AvgPool1d(Module):
    """The mean over each window of (N, C, L) input, as torch.nn.AvgPool1d."""

    def __init__(
        self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
    ):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = bool(ceil_mode), bool(count_include_pad)

    def forward(self, x):
        return F.avg_pool1d(
            x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad
        )

    def spec_args(self) -> dict:
        return {
            "kernel_size": _listed(self.kernel_size),
            "stride": _listed(self.stride),
            "padding": _listed(self.padding),
            "ceil_mode": self.ceil_mode,
            "count_include_pad": self.count_include_pad,
        }


@register_layer(args={**_AVG_POOL, "divisor_override": _OptionalSize()})
class AvgPool2d(AvgPool1d):
    """The mean over each window of (N, C, H, W) input, as torch.nn.AvgPool2d."""

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode=False,
        count_include_pad=True,
        divisor_override=None,
    ):
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, x):
        return F.avg_pool2d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def spec_args(self) -> dict:
        return {**super().spec_args(), "divisor_override": self.divisor_override}


@register_layer(args={"output_size": _OutputSize()})
class AdaptiveAvgPool1d(Module):
    """Averages (N, C, L) input over output_size near-equal bins, as torch."""

    function = staticmethod(F.adaptive_avg_pool1d)

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return type(self).function(x, self.output_size)

    def spec_args(self) -> dict:
        return {"output_size": _listed(self.output_size)}


@register_layer(args={"output_size": _OutputSize()})
class AdaptiveAvgPool2d(AdaptiveAvgPool1d):
    """Averages (N, C, H, W) input over near-equal bins to output_size (int or pair)."""

    function = staticmethod(F.adaptive_avg_pool2d)
