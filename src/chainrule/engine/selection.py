"""Primitive selections: clip, maximum, minimum, where, each with its VJP beside it.

The gradient goes to the selected input; masks are constants (computed from the values), so
each VJP serves both the ordinary backward and a recorded one (create_graph).
"""

from __future__ import annotations

from .backend import module_of, xp
from .primitive import on, primitive, values


@primitive
def clip(x, min=None, max=None):
    return xp.clip(x, min, max)


@clip.vjp
@clip.graph_vjp
def _(g, out, x, min=None, max=None):
    x = values(x)
    inside = module_of(x).ones(x.shape, dtype=bool)
    if min is not None:
        inside &= x >= min
    if max is not None:
        inside &= x <= max
    return (g * inside,)


@primitive
def maximum(x, y):
    return xp.maximum(x, y)


@maximum.vjp
@maximum.graph_vjp
def _(g, out, x, y):
    # As PyTorch: ties share the gradient equally.
    x, y = values(x), values(y)
    share = xp.where(x == y, 0.5, 1.0).astype(g.dtype)
    return g * share * (x >= y), g * share * (y >= x)


@primitive
def minimum(x, y):
    return xp.minimum(x, y)


@minimum.vjp
@minimum.graph_vjp
def _(g, out, x, y):
    x, y = values(x), values(y)
    share = xp.where(x == y, 0.5, 1.0).astype(g.dtype)
    return g * share * (x <= y), g * share * (y <= x)


@primitive
def where(condition, x, y):
    return xp.where(condition, x, y)


@where.vjp
@where.graph_vjp
def _(g, out, condition, x, y):
    zero = module_of(g).zeros((), dtype=g.dtype)
    return None, on(where, condition, g, zero), on(where, condition, zero, g)
