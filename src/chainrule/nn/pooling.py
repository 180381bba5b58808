"""Pooling layers with PyTorch's arguments: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d."""

from __future__ import annotations

from . import conv_functions as F
from .module import Module


def _listed(value):
    return list(value) if isinstance(value, tuple) else value


class _MaxPoolNd(Module):
    function = None

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        if return_indices:
            raise NotImplementedError(f"{type(self).__name__}: return_indices=True is not "
                                      "supported")
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.ceil_mode = dilation, bool(ceil_mode)

    def forward(self, x):
        return type(self).function(x, self.kernel_size, self.stride, self.padding,
                                   self.dilation, self.ceil_mode)

    def spec_args(self) -> dict:
        return {"kernel_size": _listed(self.kernel_size), "stride": _listed(self.stride),
                "padding": _listed(self.padding), "dilation": _listed(self.dilation),
                "ceil_mode": self.ceil_mode}


class MaxPool1d(_MaxPoolNd):
    """The maximum over each window of (N, C, L) input, as torch.nn.MaxPool1d."""

    function = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """The maximum over each window of (N, C, H, W) input, as torch.nn.MaxPool2d."""

    function = staticmethod(F.max_pool2d)


class AvgPool1d(Module):
    """The mean over each window of (N, C, L) input, as torch.nn.AvgPool1d."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = bool(ceil_mode), bool(count_include_pad)

    def forward(self, x):
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def spec_args(self) -> dict:
        return {"kernel_size": _listed(self.kernel_size), "stride": _listed(self.stride),
                "padding": _listed(self.padding), "ceil_mode": self.ceil_mode,
                "count_include_pad": self.count_include_pad}


class AvgPool2d(AvgPool1d):
    """The mean over each window of (N, C, H, W) input, as torch.nn.AvgPool2d."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def spec_args(self) -> dict:
        return {**super().spec_args(), "divisor_override": self.divisor_override}


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


class AdaptiveAvgPool2d(AdaptiveAvgPool1d):
    """Averages (N, C, H, W) input over near-equal bins to output_size (int or pair)."""

    function = staticmethod(F.adaptive_avg_pool2d)
