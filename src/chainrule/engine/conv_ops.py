"""Convolution and pooling primitives over N-d windows (N = 1 or 2 in nn), VJPs beside them.

x has shape (batch, channels, *spatial). A window view of the padded input, shape
(batch, channels, *out, *kernel), is made by striding alone (no copy); the forward pass is one
GEMM over it (im2col). A VJP turns the window gradients back into an input gradient by adding
each kernel offset's slice into a strided view of the padded input: a loop over the kernel's
few offsets, never over positions, and no np.add.at.

Options are normalized by nn.functional: `padding` is one (before, after) pair per spatial
axis; `stride`, `dilation` and `kernel_size` one int per spatial axis.
"""

from __future__ import annotations

import functools
import itertools
import math

from .backend import xp
from .primitive import ShapeError, primitive

_as_strided = xp.lib.stride_tricks.as_strided


def _pad(x, padding, fill):
    """x with padding[i] = (before, after) added around spatial axis i, filled with `fill`."""
    if not any(before or after for before, after in padding):
        return x
    sizes = [n + before + after for n, (before, after) in zip(x.shape[2:], padding)]
    out = xp.full((*x.shape[:2], *sizes), fill, dtype=x.dtype)
    out[_inner(x.shape, padding)] = x
    return out


def _inner(shape, padding):
    """The index of the unpadded region inside the padded array."""
    spatial = tuple(slice(b, b + n) for n, (b, _) in zip(shape[2:], padding))
    return (slice(None), slice(None), *spatial)


