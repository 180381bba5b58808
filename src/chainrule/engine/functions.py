"""Tensor functions composed from primitives, with PyTorch's names (NumPy's where it has one).

Each is a plain function of a tensor; methods.py binds them onto Tensor. Any `axis`/`keepdims`
may be spelled `dim`/`keepdim` (names.py maps them). Functions that pick (argmax, sort, topk)
return integer tensors, which carry no gradient.
"""

from __future__ import annotations

import math
from collections import namedtuple

from . import ops
from .backend import array_like, module_of, xp
from .names import torch_names
from .primitive import ShapeError
from .tensor import Tensor

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def _shape_args(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


@torch_names
def var(x, axis=None, keepdims=False, *, correction=None, ddof=None):
    """Variance E[(x − E[x])²]·n/(n − correction).

    The default is NumPy's, correction = ddof = 0 (torch's default is 1: pass correction=1
    for the unbiased estimate)."""
    if correction is not None and ddof is not None:
        raise TypeError("var() got both correction= and ddof=; they are the same argument")
    correction = correction if correction is not None else (ddof or 0)
    centered = x - x.mean(axis=axis, keepdims=True)
    squared = centered * centered
    if correction == 0:
        return squared.mean(axis=axis, keepdims=keepdims)
    count = x.numel() // squared.mean(axis=axis, keepdims=True).numel()
    return squared.sum(axis=axis, keepdims=keepdims) / (count - correction)


@torch_names
def std(x, axis=None, keepdims=False, *, correction=None, ddof=None):
    """Standard deviation √var; the same default as var (correction = ddof = 0, NumPy's)."""
    return var(x, axis, keepdims, correction=correction, ddof=ddof).sqrt()


@torch_names
def norm(x, p=2, axis=None, keepdims=False):
    """The p-norm (Σ|x|ᵖ)^(1/p) over axis (all elements by default); p may be inf."""
    if p == 2:
        return (x * x).sum(axis=axis, keepdims=keepdims).sqrt()
    if p == 1:
        return abs(x).sum(axis=axis, keepdims=keepdims)
    if p == math.inf:
        return abs(x).max(axis=axis, keepdims=keepdims)
    return (abs(x) ** p).sum(axis=axis, keepdims=keepdims) ** (1.0 / p)


@torch_names
def logsumexp(x, axis=None, keepdims=False):
    return ops.logsumexp(x, axis=axis, keepdims=keepdims)


@torch_names
def cumsum(x, axis=0):
    return ops.cumsum(x, axis=axis)


@torch_names
def argmax(x, axis=None, keepdims=False):
    return Tensor(xp.argmax(x.data, axis=axis, keepdims=keepdims))


@torch_names
def argmin(x, axis=None, keepdims=False):
    return Tensor(xp.argmin(x.data, axis=axis, keepdims=keepdims))


@torch_names
def sort(x, axis=-1, descending=False, stable=True):
    """(values, indices) along axis; values are a gather, so they carry the gradient."""
    keys = -x.data if descending else x.data
    indices = xp.argsort(keys, axis=axis, kind="stable")
    return ValuesIndices(ops.gather(x, indices, axis=axis), Tensor(indices))


@torch_names
def topk(x, k, axis=-1, largest=True, sorted=True):
    """The k largest (or smallest) values along axis and their indices, largest first."""
    if not 0 <= k <= x.shape[axis]:
        raise ShapeError(f"topk: k={k} is out of range for axis {axis} of shape {x.shape}")
    _, indices = sort(x, axis=axis, descending=largest)
    indices = indices.data[(slice(None),) * (axis % x.ndim) + (slice(0, k),)]
    return ValuesIndices(ops.gather(x, indices, axis=axis), Tensor(indices))


@torch_names
def split(x, split_size_or_sections, axis=0):
    """Pieces of `split_size` along axis (the last may be smaller), or of the listed sizes."""
    length = x.shape[axis]
    sizes = split_size_or_sections
    if isinstance(sizes, int):
        sizes = [sizes] * (length // sizes) + ([length % sizes] if length % sizes else [])
    if sum(sizes) != length:
        raise ShapeError(
            f"split: sizes {list(sizes)} do not add up to {length}, the length "
            f"of axis {axis} of shape {x.shape}"
        )
    pieces, start = [], 0
    for size in sizes:
        pieces.append(x[(slice(None),) * (axis % x.ndim) + (slice(start, start + size),)])
        start += size
    return tuple(pieces)


@torch_names
def chunk(x, chunks, axis=0):
    """`chunks` pieces of equal size along axis (the last may be smaller), as torch.chunk."""
    return split(x, max(1, -(-x.shape[axis] // chunks)), axis=axis)


def expand(x, *sizes):
    """Broadcast to `sizes`; -1 keeps that axis (torch.Tensor.expand)."""
    sizes = _shape_args(sizes)
    offset = len(sizes) - x.ndim
    shape = tuple(x.shape[i - offset] if n == -1 else n for i, n in enumerate(sizes))
    return ops.broadcast_to(x, shape=shape)


def repeat(x, *repeats):
    """Tile x `repeats` times along each axis (torch.Tensor.repeat, NumPy's tile)."""
    repeats = _shape_args(repeats)
    if len(repeats) < x.ndim:
        raise ShapeError(f"repeat: {len(repeats)} repeats for a tensor of shape {x.shape}")
    shape = (1,) * (len(repeats) - x.ndim) + x.shape
    spread = x.reshape(tuple(v for n in shape for v in (1, n)))
    tiled = spread.broadcast_to(tuple(v for r, n in zip(repeats, shape) for v in (r, n)))
    return tiled.reshape(tuple(r * n for r, n in zip(repeats, shape)))


def masked_fill(x, mask, value):
    """x with `value` wherever mask holds (the mask carries no gradient)."""
    mask = mask.data if isinstance(mask, Tensor) else array_like(mask, x.data)
    return ops.where(mask, array_like(value, x.data, dtype=x.dtype), x)


def clamp(x, min=None, max=None):
    return ops.clip(x, min=min, max=max)


@torch_names
def unsqueeze(x, axis):
    axis = axis % (x.ndim + 1)
    return x.reshape((*x.shape[:axis], 1, *x.shape[axis:]))


@torch_names
def squeeze(x, axis=None):
    """Drop axes of length 1 (only `axis`, when given and of length 1, as torch)."""
    axes = (
        range(x.ndim)
        if axis is None
        else [a % x.ndim for a in (axis if isinstance(axis, (tuple, list)) else (axis,))]
    )
    drop = {a for a in axes if x.shape[a] == 1}
    return x.reshape(tuple(n for i, n in enumerate(x.shape) if i not in drop))


def permute(x, *axes):
    return ops.transpose(x, axes=tuple(_shape_args(axes)))


def flatten(x, start_dim=0, end_dim=-1):
    """Merge axes start_dim..end_dim into one (all of them by default), as torch.flatten."""
    if x.ndim == 0:
        return x.reshape((1,))
    start, end = start_dim % x.ndim, end_dim % x.ndim
    merged = math.prod(x.shape[start : end + 1])
    return x.reshape((*x.shape[:start], merged, *x.shape[end + 1 :]))


@torch_names
def gather(x, axis, index):
    return ops.gather(x, _indices(index), axis=axis)


@torch_names
def scatter(x, axis, index, src):
    return ops.scatter(x, _indices(index), _like(src, x, index), axis=axis)


@torch_names
def scatter_add(x, axis, index, src):
    return ops.scatter_add(x, _indices(index), src, axis=axis)


@torch_names
def index_add(x, axis, index, source, alpha=1.0):
    return ops.index_add(x, _indices(index), source, axis=axis, alpha=alpha)


def _indices(index):
    return index.data if isinstance(index, Tensor) else array_like(index, None)


def _like(src, x, index):
    """A scalar src fills every indexed place (torch.scatter's value form)."""
    if isinstance(src, (int, float)):
        return module_of(x.data).full(xp.shape(_indices(index)), src, dtype=x.dtype)
    return src


def einsum(equation, *operands):
    """Einstein summation over tensors (torch.einsum / numpy.einsum), '->' required."""
    return ops.einsum(*_shape_args(operands), equation=equation)


@torch_names
def cat(tensors, axis=0):
    """Join tensors along an existing axis (torch.cat; NumPy's concatenate)."""
    return ops.concatenate(*tensors, axis=axis)


@torch_names
def stack(tensors, axis=0):
    """Join tensors along a new axis."""
    return ops.stack(*tensors, axis=axis)


def where(condition, x, y):
    """Elements of x where condition holds, else of y; condition carries no gradient."""
    condition = condition.data if isinstance(condition, Tensor) else array_like(condition, None)
    return ops.where(condition, x, y)
