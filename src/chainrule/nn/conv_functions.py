"""Convolution and pooling as functions, with torch.nn.functional's names and arguments.

They check and normalize the arguments (ints or tuples, 'same' and 'valid', ceil_mode, an
unbatched input) and call the engine's primitives (chainrule.engine.conv_ops, pool_ops).
"""

from __future__ import annotations

import numbers

from ..engine import conv_ops, pool_ops
from ..engine.primitive import ShapeError

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "conv1d",
    "conv2d",
    "max_pool1d",
    "max_pool2d",
]


def tuple_of(value, dims: int, name: str, minimum: int = 1) -> tuple:
    """An int or a sequence of `dims` ints as a tuple; ValueError names the argument."""
    values = (value,) * dims if isinstance(value, numbers.Integral) else tuple(value)
    if len(values) != dims or not all(isinstance(v, numbers.Integral) for v in values):
        raise ValueError(f"{name} must be an int or {dims} ints, got {value!r}")
    if min(values) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in values)


def _batched(x, dims: int, name: str):
    """x with a batch axis (torch accepts an unbatched (C, *size) input too), and whether one
    was added."""
    if x.ndim == dims + 1:
        return x.reshape((1, *x.shape)), True
    if x.ndim != dims + 2:
        raise ShapeError(
            f"{name}: expected a {dims + 1}-D (C, *size) or {dims + 2}-D "
            f"(N, C, *size) input, got shape {x.shape}"
        )
    return x, False


def _unbatched(y, added):
    return y.reshape(y.shape[1:]) if added else y


def _conv_padding(padding, kernel, stride, dilation, dims):
    if padding == "valid":
        return ((0, 0),) * dims
    if padding == "same":
        if stride != (1,) * dims:
            raise ValueError("padding='same' is not supported for strided convolutions")
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in total)  # as torch: the odd one on the right
    if isinstance(padding, str):  # a ValueError, as torch's
        raise ValueError(f"padding must be 'same', 'valid', an int or ints, got {padding!r}")
    return tuple((p, p) for p in tuple_of(padding, dims, "padding", minimum=0))


def _conv(x, weight, bias, stride, padding, dilation, groups, dims, name):
    if weight.ndim != dims + 2:
        raise ShapeError(
            f"{name}: weight must be {dims + 2}-D (out, in/groups, *kernel), "
            f"got shape {weight.shape}"
        )
    if not isinstance(groups, numbers.Integral) or groups < 1 or weight.shape[0] % groups:
        raise ValueError(
            f"{name}: groups={groups!r} must be a positive int dividing the "
            f"{weight.shape[0]} output channels"
        )
    x, added = _batched(x, dims, name)
    stride = tuple_of(stride, dims, "stride")
    dilation = tuple_of(dilation, dims, "dilation")
    pads = _conv_padding(padding, weight.shape[2:], stride, dilation, dims)
    y = conv_ops.conv(
        x, weight, bias, stride=stride, padding=pads, dilation=dilation, groups=int(groups)
    )
    return _unbatched(y, added)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation of (N, C, L) input with weight (O, C/groups, k), as F.conv1d."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of (N, C, H, W) input with weight (O, C/groups, kh, kw)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


# --- pooling ------------------------------------------------------------------------------


def _ceil_extra(size, kernel, stride, pad, dilation):
    """The extra right padding ceil_mode needs (torch's rule: the last window must start
    inside the input or its left padding)."""
    span = dilation * (kernel - 1) + 1
    out = -(-(size + 2 * pad - span) // stride) + 1
    if (out - 1) * stride >= size + pad:
        out -= 1
    return max(0, (out - 1) * stride + span - (size + 2 * pad))


def _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, dims, name):
    """kernel, stride, dilation, padding pairs (with ceil_mode's extra) and that extra."""
    kernel = tuple_of(kernel_size, dims, "kernel_size")
    stride = kernel if stride is None or stride == [] else tuple_of(stride, dims, "stride")
    pad = tuple_of(padding, dims, "padding", minimum=0)
    dilation = tuple_of(dilation, dims, "dilation")
    if any(2 * p > k for p, k in zip(pad, kernel)):
        raise ValueError(
            f"{name}: padding {padding!r} should be at most half of the kernel size {kernel_size!r}"
        )
    sizes = x.shape[-dims:]
    extra = tuple(
        _ceil_extra(n, k, s, p, d) if ceil_mode else 0
        for n, k, s, p, d in zip(sizes, kernel, stride, pad, dilation)
    )
    return kernel, stride, dilation, tuple((p, p + e) for p, e in zip(pad, extra)), extra


def _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices, dims):
    name = f"max_pool{dims}d"
    if return_indices:
        raise NotImplementedError(f"{name}: return_indices=True is not supported")
    x, added = _batched(x, dims, name)
    kernel, stride, dilation, pads, _ = _pool_geometry(
        x, kernel_size, stride, padding, dilation, ceil_mode, dims, name
    )
    y = pool_ops.max_pool(x, kernel_size=kernel, stride=stride, padding=pads, dilation=dilation)
    return _unbatched(y, added)


def max_pool1d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """The maximum of each window of (N, C, L) input, as F.max_pool1d."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1)


def max_pool2d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """The maximum of each window of (N, C, H, W) input, as F.max_pool2d."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2)


def _avg_pool(
    x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, dims
):
    name = f"avg_pool{dims}d"
    if divisor_override is not None and divisor_override <= 0:
        raise ValueError(f"{name}: divisor_override must be positive, got {divisor_override}")
    x, added = _batched(x, dims, name)
    kernel, stride, _, pads, extra = _pool_geometry(
        x, kernel_size, stride, padding, 1, ceil_mode, dims, name
    )
    y = pool_ops.avg_pool(
        x,
        kernel_size=kernel,
        stride=stride,
        padding=pads,
        ceil_pad=extra,
        count_include_pad=bool(count_include_pad),
        divisor_override=divisor_override,
    )
    return _unbatched(y, added)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """The mean of each window of (N, C, L) input, as F.avg_pool1d."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1)


def avg_pool2d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    """The mean of each window of (N, C, H, W) input, as F.avg_pool2d."""
    return _avg_pool(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2
    )


def _adaptive_avg_pool(x, output_size, dims):
    name = f"adaptive_avg_pool{dims}d"
    x, added = _batched(x, dims, name)
    if isinstance(output_size, numbers.Integral) or output_size is None:
        output_size = (output_size,) * dims
    if len(output_size) != dims:
        raise ValueError(f"{name}: output_size must be an int or {dims} ints, got {output_size!r}")
    # None keeps that axis's size, as in torch.
    sizes = tuple(n if o is None else o for n, o in zip(x.shape[2:], output_size))
    y = pool_ops.adaptive_avg_pool(x, output_size=tuple_of(sizes, dims, "output_size"))
    return _unbatched(y, added)


def adaptive_avg_pool1d(input, output_size):
    """Averages over output_size near-equal bins of (N, C, L) input, as torch."""
    return _adaptive_avg_pool(input, output_size, 1)


def adaptive_avg_pool2d(input, output_size):
    """Averages over near-equal bins of (N, C, H, W) input to output_size (int or pair)."""
    return _adaptive_avg_pool(input, output_size, 2)