def _out_sizes(sizes, kernel, stride, dilation):
    out = [(n - d * (k - 1) - 1) // s + 1 for n, k, s, d in zip(sizes, kernel, stride, dilation)]
    if min(out) < 1:
        raise ShapeError(f"padded input of spatial size {tuple(sizes)} is smaller than the "
                         f"dilated kernel {tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))}")
    return out


def _windows(x, kernel, stride, dilation):
    """A read-only view (batch, channels, *out, *kernel) of every window of padded x."""
    out = _out_sizes(x.shape[2:], kernel, stride, dilation)
    steps = x.strides[2:]
    strides = (*x.strides[:2], *(t * s for t, s in zip(steps, stride)),
               *(t * d for t, d in zip(steps, dilation)))
    return _as_strided(x, (*x.shape[:2], *out, *kernel), strides, writeable=False)


def _scatter_windows(gw, padded_shape, stride, dilation):
    """The adjoint of _windows: sum gw (batch, channels, *out, *kernel) into padded_shape."""
    dims = len(padded_shape) - 2
    out, kernel = gw.shape[2:2 + dims], gw.shape[2 + dims:]
    gx = xp.zeros(padded_shape, dtype=gw.dtype)
    for offset in itertools.product(*map(range, kernel)):
        target = tuple(slice(o * d, o * d + s * (n - 1) + 1, s)
                       for o, d, s, n in zip(offset, dilation, stride, out))
        gx[(slice(None), slice(None), *target)] += gw[(Ellipsis, *offset)]
    return gx


def _unpad(gx, shape, padding):
    return gx[_inner(shape, padding)] if gx.shape != shape else gx


# --- convolution: out[n, o] = Σ_c Σ_k w[o, c, k] · x[n, g(o)·C/G + c, s·p + d·k] + b[o] -----


def _columns(x, kernel, stride, padding, dilation, groups):
    """im2col: (groups, batch·positions, channels/groups · kernel) and the output sizes."""
    win = _windows(_pad(x, padding, 0), kernel, stride, dilation)
    batch, channels, *out = win.shape[:2 + len(kernel)]
    dims = len(kernel)
    win = win.reshape(batch, groups, channels // groups, *win.shape[2:])
    order = (1, 0, *range(3, 3 + dims), 2, *range(3 + dims, 3 + 2 * dims))
    cols = win.transpose(order).reshape(groups, batch * math.prod(out), -1)
    return cols, out


@primitive
def conv(x, weight, bias=None, stride=(1,), padding=((0, 0),), dilation=(1,), groups=1):
    """Cross-correlation of x (N, C, *size) with weight (O, C/groups, *kernel), as torch."""
    dims, kernel = weight.ndim - 2, weight.shape[2:]
    if x.ndim != dims + 2 or x.shape[1] != weight.shape[1] * groups:
        raise ShapeError(f"conv: input of shape {x.shape} does not fit weight of shape "
                         f"{weight.shape} with groups={groups} (expected (N, "
                         f"{weight.shape[1] * groups}, ...) with {dims} spatial axes)")
    cols, out = _columns(x, kernel, stride, padding, dilation, groups)
    w = weight.reshape(groups, weight.shape[0] // groups, -1)
    y = xp.matmul(cols, w.transpose(0, 2, 1))  # (G, N·P, O/G)
    y = y.reshape(groups, x.shape[0], *out, -1)
    y = y.transpose(1, 0, dims + 2, *range(2, dims + 2)).reshape(x.shape[0], -1, *out)
    if bias is not None:
        y += bias.reshape(-1, *(1,) * dims)
    return y


@conv.vjp
def _(g, out, x, weight, bias=None, stride=(1,), padding=((0, 0),), dilation=(1,), groups=1,
      needs=(True, True, True)):
    dims, batch = weight.ndim - 2, x.shape[0]
    g_groups = g.reshape(batch, groups, -1, math.prod(g.shape[2:]))
    g2 = g_groups.transpose(1, 0, 3, 2).reshape(groups, -1, g_groups.shape[2])  # (G, N·P, O/G)
    w = weight.reshape(groups, weight.shape[0] // groups, -1)
    gx = gw = gb = None
    if needs[1]:
        cols, _ = _columns(x, weight.shape[2:], stride, padding, dilation, groups)
        gw = xp.matmul(g2.transpose(0, 2, 1), cols).reshape(weight.shape)
    if needs[0]:
        gcols = xp.matmul(g2, w)  # (G, N·P, C/G · kernel)
        gcols = gcols.reshape(groups, batch, *g.shape[2:], x.shape[1] // groups, *weight.shape[2:])
        order = (1, 0, dims + 2, *range(2, dims + 2), *range(dims + 3, 2 * dims + 3))
        gcols = gcols.transpose(order).reshape(batch, x.shape[1], *gcols.shape[2:dims + 2],
                                               *weight.shape[2:])
        padded = tuple(n + b + a for n, (b, a) in zip(x.shape[2:], padding))
        gx = _unpad(_scatter_windows(gcols, (*x.shape[:2], *padded), stride, dilation),
                    x.shape, padding)
    if bias is not None and needs[2]:
        gb = g.sum(axis=(0, *range(2, dims + 2)))
    return gx, gw, gb


# --- max pooling: the largest element of each window (the first, on ties) ------------------


def _flat_windows(x, kernel, stride, padding, dilation, fill):
    win = _windows(_pad(x, padding, fill), kernel, stride, dilation)
    return win.reshape(*win.shape[:2 + len(kernel)], -1)


@primitive
def max_pool(x, kernel_size=(1,), stride=(1,), padding=((0, 0),), dilation=(1,)):
    return _flat_windows(x, kernel_size, stride, padding, dilation, -xp.inf).max(axis=-1)


@max_pool.vjp
def _(g, out, x, kernel_size=(1,), stride=(1,), padding=((0, 0),), dilation=(1,)):
    flat = _flat_windows(x, kernel_size, stride, padding, dilation, -xp.inf)
    first = flat.argmax(axis=-1)[..., None]  # as torch: the first maximum (or NaN) wins
    gw = (xp.arange(flat.shape[-1]) == first) * g[..., None]
    padded = tuple(n + b + a for n, (b, a) in zip(x.shape[2:], padding))
    gx = _scatter_windows(gw.reshape(*g.shape, *kernel_size), (*x.shape[:2], *padded), stride,
                          dilation)
    return (_unpad(gx, x.shape, padding),)


# --- average pooling ----------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _divisor(sizes, kernel, stride, counted, override):
    """Each window's divisor: override, or how many of its positions are counted.

    `counted` is a (start, stop) pair per axis of the padded array: the positions counted in
    the divisor (torch: the input and its padding, or with count_include_pad=False the input).
    """
    if override:
        return xp.asarray(float(override))
    mask = xp.zeros((1, 1, *sizes))
    mask[(0, 0, *(slice(a, b) for a, b in counted))] = 1
    ones = (1,) * len(kernel)
    divisor = _windows(mask, kernel, stride, ones).sum(axis=tuple(range(-len(kernel), 0)))
    divisor.flags.writeable = False
    return divisor[0, 0]


def _avg_divisor(x, kernel, stride, padding, ceil_pad, count_include_pad, divisor_override):
    sizes = tuple(n + b + a for n, (b, a) in zip(x.shape[2:], padding))
    if count_include_pad:
        counted = tuple((0, n - extra) for n, extra in zip(sizes, ceil_pad))
    else:
        counted = tuple((b, b + n) for n, (b, _) in zip(x.shape[2:], padding))
    return _divisor(sizes, tuple(kernel), tuple(stride), counted, divisor_override)


@primitive
def avg_pool(x, kernel_size=(1,), stride=(1,), padding=((0, 0),), ceil_pad=(0,),
             count_include_pad=True, divisor_override=None):
    """The mean of each window; `ceil_pad` is the extra right padding of ceil_mode, which
    never counts in the divisor."""
    ones = (1,) * len(kernel_size)
    win = _windows(_pad(x, padding, 0), kernel_size, stride, ones)
    total = win.sum(axis=tuple(range(-len(kernel_size), 0)))
    divisor = _avg_divisor(x, kernel_size, stride, padding, ceil_pad, count_include_pad,
                           divisor_override)
    return (total / divisor).astype(x.dtype, copy=False)


@avg_pool.vjp
def _(g, out, x, kernel_size=(1,), stride=(1,), padding=((0, 0),), ceil_pad=(0,),
      count_include_pad=True, divisor_override=None):
    divisor = _avg_divisor(x, kernel_size, stride, padding, ceil_pad, count_include_pad,
                           divisor_override)
    scaled = (g / divisor).astype(g.dtype, copy=False)
    gw = xp.broadcast_to(scaled[(Ellipsis, *(None,) * len(kernel_size))],
                         (*g.shape, *kernel_size))
    padded = tuple(n + b + a for n, (b, a) in zip(x.shape[2:], padding))
    ones = (1,) * len(kernel_size)
    return (_unpad(_scatter_windows(gw, (*x.shape[:2], *padded), stride, ones), x.shape,
                   padding),)


# --- adaptive average pooling: one averaging matrix per spatial axis ----------------------


@functools.lru_cache(maxsize=64)
def _bins(size, out, dtype):
    """(out, size) matrix whose row i averages torch's bin i: [⌊i·size/out⌋, ⌈(i+1)·size/out⌉)."""
    matrix = xp.zeros((out, size), dtype=dtype)
    for i in range(out):
        start, stop = (i * size) // out, -((-(i + 1) * size) // out)
        matrix[i, start:stop] = 1.0 / (stop - start)
    matrix.flags.writeable = False
    return matrix


def _apply_bins(x, matrices):
    """Contract each spatial axis of x with its (out, in) matrix."""
    for axis, matrix in enumerate(matrices, start=2):
        x = xp.moveaxis(xp.tensordot(x, matrix, axes=([axis], [1])), -1, axis)
    return x


@primitive
def adaptive_avg_pool(x, output_size=(1,)):
    matrices = [_bins(n, o, x.dtype) for n, o in zip(x.shape[2:], output_size)]
    return xp.ascontiguousarray(_apply_bins(x, matrices))


@adaptive_avg_pool.vjp
def _(g, out, x, output_size=(1,)):
    matrices = [_bins(n, o, x.dtype).T for n, o in zip(x.shape[2:], output_size)]
    return (xp.ascontiguousarray(_apply_bins(g, matrices)),)
