"""Primitive reductions and scans: sum, mean, max, min, logsumexp, cumsum, with their VJPs.

Each VJP serves both the ordinary backward and a recorded one (create_graph): it uses
methods that arrays and Tensors share and `on(op, ...)`.
"""

from __future__ import annotations

from .backend import xp
from .primitive import on, primitive, values
from .tensor import Tensor


def _kept_shape(shape, axis):
    """The shape of a reduction with keepdims=True."""
    return tuple(1 if _is_reduced(i, len(shape), axis) else n for i, n in enumerate(shape))


def _expand(g, shape, axis, keepdims):
    """Broadcast a reduced gradient back over the reduced axes (a view on arrays)."""
    if not keepdims:
        g = g.reshape((1,) * len(shape) if axis is None else _kept_shape(shape, axis))
    if isinstance(g, Tensor):
        return broadcast_to(g, shape=tuple(shape))
    return xp.broadcast_to(g, shape)  # NOTE: not through on(): every backward passes here


@primitive
def broadcast_to(x, shape):
    return xp.broadcast_to(x, shape)


@broadcast_to.vjp
@broadcast_to.graph_vjp
def _(g, out, x, shape):
    return (g,)  # the engine sums it back to x's shape


@primitive
def sum(x, axis=None, keepdims=False):
    return xp.sum(x, axis=axis, keepdims=keepdims)


@sum.vjp
@sum.graph_vjp
def _(g, out, x, axis=None, keepdims=False):
    return (_expand(g, x.shape, axis, keepdims),)


@primitive
def mean(x, axis=None, keepdims=False):
    return xp.mean(x, axis=axis, keepdims=keepdims)


@mean.vjp
@mean.graph_vjp
def _(g, out, x, axis=None, keepdims=False):
    count = x.size // (out.size or 1) if x.size else 1
    return (_expand(g / count, x.shape, axis, keepdims),)


def _extremum_vjp(g, out, x, axis, keepdims):
    # Ties share the gradient equally, as torch.amax / torch.amin do.
    x, out = values(x), values(out)
    hit = x == xp.broadcast_to(out.reshape(_kept_shape(x.shape, axis)), x.shape)
    share = hit / hit.sum(axis=axis, keepdims=True)
    return (_expand(g, x.shape, axis, keepdims) * share.astype(g.dtype),)


@primitive
def max(x, axis=None, keepdims=False):
    return xp.max(x, axis=axis, keepdims=keepdims)


@primitive
def min(x, axis=None, keepdims=False):
    return xp.min(x, axis=axis, keepdims=keepdims)


for _op in (max, min):
    _op.vjp(_extremum_vjp)
    _op.graph_vjp(_extremum_vjp)


@primitive
def logsumexp(x, axis=None, keepdims=False):
    """log Σ exp(x), shifted by the maximum so that it never overflows."""
    top = xp.max(x, axis=axis, keepdims=True)
    top = xp.where(xp.isfinite(top), top, 0)
    total = xp.log(xp.sum(xp.exp(x - top), axis=axis, keepdims=True)) + top
    return total if keepdims else total.reshape(_out_shape(x.shape, axis))


def _out_shape(shape, axis):
    return tuple(n for i, n in enumerate(shape) if not _is_reduced(i, len(shape), axis))


def _is_reduced(i, ndim, axis):
    if axis is None:
        return True
    return i in {a % ndim for a in (axis if isinstance(axis, tuple) else (axis,))}


@logsumexp.vjp
@logsumexp.graph_vjp
def _(g, out, x, axis=None, keepdims=False):
    # d/dx logsumexp = softmax(x) over the reduced axes.
    return (
        _expand(g, x.shape, axis, keepdims) * on(exp, x - _expand(out, x.shape, axis, keepdims)),
    )


@primitive
def cumsum(x, axis=0):
    return xp.cumsum(x, axis=axis)


@cumsum.vjp
@cumsum.graph_vjp
def _(g, out, x, axis=0):
    # Each input reaches every later output: the gradient is a reversed cumulative sum.
    flip = (slice(None),) * (axis % x.ndim) + (slice(None, None, -1),)
    return (on(cumsum, g[flip], axis=axis)[flip],)


from .ops import exp  # noqa: E402  (ops re-exports this module's names)
