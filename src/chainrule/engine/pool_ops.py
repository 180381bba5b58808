"""Pooling primitives (max, average, adaptive average) over N-d windows, VJPs beside them.

Each loops over the kernel's offsets (never over positions): the forward pass combines the
strided slices of the padded input that one offset meets in every window; the VJP adds the
gradient back into those slices.
"""

from __future__ import annotations

import functools

from .backend import array_like, contiguous, is_device_array, module_of, xp
from .primitive import primitive
from .windows import kernel_offsets, out_sizes, pad, scatter, unpad, window_offsets

# --- max pooling: the largest element of each window (the first, on ties) ------------------


@primitive
def max_pool(x, kernel_size=(1,), stride=(1,), padding=((0, 0),), dilation=(1,)):
    """The window maxima, one spatial axis at a time from the last (a box's maximum is the
    maximum of its rows' maxima): fewer passes over strided data than offset by offset."""
    result = pad(x, padding, -xp.inf)
    out = out_sizes(result.shape[2:], kernel_size, stride, dilation)
    for axis in reversed(range(len(out))):
        k, s, d, n = kernel_size[axis], stride[axis], dilation[axis], out[axis]
        lead = (slice(None),) * (axis + 2)
        keys = [(*lead, slice(o * d, o * d + s * (n - 1) + 1, s)) for o in range(k)]
        parts = [result[key] for key in keys]  # keys built outside []: mypy's 3.10 syntax
        result = parts[0].copy() if k == 1 else xp.maximum(parts[0], parts[1])
        for part in parts[2:]:
            xp.maximum(result, part, out=result)  # NaN propagates, as in torch
    return result


@max_pool.vjp
def _(g, out, x, kernel_size=(1,), stride=(1,), padding=((0, 0),), dilation=(1,)):
    padded = pad(x, padding, -xp.inf)
    offsets = kernel_offsets(kernel_size, stride, dilation, out.shape[2:])
    nan = xp.isnan(out)
    if nan.any() or not xp.isfinite(g).all():
        gx = module_of(g).zeros(padded.shape, dtype=g.dtype)
        # As torch: a window's first maximum takes the gradient; in a window holding NaN
        # (its output), the last NaN does. NaN never equals out, so each pass sees only
        # its windows.
        indices = [index for _, index, _ in offsets]
        _route(gx, g, padded, indices, ~nan, lambda part: part == out)
        _route(gx, g, padded, indices[::-1], nan, xp.isnan)
    else:
        maxima = _first_maximum(g, out, padded, offsets)
        gx = scatter(padded.shape, g.dtype, lambda a: a, maxima)
    return (unpad(gx, x.shape, padding),)


def _first_maximum(g, out, padded, offsets):
    """Each offset's share of a finite g, placed by windows.scatter: a window's gradient
    goes to its first element equal to the maximum; the last offset takes the windows left
    (without NaN, some element of each window is its maximum). Masks multiply: numpy's
    where branches per element and runs several times slower on such random masks."""
    claimed = module_of(out).zeros(out.shape, dtype=bool)
    for number, (_, index, where) in enumerate(offsets):
        if number == len(offsets) - 1:
            hit = ~claimed
        else:
            hit = padded[index] == out
            hit &= ~claimed
            claimed |= hit
        yield where, index, g * hit


def _route(gx, g, padded, indices, unclaimed, matches):
    """Add g into gx at the first offset of each unclaimed window whose element matches."""
    for index in indices:
        hit = matches(padded[index])
        hit &= unclaimed
        unclaimed ^= hit
        gx[index] += xp.where(hit, g, 0)


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
    key = (0, 0, *(slice(a, b) for a, b in counted))  # outside []: mypy reads a star in [] as 3.11
    mask[key] = 1
    ones = (1,) * len(kernel)
    out = out_sizes(sizes, kernel, stride, ones)
    divisor = sum(mask[index] for index in window_offsets(kernel, stride, ones, out))
    divisor.flags.writeable = False
    return divisor[0, 0]


def _avg_divisor(x, kernel, stride, padding, ceil_pad, count_include_pad, divisor_override):
    sizes = tuple(n + b + a for n, (b, a) in zip(x.shape[2:], padding))
    if count_include_pad:
        counted = tuple((0, n - extra) for n, extra in zip(sizes, ceil_pad))
    else:
        counted = tuple((b, b + n) for n, (b, _) in zip(x.shape[2:], padding))
    divisor = _divisor(sizes, tuple(kernel), tuple(stride), counted, divisor_override)
    return array_like(divisor, x) if is_device_array(x) else divisor


@primitive
def avg_pool(
    x,
    kernel_size=(1,),
    stride=(1,),
    padding=((0, 0),),
    ceil_pad=(0,),
    count_include_pad=True,
    divisor_override=None,
):
    """The mean of each window; `ceil_pad` is the extra right padding of ceil_mode, which
    never counts in the divisor."""
    padded = pad(x, padding, 0)
    ones = (1,) * len(kernel_size)
    out = out_sizes(padded.shape[2:], kernel_size, stride, ones)
    total = None
    for index in window_offsets(kernel_size, stride, ones, out):
        total = padded[index].copy() if total is None else xp.add(total, padded[index], out=total)
    divisor = _avg_divisor(
        x, kernel_size, stride, padding, ceil_pad, count_include_pad, divisor_override
    )
    return (total / divisor).astype(x.dtype, copy=False)


@avg_pool.vjp
def _(
    g,
    out,
    x,
    kernel_size=(1,),
    stride=(1,),
    padding=((0, 0),),
    ceil_pad=(0,),
    count_include_pad=True,
    divisor_override=None,
):
    divisor = _avg_divisor(
        x, kernel_size, stride, padding, ceil_pad, count_include_pad, divisor_override
    )
    scaled = (g / divisor).astype(g.dtype, copy=False)
    padded = tuple(n + b + a for n, (b, a) in zip(x.shape[2:], padding))
    gx = module_of(g).zeros((*x.shape[:2], *padded), dtype=g.dtype)
    ones = (1,) * len(kernel_size)
    for index in window_offsets(kernel_size, stride, ones, g.shape[2:]):
        gx[index] += scaled
    return (unpad(gx, x.shape, padding),)


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


def _bins_for(x, size, out):
    """_bins on x's device (copied there per call: a small matrix)."""
    matrix = _bins(size, out, x.dtype)
    return array_like(matrix, x) if is_device_array(x) else matrix


def _apply_bins(x, matrices):
    """Contract each spatial axis of x with its (out, in) matrix."""
    for axis, matrix in enumerate(matrices, start=2):
        x = xp.moveaxis(xp.tensordot(x, matrix, axes=([axis], [1])), -1, axis)
    return x


@primitive
def adaptive_avg_pool(x, output_size=(1,)):
    matrices = [_bins_for(x, n, o) for n, o in zip(x.shape[2:], output_size)]
    return contiguous(_apply_bins(x, matrices))


@adaptive_avg_pool.vjp
def _(g, out, x, output_size=(1,)):
    matrices = [_bins_for(x, n, o).T for n, o in zip(x.shape[2:], output_size)]
    return (contiguous(_apply_bins(g, matrices)),)
