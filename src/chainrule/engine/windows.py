"""Window geometry shared by the convolution and pooling primitives (conv_ops, pool_ops):
padding, output sizes, the strided index of each kernel offset, and the scatter-add that
places per-offset slabs back into an input-shaped array.

Options are normalized by nn.functional: `padding` is one (before, after) pair per spatial
axis; `stride`, `dilation` and `kernel_size` one int per spatial axis.
"""

from __future__ import annotations

import functools
import itertools

from .backend import module_of
from .primitive import ShapeError


def pad(x, padding, fill):
    """x with padding[i] = (before, after) added around spatial axis i, filled with `fill`."""
    if not any(before or after for before, after in padding):
        return x
    sizes = [n + before + after for n, (before, after) in zip(x.shape[2:], padding)]
    out = module_of(x).full((*x.shape[:2], *sizes), fill, dtype=x.dtype)
    out[_inner(x.shape, padding)] = x
    return out


def _inner(shape, padding):
    """The index of the unpadded region inside the padded array."""
    spatial = tuple(slice(b, b + n) for n, (b, _) in zip(shape[2:], padding))
    return (slice(None), slice(None), *spatial)


def out_sizes(sizes, kernel, stride, dilation):
    out = [(n - d * (k - 1) - 1) // s + 1 for n, k, s, d in zip(sizes, kernel, stride, dilation)]
    if min(out) < 1:
        raise ShapeError(
            f"padded input of spatial size {tuple(sizes)} is smaller than the "
            f"dilated kernel {tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))}"
        )
    return out


def window_offsets(kernel, stride, dilation, out):
    """Per kernel offset, the index of the padded input's elements that offset meets in
    every window: a strided slice of shape (batch, channels, *out)."""
    for offset in itertools.product(*map(range, kernel)):
        yield (
            slice(None),
            slice(None),
            *(
                slice(o * d, o * d + s * (n - 1) + 1, s)
                for o, d, s, n in zip(offset, dilation, stride, out)
            ),
        )


def unpad(gx, shape, padding):
    return gx[_inner(shape, padding)] if gx.shape != shape else gx


def kernel_offsets(kernel, stride, dilation, out):
    """(kernel offset, window_offsets' index, phase) per offset."""
    return _kernel_offsets(*map(tuple, (kernel, stride, dilation, out)))


@functools.lru_cache(maxsize=256)  # the same few geometries, every step
def _kernel_offsets(kernel, stride, dilation, out):
    return tuple(
        (offset, index, phase(offset, stride, dilation))
        for offset, index in zip(
            itertools.product(*map(range, kernel)), window_offsets(kernel, stride, dilation, out)
        )
    )


def phase(offset, stride, dilation):
    """Where a kernel offset's elements fall modulo the stride: offsets of different phases
    meet disjoint elements."""
    return tuple(o * d % s for o, d, s in zip(offset, dilation, stride))


def scatter(shape, dtype, view, parts):
    """The sum of slabs, each placed at view(array)[index] of a zero array of `shape`.

    numpy copies strided rows several times faster than it adds them, and slabs of
    different phases never overlap: so each of (at most) two buffers takes one slab per
    phase by a copy, further slabs are added, and the buffers are summed whole."""
    buffers = []
    for phase, index, slab in parts:
        free = next((b for b in buffers if phase not in b[1]), None)
        if free is None and len(buffers) < 2:
            free = (module_of(slab).zeros(shape, dtype=dtype), set())
            buffers.append(free)
        if free is None:
            view(buffers[0][0])[index] += slab
        else:
            free[1].add(phase)
            view(free[0])[index] = slab
    total = buffers[0][0]
    for other, _ in buffers[1:]:
        total += other
    return total
